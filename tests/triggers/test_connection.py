"""NATS unreachable, late, or refusing credentials: the engine serves HTTP and keeps trying (issue 14)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import httpx
import nats
import pytest
import yaml

from tentacular.engine._logs import LogSink
from tentacular.engine._triggers._connection import NatsLink, backoff_delays
from tentacular.engine._triggers._settings import NatsEndpoint, NatsSettings, nats_settings
from tentacular.errors import TriggerConfigError
from tentacular.spec import Workflow

from .conftest import RECORDING_NODE, Engine, free_port, recorded, start_nats, wait_until, write_flow


def test_backoff_doubles_to_a_cap() -> None:
    delays = backoff_delays(initial=0.5, cap=4)
    assert [next(delays) for _ in range(6)] == [0.5, 1, 2, 4, 4, 4]


async def test_connect_retries_with_backoff_until_the_server_appears(tmp_path: Path) -> None:
    port = free_port()
    slept: list[float] = []
    servers = []

    async def fake_sleep(delay: float) -> None:  # the injected clock: no real waiting
        slept.append(delay)
        if len(slept) == 3:
            servers.append(start_nats(tmp_path, port=port))

    log = LogSink(stream=open(tmp_path / "log.txt", "w"), fmt="json")  # noqa: SIM115
    link = NatsLink(
        NatsSettings(NatsEndpoint("127.0.0.1", port, False)),
        log,
        redact=lambda text: text,
        sleep=fake_sleep,
        jitter=lambda delay: delay,
    )
    try:
        client = await link.connect(asyncio.Event())
        assert client is not None and link.state == "connected"
        assert slept == [0.5, 1.0, 2.0]
        assert link.attempts == 4
        await client.close()
    finally:
        for server in servers:
            server.stop()
    assert "connect failed" in (tmp_path / "log.txt").read_text()


def test_engine_serves_http_while_nats_is_down_then_consumes_once_it_is_up(
    tmp_path: Path, engines: Callable[..., Engine]
) -> None:
    port = free_port()
    flow = write_flow(
        tmp_path,
        name="late-nats",
        triggers=[{"type": "queue", "subject": "late.jobs", "jetstream": True}, {"type": "manual"}],
        node=RECORDING_NODE,
        config={"nats_url": f"nats://127.0.0.1:{port}", "out": str(tmp_path / "runs.jsonl")},
    )
    engine = engines(flow)
    assert httpx.post(engine.url + "/run", json={"n": -1}, timeout=20).json()["success"] is True
    wait_until(lambda: engine.health()["nats"]["state"] == "unreachable", what="the unreachable state")
    nats_state = engine.health()["nats"]
    assert nats_state["attempts"] >= 1 and nats_state["lastError"]
    assert nats_state["url"] == f"nats://127.0.0.1:{port}"
    assert any("connect failed" in m and "the HTTP API keeps serving" in m for m in engine.messages())
    server = start_nats(tmp_path, port=port)
    try:
        wait_until(lambda: engine.health()["nats"]["state"] == "connected", what="the connection", timeout=90)

        async def publish() -> None:
            client = await nats.connect(server.url)
            await client.jetstream().publish("late.jobs", b'{"n": 1}')
            await client.close()

        engine.wait_for(lambda m: "JetStream: consuming late.jobs" in m)
        asyncio.run(publish())
        wait_until(lambda: any(r["n"] == 1 for r in recorded(tmp_path / "runs.jsonl")), what="the queued run")
    finally:
        engine.terminate()
        server.stop()


def test_wrong_credentials_are_reported_and_right_ones_work(
    tmp_path: Path, engines: Callable[..., Engine]
) -> None:
    server = start_nats(tmp_path, "--user", "engine", "--pass", "s3cret-pass")
    try:
        flow = write_flow(
            tmp_path / "flow",
            name="auth-flow",
            triggers=[{"type": "queue", "subject": "auth.jobs"}],
            node="async def run(ctx, input):\n    return input\n",
            config={"nats_url": server.url},
        )
        wrong = tmp_path / "wrong.yaml"
        wrong.write_text(yaml.safe_dump({"nats": {"user": "engine", "password": "not-it-at-all"}}))
        bad = engines(flow, secrets=wrong)
        wait_until(lambda: bad.health()["nats"]["state"] == "unreachable", what="the refusal")
        error = bad.health()["nats"]["lastError"]
        assert "rejected the credentials" in error
        assert "not-it-at-all" not in json.dumps(bad.health()) and "not-it-at-all" not in "\n".join(bad.lines)
        bad.terminate()
        right = tmp_path / "right.yaml"
        right.write_text(yaml.safe_dump({"nats": {"user": "engine", "password": "s3cret-pass"}}))
        good = engines(flow, secrets=right)
        good.wait_for(lambda m: "subscribed to auth.jobs" in m)

        async def ask() -> bytes:
            client = await nats.connect(server.url, user="engine", password="s3cret-pass")
            reply = await client.request("auth.jobs", b'{"a": 1}', timeout=20)
            await client.close()
            data: bytes = reply.data
            return data

        assert json.loads(asyncio.run(ask()))["outputs"]["work"] == {"a": 1, "trigger": "auth.jobs"}
    finally:
        server.stop()


def _workflow(config: dict[str, object], contract: dict[str, object] | None = None) -> Workflow:
    return Workflow.model_validate(
        {
            "name": "x",
            "version": "1.0",
            "triggers": [{"type": "queue", "subject": "a"}],
            "nodes": {"n": {"path": "./nodes/n.py"}},
            "config": config,
            **({"contract": contract} if contract else {}),
        }
    )


def test_nats_settings_from_config_contract_and_secrets() -> None:
    assert nats_settings(_workflow({"nats_url": "nats.example:18453"}), {}).endpoint == NatsEndpoint(
        "nats.example", 18453, True
    )  # host:port means TLS, as in the original
    assert nats_settings(_workflow({"nats_url": "nats://10.0.0.1"}), {}).endpoint.tls is False
    dependency = {
        "version": "1",
        "dependencies": {"bus": {"protocol": "nats", "host": "bus.svc", "subject": "a"}},
    }
    assert nats_settings(_workflow({}, dependency), {}).endpoint == NatsEndpoint("bus.svc", 4222, True)
    settings = nats_settings(_workflow({"nats_url": "tls://h:1"}), {"nats": {"token": "tok-123456"}})
    options = settings.connect_options()
    assert options["token"] == "tok-123456" and options["tls"] is not None
    assert "tok-123456" not in repr(settings)
    with pytest.raises(TriggerConfigError, match="NATS URL is required"):
        nats_settings(_workflow({}), {})
    with pytest.raises(TriggerConfigError, match="must not contain credentials"):
        nats_settings(_workflow({"nats_url": "nats://u:p@h:1"}), {})


def test_tls_with_a_ca_from_secrets(tmp_path: Path, engines: Callable[..., Engine]) -> None:
    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    cert_file, key_file = tmp_path / "server.pem", tmp_path / "server.key"
    cert.cert_chain_pems[0].write_to_path(str(cert_file))
    cert.private_key_pem.write_to_path(str(key_file))
    server = start_nats(tmp_path, "--tls", "--tlscert", str(cert_file), "--tlskey", str(key_file))
    try:
        flow = write_flow(
            tmp_path / "flow",
            name="tls-flow",
            triggers=[{"type": "queue", "subject": "tls.jobs"}],
            node="async def run(ctx, input):\n    return input\n",
            config={"nats_url": f"tls://127.0.0.1:{server.port}"},
        )
        secrets = tmp_path / "secrets.yaml"
        secrets.write_text(yaml.safe_dump({"nats": {"ca": ca.cert_pem.bytes().decode()}}))
        engine = engines(flow, secrets=secrets)
        engine.wait_for(lambda m: "subscribed to tls.jobs" in m)
        assert engine.health()["nats"] == {
            "url": f"tls://127.0.0.1:{server.port}",
            "state": "connected",
            "attempts": 1,
            "lastError": None,
            "slowConsumerDrops": 0,
        }
        untrusted = engines(flow)  # no CA: the system trust store does not know this one
        wait_until(lambda: untrusted.health()["nats"]["state"] == "unreachable", what="the TLS refusal")
        assert "CERTIFICATE_VERIFY_FAILED" in untrusted.health()["nats"]["lastError"]
    finally:
        server.stop()


def test_a_workflow_without_event_triggers_never_imports_nats(tmp_path: Path) -> None:
    import subprocess
    import sys

    flow = write_flow(
        tmp_path, name="plain", triggers=[{"type": "manual"}], node="async def run(ctx, i):\n    return i\n"
    )
    script = (
        "import asyncio, sys\n"
        "from tentacular.engine._startup import boot\n"
        "from tentacular.engine._server import EngineApp\n"
        "from tentacular.engine._service import start_triggers\n"
        f"engine, _ = boot({str(flow)!r}, cluster_secrets=None)\n"
        "app = EngineApp(engine)\n"
        "assert asyncio.run(start_triggers(engine, app, None)) is None\n"
        "prefix = 'tentacular.engine._triggers.'\n"
        "loaded = [m for m in sys.modules if m.split('.')[0] == 'nats' or m.startswith(prefix)]\n"
        "print(sorted(loaded))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "[]"
