"""The guard's decisions as plain functions (no audit hook involved), and the policy derivation (D4, Q18)."""

from __future__ import annotations

import ipaddress
import os
import socket
from pathlib import Path

import pytest

from tentacular.engine._guard_files import FileRules, is_write
from tentacular.engine._guard_network import (
    NetworkRules,
    listener_grants,
    parse_ip,
    port_number,
    suggest_dependency,
)
from tentacular.errors import GuardViolation
from tentacular.spec import Workflow, runtime_policy
from tentacular.spec._policy import CidrGrant, HostGrant, RuntimePolicy

TCP, UDP = socket.SOCK_STREAM, socket.SOCK_DGRAM
INET = socket.AF_INET


def rules(*hosts: HostGrant, cidrs: tuple[CidrGrant, ...] = (), restricted: bool = True) -> NetworkRules:
    return NetworkRules(RuntimePolicy(network_restricted=restricted, hosts=hosts, cidrs=cidrs))


def refusal(action: object, *args: object, **kwargs: object) -> str:
    with pytest.raises(GuardViolation) as caught:
        action(*args, **kwargs)  # type: ignore[operator]
    assert isinstance(caught.value, PermissionError)
    return str(caught.value)


@pytest.mark.parametrize(
    ("host", "port", "expected"),
    [
        ("evil.example", 443, "{protocol: https, host: evil.example}"),
        ("evil.example", None, "{protocol: https, host: evil.example}"),
        ("evil.example", 80, "{protocol: http, host: evil.example}"),
        ("db.example", 5432, "{protocol: postgresql, host: db.example}"),
        ("nats.example", 4222, "{protocol: nats, host: nats.example}"),
        ("evil.example", 8443, "{protocol: https, host: evil.example, port: 8443}"),
    ],
)
def test_suggestions_use_the_unified_default_ports(host: str, port: int | None, expected: str) -> None:
    assert suggest_dependency(host, port) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("10.0.0.1", "10.0.0.1"),
        (b"10.0.0.1", "10.0.0.1"),
        ("::ffff:10.0.0.1", "10.0.0.1"),
        ("fe80::1%eth0", "fe80::1"),
        ("example.com", None),
        (None, None),
    ],
)
def test_parse_ip(value: object, expected: str | None) -> None:
    parsed = parse_ip(value)
    assert (None if parsed is None else str(parsed)) == expected


@pytest.mark.parametrize(
    ("value", "expected"), [(443, 443), ("443", 443), (b"80", 80), ("https", 443), (0, None), (None, None)]
)
def test_port_number(value: object, expected: int | None) -> None:
    assert port_number(value) == expected


def test_legacy_rules_allow_everything() -> None:
    legacy = rules(restricted=False)
    legacy.check_resolve("evil.example", 443)
    legacy.check_connect(INET, TCP, ("192.0.2.1", 443))
    legacy.check_connect(socket.AF_UNIX, TCP, "/var/run/docker.sock")


def test_names_match_case_insensitively_and_without_the_root_dot() -> None:
    network = rules(HostGrant("API.Example.com", 443, "TCP", "api"))
    network.check_resolve("api.example.com.", 443, TCP)
    network.check_resolve(b"api.example.com", "https", 0)
    assert 'declared ("api") for port(s) 443/TCP only' in refusal(
        network.check_resolve, "api.example.com", 80
    )


def test_resolved_addresses_become_connectable_on_declared_ports_only() -> None:
    network = rules(HostGrant("api.example.com", 443, "TCP", "api"))
    message = refusal(network.check_connect, INET, TCP, ("198.51.100.7", 443))
    assert "address not resolved from a declared host" in message
    network.remember("api.example.com", ["198.51.100.7", "2001:db8::7"])
    network.check_connect(INET, TCP, ("198.51.100.7", 443))
    network.check_connect(socket.AF_INET6, TCP, ("2001:db8::7", 443, 0, 0))
    assert (
        "connection to api.example.com (198.51.100.7):80 refused: 198.51.100.7 is declared for port(s) 443"
        in (refusal(network.check_connect, INET, TCP, ("198.51.100.7", 80)))
    )
    assert "UDP datagram to api.example.com (198.51.100.7):443" in refusal(
        network.check_connect, INET, UDP, ("198.51.100.7", 443), datagram=True
    )


