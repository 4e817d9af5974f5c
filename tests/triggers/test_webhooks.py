"""POST /webhook/<provider> over real HTTP against an engine process (issue 14, INVENTORY §4.8.4)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
import yaml

from tentacular.engine._triggers._webhooks import ReplayFilter

from .conftest import RECORDING_NODE, Engine, NatsServer, recorded, wait_until, write_flow

SECRET = "whsec-0123456789abcdef"
TOKEN = "bearer-token-0123456789"
WEBHOOK_NODE = RECORDING_NODE.replace(
    'line = json.dumps({"n": input.get("n"), "pid": os.getpid(), "trigger": input.get("trigger")})',
    'line = json.dumps({"n": input.get("n"), "pid": os.getpid(), "webhook": input.get("_webhook")})',
)


@pytest.fixture
def webhook_engine(tmp_path: Path, engines: Callable[..., Engine]) -> Engine:
    flow = write_flow(
        tmp_path,
        name="hook-flow",
        triggers=[
            {
                "type": "webhook",
                "name": "prs",
                "provider": "github",
                "event": "pull_request",
                "actions": ["opened"],
            },
            {"type": "webhook", "name": "pushes", "provider": "github", "event": "push"},
            {
                "type": "webhook",
                "name": "signed",
                "provider": "generic",
                "secret": "hooks.hmac",
                "header": "X-Sig",
            },
        ],
        node=WEBHOOK_NODE,
        config={"out": str(tmp_path / "runs.jsonl")},
    )
    secrets = tmp_path / "secrets.yaml"
    secrets.write_text(yaml.safe_dump({"github": {"webhook_secret": SECRET}, "hooks": {"hmac": SECRET}}))
    return engines(flow, secrets=secrets)


def _signed(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _github(
    engine: Engine, payload: Any, *, event: str, delivery: str, signature: str | None = "auto"
) -> httpx.Response:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {"X-GitHub-Event": event, "X-GitHub-Delivery": delivery, "Content-Type": "application/json"}
    if signature == "auto":
        headers["X-Hub-Signature-256"] = _signed(body)
    elif signature is not None:
        headers["X-Hub-Signature-256"] = signature
    return httpx.post(engine.url + "/webhook/github", content=body, headers=headers, timeout=20)


def test_valid_delivery_is_accepted_with_202_and_runs_in_the_background(
    tmp_path: Path, webhook_engine: Engine
) -> None:
    response = _github(webhook_engine, {"action": "opened", "n": 1}, event="pull_request", delivery="d-1")
    assert response.status_code == 202
    assert response.json() == {"ok": True, "matched": True, "delivery_id": "d-1"}
    wait_until(lambda: len(recorded(tmp_path / "runs.jsonl")) == 1, what="the run")
    run = recorded(tmp_path / "runs.jsonl")[0]
    assert run["webhook"] == {
        "provider": "github",
        "event": "pull_request",
        "action": "opened",
        "delivery_id": "d-1",
        "trigger": "prs",
    }
    wait_until(lambda: webhook_engine.counters("prs")["processed"] == 1, what="counters")


def test_forged_and_missing_signatures_get_401_and_nothing_runs(
    tmp_path: Path, webhook_engine: Engine
) -> None:
    body = {"action": "opened", "n": 2}
    forged = _github(webhook_engine, body, event="pull_request", delivery="d-2", signature=_signed(b"other"))
    assert (forged.status_code, forged.json()) == (401, {"error": "Invalid signature"})
    wrong_key = _github(
        webhook_engine, body, event="pull_request", delivery="d-3", signature=_signed(b"x", "wrong-secret")
    )
    assert wrong_key.status_code == 401
    missing = _github(webhook_engine, body, event="pull_request", delivery="d-4", signature=None)
    assert missing.status_code == 401
    assert webhook_engine.counters("prs")["rejected"] == 3
    assert not recorded(tmp_path / "runs.jsonl")
    assert any("invalid or missing signature" in m for m in webhook_engine.messages())
    assert SECRET not in "\n".join(webhook_engine.lines)


def test_wrong_event_and_filtered_action_are_200_unmatched(tmp_path: Path, webhook_engine: Engine) -> None:
    wrong_event = _github(webhook_engine, {"n": 3}, event="issues", delivery="d-5")
    assert (wrong_event.status_code, wrong_event.json()) == (200, {"ok": True, "matched": False})
    filtered = _github(webhook_engine, {"action": "closed", "n": 4}, event="pull_request", delivery="d-6")
    assert (filtered.status_code, filtered.json()) == (200, {"ok": True, "matched": False})
    push = _github(webhook_engine, {"ref": "main", "n": 5}, event="push", delivery="d-7")
    assert push.status_code == 202  # the second trigger matches; no action filter on it
    wait_until(lambda: len(recorded(tmp_path / "runs.jsonl")) == 1, what="the push run")
    assert recorded(tmp_path / "runs.jsonl")[0]["webhook"]["trigger"] == "pushes"
    assert any("matches no trigger; dropping" in m for m in webhook_engine.messages())


def test_replayed_delivery_id_is_ignored(tmp_path: Path, webhook_engine: Engine) -> None:
    body = {"action": "opened", "n": 6}
    assert _github(webhook_engine, body, event="pull_request", delivery="same-id").status_code == 202
    replay = _github(webhook_engine, body, event="pull_request", delivery="same-id")
    assert replay.status_code == 200
    assert replay.json() == {"ok": True, "matched": True, "replayed": True, "delivery_id": "same-id"}
    wait_until(lambda: webhook_engine.counters("prs")["processed"] == 1, what="the one run")
    assert webhook_engine.counters("prs")["replayed"] == 1
    assert len(recorded(tmp_path / "runs.jsonl")) == 1


def test_invalid_json_is_400(webhook_engine: Engine) -> None:
    response = _github(webhook_engine, b"{not json", event="pull_request", delivery="d-8")
    assert (response.status_code, response.json()) == (400, {"error": "Invalid JSON payload"})


def test_generic_hmac_with_a_configured_header_and_unknown_provider(
    tmp_path: Path, webhook_engine: Engine
) -> None:
    body = json.dumps({"n": 9}).encode()
    ok = httpx.post(
        webhook_engine.url + "/webhook/generic",
        content=body,
        headers={
            "X-Sig": hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest(),
            "X-Delivery-Id": "g-1",
        },
        timeout=20,
    )
    assert (ok.status_code, ok.json()["delivery_id"]) == (202, "g-1")
    bad = httpx.post(
        webhook_engine.url + "/webhook/generic", content=body, headers={"X-Sig": "00"}, timeout=20
    )
    assert bad.status_code == 401
    assert httpx.post(webhook_engine.url + "/webhook/gitlab", content=body, timeout=20).status_code == 404
    assert httpx.get(webhook_engine.url + "/webhook/github", timeout=20).status_code == 405


def test_generic_bearer_and_missing_secret_fails_closed(
    tmp_path: Path, engines: Callable[..., Engine]
) -> None:
    flow = write_flow(
        tmp_path,
        name="bearer-flow",
        triggers=[
            {
                "type": "webhook",
                "name": "tok",
                "provider": "generic",
                "auth": "bearer",
                "secret": "hooks.token",
            },
            {"type": "webhook", "name": "gh", "provider": "github"},
        ],
        node="async def run(ctx, input):\n    return input\n",
    )
    secrets = tmp_path / "secrets.yaml"
    secrets.write_text(yaml.safe_dump({"hooks": {"token": TOKEN}}))
    engine = engines(flow, secrets=secrets)
    url = engine.url + "/webhook/"
    good = httpx.post(url + "generic", json={}, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=20)
    assert good.status_code == 202
    bad = httpx.post(url + "generic", json={}, headers={"Authorization": "Bearer nope"}, timeout=20)
    assert bad.status_code == 401
    unsigned = httpx.post(
        url + "github", json={}, headers={"X-Hub-Signature-256": _signed(b"{}")}, timeout=20
    )
    assert unsigned.status_code == 401  # github.webhook_secret is not set: every delivery is refused
    assert any("secret github.webhook_secret is not set" in m for m in engine.messages())


def test_replay_filter_forgets_after_its_window() -> None:
    now = [0.0]
    replays = ReplayFilter(60, clock=lambda: now[0])
    assert replays.first_time("a") and not replays.first_time("a")
    now[0] = 61
    assert replays.first_time("a")


def test_with_jetstream_a_delivery_is_stored_before_the_answer(
    tmp_path: Path, nats_server: NatsServer, engines: Callable[..., Engine]
) -> None:
    flow = write_flow(
        tmp_path,
        name="hook-js",
        triggers=[
            {"type": "queue", "name": "events", "subject": "hooks.github", "jetstream": True},
            {"type": "webhook", "name": "gh", "provider": "github", "subject": "hooks.github"},
        ],
        node=WEBHOOK_NODE,
        config={"nats_url": nats_server.url, "out": str(tmp_path / "runs.jsonl")},
    )
    secrets = tmp_path / "secrets.yaml"
    secrets.write_text(yaml.safe_dump({"github": {"webhook_secret": SECRET}}))
    engine = engines(flow, secrets=secrets)
    engine.wait_for(lambda m: "JetStream: consuming hooks.github" in m)
    response = _github(engine, {"n": 11}, event="push", delivery="js-1")
    assert response.status_code == 202 and response.json()["queued"] == "hooks.github"

    async def stored() -> Any:
        client = await nats.connect(nats_server.url)
        js = client.jetstream()
        message = await js.get_last_msg(await js.find_stream_name_by_subject("hooks.github"), "hooks.github")
        await client.close()
        return message

    message = asyncio.run(stored())
    assert json.loads(message.data)["_webhook"]["delivery_id"] == "js-1"
    wait_until(lambda: len(recorded(tmp_path / "runs.jsonl")) == 1, what="the run from the stream")
    run = recorded(tmp_path / "runs.jsonl")[0]
    assert run["webhook"]["trigger"] == "gh" and run["n"] == 11
