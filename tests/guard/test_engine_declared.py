"""What the contract declares keeps working under the guard, through the real engine (D4):
dependencies via ctx.dependency().fetch and plain httpx, dynamic-target CIDRs, TLS with a
test CA, secrets, logging, serving HTTP; legacy mode and --no-guard through `tntc`."""

from __future__ import annotations

import json
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme

from tests.guard.support import (
    TNTC,
    EngineProcess,
    base_env,
    free_port,
    http_server,
    outside_tmp_dir,
    tntc,
    write_workflow,
)
from tests.processes import http_ok, wait_until

DECLARED_NODE = """
import os, socket, tempfile, urllib.request

import httpx


async def run(ctx, input):
    case = input["case"]
    ports = ctx.config["ports"]
    if case == "dependency fetch":
        local = ctx.dependency("local")
        response = await local.fetch("/via-dependency", headers={"Authorization": f"Bearer {local.secret}"})
        return response.json()
    if case == "plain httpx":
        async with httpx.AsyncClient() as client:
            return (await client.get(f"http://127.0.0.1:{ports['http']}/plain")).json()
    if case == "urllib":
        with urllib.request.urlopen(f"http://127.0.0.1:{ports['http']}/urllib", timeout=5) as response:
            return response.status
    if case == "tls":
        return (await ctx.dependency("secure").fetch("/tls")).json()
    if case == "cidr":
        async with httpx.AsyncClient() as client:
            return (await client.get(f"http://127.0.0.2:{ports['dynamic']}/cidr")).json()
    if case == "cidr other port":
        return socket.create_connection(("127.0.0.2", ports["http"]), timeout=5).getpeername()
    if case == "own listener":
        async with httpx.AsyncClient() as client:
            return (await client.get(f"http://127.0.0.1:{ports['engine']}/health")).json()
    if case == "log":
        ctx.log.info("guarded hello", answer=42)
        return "logged"
    if case == "files":
        with tempfile.NamedTemporaryFile("w+", suffix=".txt") as handle:
            handle.write("scratch")
            handle.flush()
            scratch = open(handle.name).read()
        shipped = open(os.path.join(os.path.dirname(__file__), "data.json")).read()
        return {"scratch": scratch, "shipped": shipped}
    raise ValueError(case)
"""


@pytest.fixture(scope="module")
def ca_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[trustme.CA, Path]:
    ca = trustme.CA()
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return ca, path


@pytest.fixture(scope="module")
def servers(ca_file: tuple[trustme.CA, Path]) -> Iterator[dict[str, int]]:
    ca, _path = ca_file
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(tls)
    with (
        http_server() as http_port,
        http_server(tls=tls) as tls_port,
        http_server(host="127.0.0.2") as dynamic_port,
    ):
        yield {"http": http_port, "tls": tls_port, "dynamic": dynamic_port}


@pytest.fixture(scope="module")
def engine(
    tmp_path_factory: pytest.TempPathFactory, servers: dict[str, int], ca_file: tuple[trustme.CA, Path]
) -> Iterator[EngineProcess]:
    directory = tmp_path_factory.mktemp("declared")
    engine_port = free_port()
    write_workflow(
        directory,
        {"probe": DECLARED_NODE},
        contract={
            "version": "1",
            "dependencies": {
                "local": {
                    "protocol": "http",
                    "host": "127.0.0.1",
                    "port": servers["http"],
                    "auth": {"type": "bearer-token", "secret": "local.token"},
                },
                "secure": {"protocol": "https", "host": "localhost", "port": servers["tls"]},
                "prober": {
                    "protocol": "http",
                    "type": "dynamic-target",
                    "cidr": "127.0.0.2/32",
                    "dynPorts": [f"{servers['dynamic']}/TCP"],
                },
            },
        },
        secrets={"local": {"token": "s3cr3t-t0ken-value"}},
    )
    (directory / "nodes" / "data.json").write_text('{"shipped": true}')
    spec = (directory / "workflow.yaml").read_text()
    ports = json.dumps({**servers, "engine": engine_port})
    (directory / "workflow.yaml").write_text(spec.replace("retries: 0", f"retries: 0\n  ports: {ports}"))
    process = EngineProcess(directory, env=base_env(SSL_CERT_FILE=str(ca_file[1])), port=engine_port)
    try:
        yield process
    finally:
        process.stop()


def output(result: dict[str, Any]) -> Any:
    assert result["success"], result
    return result["outputs"]["probe"]


def test_dependency_fetch_with_its_secret(engine: EngineProcess) -> None:
    body = output(engine.run({"case": "dependency fetch"}))
    # The node sent the secret; the engine redacts its value in outputs and logs.
    assert body == {"path": "/via-dependency", "auth": "Bearer [redacted]"}
    assert not any("s3cr3t-t0ken-value" in line for line in engine.lines)


@pytest.mark.parametrize(("case", "expected"), [("plain httpx", "/plain"), ("cidr", "/cidr")])
def test_plain_httpx_to_declared_endpoints(engine: EngineProcess, case: str, expected: str) -> None:
    assert output(engine.run({"case": case}))["path"] == expected


def test_urllib_to_a_declared_endpoint(engine: EngineProcess) -> None:
    assert output(engine.run({"case": "urllib"})) == 200