def test_undeclared_names_teach_nothing() -> None:
    network = rules(HostGrant("api.example.com", 443, "TCP", "api"))
    network.remember("evil.example", ["198.51.100.9"])
    refusal(network.check_connect, INET, TCP, ("198.51.100.9", 443))


def test_literal_lookups_are_judged_like_connections() -> None:
    network = rules(HostGrant("10.1.2.3", 5432, "TCP", "db"))
    network.check_resolve("10.1.2.3", 5432, TCP)
    network.check_resolve("10.1.2.3", None)  # no port: the connection decides
    assert "connection to 10.1.2.3:22 refused" in refusal(network.check_resolve, "10.1.2.3", 22, TCP)


def test_cidr_grants_match_address_port_and_transport() -> None:
    network = rules(
        cidrs=(
            CidrGrant("10.0.0.0/8", 443, "TCP", "prober"),
            CidrGrant("192.168.0.0/16", 0, "UDP", "networkPolicy.additionalEgress[0]"),
        )
    )
    network.check_connect(INET, TCP, ("10.9.9.9", 443))
    network.check_connect(INET, UDP, ("192.168.1.1", 5353), datagram=True)
    assert 'add "80/TCP" to the dynPorts of dependency "prober"' in refusal(
        network.check_connect, INET, TCP, ("10.9.9.9", 80)
    )
    refusal(network.check_connect, INET, TCP, ("192.168.1.1", 53))  # UDP only
    refusal(network.check_connect, INET, TCP, ("11.0.0.1", 443))
    network.check_resolve("anything.example", 443)  # names are unknowable for dynamic targets


def test_cidr_only_lookups_are_refused_when_nothing_resolved_is_reachable() -> None:
    network = rules(cidrs=(CidrGrant("10.0.0.0/8", 443, "TCP", "prober"),))
    network.check_resolved("inside.example", 443, TCP, ["10.0.0.5"])
    assert "connection to 203.0.113.5:443 refused" in refusal(
        network.check_resolved, "outside.example", 443, TCP, ["203.0.113.5"]
    )


def test_the_engine_listener_is_reachable_but_not_advertised() -> None:
    network = NetworkRules(
        RuntimePolicy(network_restricted=True, hosts=(HostGrant("127.0.0.1", 9000, "TCP", "local"),)),
        extra_hosts=listener_grants("0.0.0.0", 8080),
    )
    network.check_connect(INET, TCP, ("127.0.0.1", 8080))
    network.check_connect(INET, TCP, ("0.0.0.0", 8080))
    network.check_resolve("localhost", 8080, TCP)
    message = refusal(network.check_connect, INET, TCP, ("127.0.0.1", 22))
    assert "declared for port(s) 9000 only" in message


def test_other_socket_families_and_raw_sockets_are_refused() -> None:
    network = rules()
    assert "local socket '/run/x.sock' refused" in refusal(
        network.check_connect, socket.AF_UNIX, TCP, "/run/x.sock"
    )
    assert "raw socket" in refusal(network.check_connect, INET, socket.SOCK_RAW, ("10.0.0.1", 0))
    assert "socket family" in refusal(network.check_connect, 16, TCP, (0, 0))


def test_reverse_lookups_only_of_reachable_addresses() -> None:
    network = rules(HostGrant("10.1.2.3", 443, "TCP", "x"))
    network.check_reverse("10.1.2.3")
    network.check_reverse("127.0.0.1")
    assert "reverse lookup of 192.0.2.1 refused" in refusal(network.check_reverse, "192.0.2.1")


# --- files -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "flags", "expected"),
    [
        ("r", 0, False),
        ("rb", 0, False),
        ("w", 0, True),
        ("a", 0, True),
        ("r+", 0, True),
        ("x", 0, True),
        (None, os.O_RDONLY, False),
        (None, os.O_WRONLY | os.O_CREAT, True),
        (None, os.O_RDWR, True),
        (None, os.O_RDONLY | os.O_APPEND, True),
    ],
)
def test_is_write(mode: object, flags: object, expected: bool) -> None:
    assert is_write(mode, flags) is expected


