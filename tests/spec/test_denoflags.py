"""Deno permission flags derived from the contract (F-038…F-040, INVENTORY §2.6.7, D4)."""

from __future__ import annotations

from typing import Any

from tentacular.spec import deno_permission_flags, parse_workflow, runtime_policy

BASE: dict[str, Any] = {
    "name": "flags",
    "version": "1.0",
    "triggers": [{"type": "manual"}],
    "nodes": {"a": {"path": "./nodes/a.ts"}},
}


def flags(contract: dict[str, Any] | None) -> tuple[str, ...]:
    import yaml

    data = dict(BASE)
    if contract is not None:
        data["contract"] = contract
    workflow, issues = parse_workflow(yaml.safe_dump(data))
    assert workflow is not None, issues
    return deno_permission_flags(runtime_policy(workflow, workflow_dir="/app/workflow"))


def test_declared_host_port_pairs_sorted_unique() -> None:
    result = flags(
        {
            "version": "1",
            "dependencies": {
                "slack": {"protocol": "https", "host": "hooks.slack.com"},
                "api": {"protocol": "https", "host": "api.example.com", "port": 8443},
                "db": {"protocol": "postgresql", "host": "db.svc", "database": "app", "user": "u"},
                "web": {"protocol": "http", "host": "api.example.com"},
            },
        }
    )
    assert result == (
        "--no-prompt",
        "--allow-net=api.example.com:80,api.example.com:8443,db.svc:5432,hooks.slack.com:443",
        "--allow-read=/app/workflow,/app/secrets,/tmp",
        "--allow-write=/tmp",
        "--allow-env=HOME,LANG,LC_ALL,LC_CTYPE,PATH,PYTHONHASHSEED,SSL_CERT_DIR,SSL_CERT_FILE,TMPDIR,TZ,OTEL_*,TENTACULAR_*",
    )
    assert not any(
        flag.startswith(("--allow-run", "--allow-ffi", "--allow-sys", "-A", "--allow-all")) for flag in result
    )


def test_dynamic_target_is_the_only_broad_network() -> None:
    result = flags(
        {
            "version": "1",
            "dependencies": {
                "probe": {
                    "type": "dynamic-target",
                    "protocol": "https",
                    "cidr": "10.0.0.0/8",
                    "dynPorts": ["443/TCP"],
                },
                "api": {"protocol": "https", "host": "api.example.com"},
            },
        }
    )
    assert "--allow-net" in result


def test_empty_contract_grants_no_network_and_no_contract_is_legacy() -> None:
    assert not any(flag.startswith("--allow-net") for flag in flags({"version": "1", "dependencies": {}}))
    assert "--allow-net" in flags(None)


def test_additional_egress_single_addresses_are_granted_ranges_are_not() -> None:
    result = flags(
        {
            "version": "1",
            "dependencies": {"api": {"protocol": "https", "host": "api.example.com"}},
            "networkPolicy": {
                "additionalEgress": [
                    {"toCIDR": "10.0.0.5/32", "ports": ["5432/TCP"]},
                    {"toCIDR": "10.1.0.0/16", "ports": ["443/TCP"]},
                ]
            },
        }
    )
    assert "--allow-net=10.0.0.5:5432,api.example.com:443" in result