def test_tls_to_a_declared_host_with_a_test_ca(engine: EngineProcess) -> None:
    assert output(engine.run({"case": "tls"}))["path"] == "/tls"


def test_cidr_grants_only_their_ports(engine: EngineProcess, servers: dict[str, int]) -> None:
    result = engine.run({"case": "cidr other port"})
    error = result["errors"]["probe"]
    assert f"connection to 127.0.0.2:{servers['http']} refused: 127.0.0.2 is inside 127.0.0.2/32" in error
    assert f'add "{servers["http"]}/TCP" to the dynPorts of dependency "prober"' in error


def test_the_engine_keeps_serving_and_nodes_reach_its_listener(engine: EngineProcess) -> None:
    assert output(engine.run({"case": "own listener"}))["status"] == "ok"
    for _ in range(3):
        assert engine.client.get("/health").json()["status"] == "ok"


def test_logging_and_files_work_under_the_guard(engine: EngineProcess) -> None:
    result = engine.run({"case": "log"})
    assert output(result) == "logged"
    assert any(r.get("msg") == "guarded hello" and r.get("answer") == 42 for r in result["_log"])
    assert output(engine.run({"case": "files"})) == {"scratch": "scratch", "shipped": '{"shipped": true}'}


# --- through tntc ----------------------------------------------------------------------------

LEGACY_NODE = """
import httpx


async def run(ctx, input):
    async with httpx.AsyncClient() as client:
        return (await client.get(f"http://127.0.0.1:{ctx.config['port']}/legacy")).json()
"""

KEY_READER = """
import os


async def run(ctx, input):
    return open(os.path.expanduser("~/.ssh/id_rsa")).read()
"""


def test_legacy_mode_works_with_one_warning(tmp_path: Path) -> None:
    with http_server() as port:
        workflow = write_workflow(tmp_path / "legacy", {"fetch": LEGACY_NODE}, contract=None)
        spec = (workflow / "workflow.yaml").read_text()
        (workflow / "workflow.yaml").write_text(spec.replace("retries: 0", f"retries: 0\n  port: {port}"))
        completed = tntc("run", "--local", str(workflow), "-o", "json", env=base_env())
    document = json.loads(completed.stdout)
    assert document["status"] == "pass", completed.stderr
    assert document["execution"]["outputs"]["fetch"]["path"] == "/legacy"
    warnings = [line for line in completed.stderr.splitlines() if "legacy mode" in line]
    assert len(warnings) == 1 and '"level": "warning"' in warnings[0], completed.stderr


def test_run_local_enforces_and_no_guard_disables_with_a_warning(tmp_path: Path) -> None:
    home = outside_tmp_dir()  # HOME outside /tmp: /tmp itself is readable for nodes
    (home / ".ssh").mkdir()
    (home / ".ssh" / "id_rsa").write_text("KEY")
    workflow = write_workflow(tmp_path / "reader", {"read": KEY_READER}, contract={"version": "1"})
    env = base_env(HOME=str(home))
    guarded = tntc("run", "--local", str(workflow), "-o", "json", env=env)
    assert guarded.returncode == 1
    error = json.loads(guarded.stdout)["execution"]["errors"]["read"]
    assert f"reading {home}/.ssh/id_rsa refused" in error
    unguarded = tntc("run", "--local", str(workflow), "--no-guard", "-o", "json", env=env)
    assert json.loads(unguarded.stdout)["execution"]["outputs"]["read"] == "KEY"
    assert unguarded.stderr.count("runtime permission guard disabled (--no-guard)") == 1


def test_tntc_dev_guards_and_follows_a_reloaded_contract(tmp_path: Path) -> None:
    with http_server() as port:
        workflow = write_workflow(tmp_path / "dev", {"fetch": LEGACY_NODE}, contract={"version": "1"})
        spec = (workflow / "workflow.yaml").read_text().replace("retries: 0", f"retries: 0\n  port: {port}")
        (workflow / "workflow.yaml").write_text(spec)
        dev_port = free_port()
        process = subprocess.Popen(
            [TNTC, "dev", str(workflow), "--port", str(dev_port)],
            env=base_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            client = httpx.Client(base_url=f"http://127.0.0.1:{dev_port}", timeout=20, trust_env=False)
            _wait_healthy(client)
            before = client.post("/run", json={}).json()
            assert f"connection to 127.0.0.1:{port} refused" in before["errors"]["fetch"]
            declared = {"local": {"protocol": "http", "host": "127.0.0.1", "port": port}}
            spec = spec.replace("version: '1'", "version: '1'\n  dependencies: " + json.dumps(declared))
            (workflow / "workflow.yaml").write_text(spec)
            after = _poll_run(client, lambda r: r["success"])
            assert after["outputs"]["fetch"]["path"] == "/legacy"
        finally:
            process.terminate()
            process.wait(timeout=10)


def _wait_healthy(client: httpx.Client) -> None:
    health = str(client.base_url.join("/health"))
    wait_until(lambda: http_ok(health), timeout=20, what="tntc dev to come up")


def _poll_run(client: httpx.Client, done: Any) -> dict[str, Any]:
    deadline = time.monotonic() + 15
    result: dict[str, Any] = {}
    while time.monotonic() < deadline:
        result = client.post("/run", json={}).json()
        if done(result):
            return result
        time.sleep(0.2)
    raise AssertionError(f"reload did not take effect: {result}")