@pytest.fixture
def areas(tmp_path: Path) -> tuple[Path, Path, Path]:
    readable, writable, elsewhere = (tmp_path / n for n in ("readable", "writable", "elsewhere"))
    for directory in (readable, writable, elsewhere):
        directory.mkdir()
    (elsewhere / "key").write_text("k")
    return readable, writable, elsewhere


def file_rules(readable: Path, writable: Path) -> FileRules:
    rules = FileRules([str(readable)], [str(writable)])
    # Tests live under /tmp, which is always writable; keep only the roots under test.
    rules.writable = tuple(r for r in rules.writable if r.startswith(str(writable)))
    rules.readable = tuple(r for r in rules.readable if r.startswith((str(readable), str(writable))))
    return rules


def test_reads_and_writes_follow_the_allow_lists(areas: tuple[Path, Path, Path]) -> None:
    readable, writable, elsewhere = areas
    rules = file_rules(readable, writable)
    rules.check_read(readable / "a.txt")
    rules.check_read(str(writable / "b.txt").encode())
    rules.check_write(writable / "b.txt")
    rules.check_read(3)  # descriptors were judged when opened
    assert f"writing {readable / 'a.txt'} refused" in refusal(rules.check_open, readable / "a.txt", "w", 0)
    assert f"reading {elsewhere / 'key'} refused" in refusal(rules.check_read, elsewhere / "key")
    assert "refused" in refusal(rules.check_read, f"{readable}/../elsewhere/key")


def test_symlinks_are_judged_by_their_target(areas: tuple[Path, Path, Path]) -> None:
    readable, writable, elsewhere = areas
    rules = file_rules(readable, writable)
    link = writable / "link"
    rules.check_read(link)  # nothing there yet: allowed, and not cached
    link.symlink_to(elsewhere / "key")
    assert f"(-> {elsewhere / 'key'})" in refusal(rules.check_read, link)


# --- the policy derived from the contract (spec layer) ----------------------------------------


def workflow(contract: dict[str, object] | None) -> Workflow:
    data: dict[str, object] = {
        "name": "policy-flow",
        "version": "1.0",
        "triggers": [{"type": "manual"}],
        "nodes": {"a": {"path": "./nodes/a.py"}},
        "edges": [],
    }
    if contract is not None:
        data["contract"] = contract
    return Workflow.model_validate(data)


def test_no_contract_is_legacy_and_an_empty_contract_has_no_egress() -> None:
    legacy = runtime_policy(workflow(None))
    assert legacy.mode == "legacy" and not legacy.network_restricted
    empty = runtime_policy(workflow({"version": "1"}))
    assert empty.network_restricted and empty.hosts == () and empty.cidrs == ()
    assert empty.write_paths == ("/tmp",) and "/app/workflow" in empty.read_paths
    assert not empty.allow_subprocess and not empty.allow_ffi


def test_policy_grants_from_dependencies_and_overrides() -> None:
    policy = runtime_policy(
        workflow(
            {
                "version": "1",
                "dependencies": {
                    "github": {"protocol": "https", "host": "api.github.com"},
                    "db": {"protocol": "postgresql", "host": "pg", "database": "d", "user": "u"},
                    "probe": {
                        "protocol": "http",
                        "type": "dynamic-target",
                        "cidr": "10.0.0.0/8",
                        "dynPorts": ["80/TCP", "53/UDP"],
                    },
                },
                "networkPolicy": {"additionalEgress": [{"toCIDR": "192.168.0.0/16"}]},
            }
        ),
        workflow_dir="/work/flow",
    )
    assert policy.hosts == (
        HostGrant("api.github.com", 443, "TCP", "github"),
        HostGrant("pg", 5432, "TCP", "db"),
    )
    assert set(policy.cidrs) == {
        CidrGrant("10.0.0.0/8", 80, "TCP", "probe"),
        CidrGrant("10.0.0.0/8", 53, "UDP", "probe"),
        CidrGrant("192.168.0.0/16", 0, "TCP", "networkPolicy.additionalEgress[0]"),
        CidrGrant("192.168.0.0/16", 0, "UDP", "networkPolicy.additionalEgress[0]"),
    }
    assert policy.read_paths[0] == "/work/flow"
    assert ipaddress.ip_network(policy.cidrs[0].cidr)
