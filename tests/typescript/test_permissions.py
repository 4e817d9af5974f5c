"""Deno enforces the contract: every refusal is the node's error, naming resource and remedy."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.typescript.conftest import FlowWriter, engine_for, local_contract

PROBE = """
export default async function run(ctx, input) {
  switch (input.probe) {
    case "declared": return (await (await ctx.dependency("local").fetch("/ok")).json()).path;
    case "undeclared-host": return (await fetch("http://localhost:" + input.port + "/")).status;
    case "other-port": return (await fetch("http://127.0.0.1:" + (input.port + 1) + "/")).status;
    case "read": return Deno.readTextFileSync("/etc/hostname");
    case "read-workflow": return Deno.readTextFileSync(new URL("./data.txt", import.meta.url));
    case "write": Deno.writeTextFileSync(input.outside, "x"); return "wrote";
    case "write-tmp": Deno.writeTextFileSync(input.tmp, "x"); return "wrote tmp";
    case "run": return new Deno.Command("/bin/true").outputSync().code;
    case "ffi": return String(Deno.dlopen("libc.so.6", {}));
    case "env-allowed": return Deno.env.get("TZ") ?? "unset";
  }
}
"""


@pytest.fixture
def probe_flow(make_flow: FlowWriter, http_server: ThreadingHTTPServer) -> tuple[Path, int]:
    port = http_server.server_address[1]
    flow = make_flow({"probe.ts": PROBE}, contract=local_contract(port), files={"data.txt": "shipped"})
    return flow, port


def run_probe(flow: Path, **payload: object) -> tuple[object, str | None]:
    result = asyncio.run(engine_for(flow).run(payload))
    return result.outputs.get("probe"), result.errors.get("probe")


def test_declared_dependency_is_reachable(probe_flow: tuple[Path, int]) -> None:
    flow, port = probe_flow
    assert run_probe(flow, probe="declared", port=port) == ("/ok", None)


def test_undeclared_host_is_refused(probe_flow: tuple[Path, int]) -> None:
    flow, port = probe_flow
    _, error = run_probe(flow, probe="undeclared-host", port=port)
    assert error is not None
    assert f"connection to localhost:{port} refused: not declared in the contract" in error
    assert (
        f"add a dependency {{protocol: https, host: localhost, port: {port}}} to contract.dependencies"
        in error
    )
    assert "(at nodes/probe.ts:" in error


def test_declared_host_on_another_port_is_refused(probe_flow: tuple[Path, int]) -> None:
    flow, port = probe_flow
    _, error = run_probe(flow, probe="other-port", port=port)
    assert error is not None
    assert (
        f'connection to 127.0.0.1:{port + 1} refused: 127.0.0.1 is declared ("local") for port(s) {port} only'
        in (error)
    )


def test_reading_outside_the_allowed_paths_is_refused(probe_flow: tuple[Path, int]) -> None:
    flow, _ = probe_flow
    _, error = run_probe(flow, probe="read")
    assert error is not None and "reading /etc/hostname refused: outside the paths nodes may read" in error
    assert run_probe(flow, probe="read-workflow") == ("shipped", None)


def test_writing_outside_tmp_is_refused(probe_flow: tuple[Path, int], tmp_path: Path) -> None:
    flow, _ = probe_flow
    outside = Path("/var/tmp") / f"tntc-deno-probe-{os.getpid()}.txt"  # pytest's tmp_path is under /tmp
    _, error = run_probe(flow, probe="write", outside=str(outside))
    outside.unlink(missing_ok=True)
    assert error is not None and f"writing {outside} refused: nodes may write only under /tmp" in error
    tmp_file = Path("/tmp") / f"tntc-deno-{os.getpid()}.txt"
    try:
        assert run_probe(flow, probe="write-tmp", tmp=str(tmp_file)) == ("wrote tmp", None)
    finally:
        tmp_file.unlink(missing_ok=True)


def test_running_a_program_is_refused(probe_flow: tuple[Path, int]) -> None:
    flow, _ = probe_flow
    _, error = run_probe(flow, probe="run")
    assert error is not None and "running /bin/true refused: nodes may not run programs" in error


def test_ffi_is_refused(probe_flow: tuple[Path, int]) -> None:
    flow, _ = probe_flow
    _, error = run_probe(flow, probe="ffi")
    assert error is not None and "loading native code libc.so.6 refused: nodes may not use FFI" in error


def test_allow_listed_environment_is_readable(
    probe_flow: tuple[Path, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    flow, _ = probe_flow
    monkeypatch.setenv("TZ", "UTC")
    assert run_probe(flow, probe="env-allowed") == ("UTC", None)


def test_environment_variable_not_allowed_is_refused(make_flow: FlowWriter) -> None:
    flow = make_flow(
        {"x.ts": 'export default () => Deno.env.get("AWS_SECRET_ACCESS_KEY");\n'},
        contract={"version": "1", "dependencies": {}},
    )
    result = asyncio.run(engine_for(flow).run({}))
    assert "environment variable AWS_SECRET_ACCESS_KEY refused: outside the allow-list" in result.errors["x"]


def test_empty_contract_grants_no_network(make_flow: FlowWriter, http_server: ThreadingHTTPServer) -> None:
    port = http_server.server_address[1]
    flow = make_flow(
        {"x.ts": f'export default async () => (await fetch("http://127.0.0.1:{port}/")).status;\n'},
        contract={"version": "1", "dependencies": {}},
    )
    result = asyncio.run(engine_for(flow).run({}))
    assert f"connection to 127.0.0.1:{port} refused: not declared in the contract" in result.errors["x"]


def test_no_contract_is_legacy_mode_with_a_warning(
    make_flow: FlowWriter, http_server: ThreadingHTTPServer
) -> None:
    from tests.typescript.conftest import Lines

    port = http_server.server_address[1]
    flow = make_flow(
        {"x.ts": f'export default async () => (await fetch("http://127.0.0.1:{port}/")).status;\n'}
    )
    log = Lines()
    result = asyncio.run(engine_for(flow, log=log).run({}))
    assert result.outputs == {"x": 200}
    assert "TypeScript nodes may reach any host (legacy mode)" in log.text


def test_refusals_hold_under_tntc_run_local_with_the_guard(
    probe_flow: tuple[Path, int], tmp_path: Path
) -> None:
    """The CLI path: guard installed, the worker started by the pre-fork spawner."""
    flow, port = probe_flow
    tntc = Path(sys.executable).parent / "tntc"
    outputs = {}
    for probe in ("declared", "undeclared-host", "run"):
        completed = subprocess.run(
            [
                str(tntc),
                "run",
                "--local",
                str(flow),
                "-o",
                "json",
                "--input",
                json.dumps({"probe": probe, "port": port}),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        outputs[probe] = json.loads(completed.stdout)
    assert outputs["declared"]["status"] == "pass", outputs["declared"]
    assert outputs["undeclared-host"]["status"] == "fail"
    text = json.dumps(outputs)
    assert f"connection to localhost:{port} refused: not declared in the contract" in text
    assert "running /bin/true refused: nodes may not run programs" in text
