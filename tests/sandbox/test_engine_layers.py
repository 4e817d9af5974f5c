"""The real engine (`python -m tentacular.engine`) says at start which layers hold and reports them
in `/health?detail=1`; declared access, TLS trust store reads, logging and threads still work."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.guard.support import EngineProcess, base_env, http_server, outside_tmp_dir, write_workflow
from tests.sandbox.support import require_kernel_layer

NODE = """
import asyncio, os, ssl, subprocess


async def run(ctx, input):
    case = input["case"]
    if case == "declared":
        response = await ctx.dependency("local").fetch("/ok")
        return response.json()
    if case == "tls and threads":
        context = await asyncio.to_thread(ssl.create_default_context)
        ctx.log.info("trust store loaded")
        return {"certs": context.cert_store_stats()["x509_ca"] > 0}
    if case == "spawn":
        return subprocess.run(["true"]).returncode
    if case == "passwd":
        return open("/etc/passwd").read()
    raise ValueError(case)
"""


@pytest.fixture(scope="module")
def engine() -> Iterator[EngineProcess]:
    require_kernel_layer()
    with http_server() as port:
        contract = {
            "version": "1",
            "dependencies": {"local": {"protocol": "http", "host": "127.0.0.1", "port": port}},
        }
        workflow = write_workflow(outside_tmp_dir() / "layers", {"probe": NODE}, contract=contract)
        process = EngineProcess(workflow, env=base_env())
        try:
            yield process
        finally:
            process.stop()


def test_the_start_up_log_names_the_active_layers(engine: EngineProcess) -> None:
    messages = [r.get("msg", "") for r in engine.records()]
    kernel = [m for m in messages if m.startswith("kernel layer:")]
    assert kernel, messages
    assert "seccomp active" in kernel[0] and "Landlock active (Landlock ABI" in kernel[0]
    assert "TCP ports" in kernel[0]


def test_health_detail_reports_the_layers(engine: EngineProcess) -> None:
    layers = engine.client.get("/health", params={"detail": "1"}).json()["layers"]
    assert layers["auditHooks"] == "active"
    assert layers["seccomp"].startswith("active (seccomp-bpf:")
    assert layers["landlock"].startswith("active (Landlock ABI")


def test_declared_access_tls_logging_and_threads_work_under_every_layer(engine: EngineProcess) -> None:
    assert engine.run({"case": "declared"})["outputs"]["probe"]["path"] == "/ok"
    result = engine.run({"case": "tls and threads"})
    assert result["outputs"]["probe"] == {"certs": True}, result
    assert any(r.get("msg") == "trust store loaded" for r in result["_log"])


def test_refusals_still_carry_the_guard_message(engine: EngineProcess) -> None:
    assert "starting a process" in engine.run({"case": "spawn"})["errors"]["probe"]
    assert "reading /etc/passwd refused" in engine.run({"case": "passwd"})["errors"]["probe"]
    assert engine.client.get("/health").status_code == 200
