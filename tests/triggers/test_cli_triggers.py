"""`tntc run NAME --subject` (request-reply over NATS) and `tntc dev` serving webhooks and queues."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import yaml

from tentacular.cli.main import main
from tests.processes import ServingProcess, json_log_env

from .conftest import WAIT, Engine, NatsServer, write_flow

ECHO = "async def run(ctx, input):\n    return {'got': input}\n"


def test_run_subject_prints_the_execution_result(
    tmp_path: Path,
    nats_server: NatsServer,
    engines: Callable[..., Engine],
    capsys: pytest.CaptureFixture[str],
) -> None:
    flow = write_flow(
        tmp_path,
        name="cli-flow",
        triggers=[{"type": "queue", "subject": "cli.orders"}],
        node=ECHO,
        config={"nats_url": nats_server.url},
    )
    engine = engines(flow)
    engine.wait_for(lambda m: "subscribed to cli.orders" in m)
    code = main(
        ["run", "cli-flow", "--subject", "cli.orders", "--nats-url", nats_server.url, "-i", '{"n": 3}']
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "[PASS] workflow cli-flow completed" in out
    assert json.loads(out.split("[PASS]")[0])["outputs"]["work"] == {"got": {"n": 3, "trigger": "cli.orders"}}
    code = main(["-o", "json", "run", "x", "--subject", "cli.nobody", "--nats-url", nats_server.url])
    answer = json.loads(capsys.readouterr().out)
    assert code != 0
    assert "nothing subscribes to cli.nobody" in json.dumps(answer)


def test_run_subject_needs_a_nats_url(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TNTC_NATS_URL", raising=False)
    assert main(["run", "x", "--subject", "a.b"]) == 2
    assert "--subject needs a NATS server" in capsys.readouterr().err


def test_dev_serves_webhooks_and_queues_and_prints_the_webhook_url(
    tmp_path: Path, nats_server: NatsServer
) -> None:
    flow = write_flow(
        tmp_path,
        name="dev-flow",
        triggers=[
            {"type": "webhook", "name": "gh", "provider": "github", "event": "push"},
            {"type": "queue", "subject": "dev.jobs"},
        ],
        node=ECHO,
        config={"nats_url": nats_server.url},
    )
    secrets = tmp_path / "secrets.yaml"
    secrets.write_text(yaml.safe_dump({"github": {"webhook_secret": "dev-secret-123"}}))
    tntc = str(Path(sys.executable).parent / "tntc")
    proc = subprocess.Popen(
        [tntc, "dev", str(flow), "-p", "0", "--secrets", str(secrets), "--cron"],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "TENTACULAR_LOG_FORMAT": "text"},
    )
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(proc.stderr or []), daemon=True).start()
    try:
        deadline = time.monotonic() + WAIT
        url = None
        while time.monotonic() < deadline and url is None:
            url = next(
                (line.split("POST ", 1)[1].split()[0] for line in lines if "/webhook/github" in line), None
            )
            time.sleep(0.05)
        assert url is not None and url.startswith("http://localhost:"), lines
        assert any("NATS subject dev.jobs — queue trigger" in line for line in lines)
        body = b'{"ref": "main"}'
        signature = "sha256=" + hmac.new(b"dev-secret-123", body, hashlib.sha256).hexdigest()
        headers = {"X-GitHub-Event": "push", "X-GitHub-Delivery": "dev-1", "X-Hub-Signature-256": signature}
        response = httpx.post(url, content=body, headers=headers, timeout=20)
        assert response.status_code == 202
    finally:
        proc.terminate()
        proc.wait(30)


def test_dev_says_a_restart_is_needed_when_the_triggers_change(tmp_path: Path) -> None:
    flow = write_flow(
        tmp_path,
        name="dev-reload",
        triggers=[
            {"type": "manual"},
            {"type": "webhook", "name": "gh", "provider": "github", "event": "push"},
        ],
        node=ECHO,
    )
    secrets = tmp_path / "secrets.yaml"
    secrets.write_text(yaml.safe_dump({"github": {"webhook_secret": "dev-secret-456"}}))
    tntc = str(Path(sys.executable).parent / "tntc")
    dev = ServingProcess(
        [tntc, "dev", str(flow), "-p", "0", "--secrets", str(secrets)], env=json_log_env(), wait=WAIT
    )
    try:
        dev.wait_for_line(lambda m: m.startswith("Watching "), parsed=True)
        spec = yaml.safe_load((flow / "workflow.yaml").read_text())
        for attempt in range(10):  # the watcher may start a moment after it says so: edit until seen
            spec["config"]["greeting"] = f"hi {attempt}"  # not a trigger change: a plain reload
            mark = len(dev.messages())
            (flow / "workflow.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
            with contextlib.suppress(AssertionError):
                dev.wait_for_line(lambda m: m.startswith("Reloaded:"), mark, timeout=3, parsed=True)
                break
        assert not any("Triggers changed" in m for m in dev.messages())

        spec["triggers"] = [{"type": "manual"}, {"type": "cron", "name": "nightly", "schedule": "0 2 * * *"}]
        (flow / "workflow.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
        warning = dev.wait_for_line(lambda m: "Triggers changed" in m, parsed=True)
        assert "added cron nightly 0 2 * * *" in warning and "removed webhook gh" in warning
        assert "restart tntc dev to apply them" in warning
        run = httpx.post(dev.url + "/run", json={"a": 1}, timeout=20).json()
        assert run["success"], run  # the reloaded workflow serves
    finally:
        dev.stop(timeout=30)
