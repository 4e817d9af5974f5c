"""The HTTP API against the engine's real server on a loopback port (F-077…F-083)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

from tentacular.engine._logs import LogSink

from .conftest import CapturedLog, WorkflowWriter, running_server

ECHO = "async def run(ctx, input):\n    return input\n"
PAIR = {
    "start": ECHO,
    "upper": "async def run(ctx, input):\n    return {'up': str(input.get('text', '')).upper()}\n",
    "count": "async def run(ctx, input):\n    return len(input)\n",
    "join": "async def run(ctx, input):\n    return input\n",
}
PAIR_EDGES = [("start", "upper"), ("start", "count"), ("upper", "join"), ("count", "join")]


async def test_post_run_success_and_multi_parent_input(make_flow: WorkflowWriter, sink: LogSink) -> None:
    async with running_server(make_flow(PAIR, PAIR_EDGES), sink) as client:
        response = await client.post("/run", json={"text": "hi"})
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        body = response.json()
        assert body["success"] is True and body["errors"] == {} and body["cancelled"] == []
        assert body["outputs"]["join"] == {"upper": {"up": "HI"}, "count": 1}
        assert set(body["timing"]) == {"startedAt", "completedAt", "durationMs", "nodeTimings"}


async def test_get_run_and_empty_bodies_become_empty_object(make_flow: WorkflowWriter, sink: LogSink) -> None:
    async with running_server(make_flow({"echo": ECHO}), sink) as client:
        for response in (
            await client.get("/run"),
            await client.post("/run"),
            await client.post("/run", content=b"  \n"),
            await client.post("/run", content=b"null"),
        ):
            assert response.status_code == 200
            assert response.json()["outputs"] == {"echo": {}}
        assert (await client.post("/run", content=b"[1, 2]")).json()["outputs"] == {"echo": [1, 2]}


async def test_a_body_that_is_not_json_is_400_and_runs_nothing(
    make_flow: WorkflowWriter, sink: LogSink
) -> None:
    """Issue 10 Build 6: a garbled body is refused, not run as ``{}``."""
    ran = "async def run(ctx, input):\n    ctx.log.info('RAN')\n    return input\n"
    async with running_server(make_flow({"echo": ran}), sink) as client:
        for body, detail in ((b"{not json", "Expecting property name"), (b"\xff\xfe", "Expecting value")):
            response = await client.post("/run", content=body)
            assert response.status_code == 400
            assert response.headers["content-type"] == "application/json"
            error = response.json()["error"]
            assert error.startswith("request body is not valid JSON") and detail in error


async def test_failure_is_500_with_result_and_message(make_flow: WorkflowWriter, sink: LogSink) -> None:
    nodes = {
        "ok": ECHO,
        "boom": "async def run(ctx, input):\n    x = 1\n    raise ValueError('bad input')\n",
    }
    async with running_server(make_flow(nodes), sink) as client:
        response = await client.post("/run", json={})
        assert response.status_code == 500
        body = response.json()
        assert body["success"] is False
        assert body["errors"]["boom"] == "ValueError: bad input (at nodes/boom.py:3)"


async def test_routes_methods_and_body_limit(make_flow: WorkflowWriter, sink: LogSink) -> None:
    async with running_server(make_flow({"echo": ECHO}), sink, max_body=1000) as client:
        assert (await client.get("/health")).json() == {"status": "ok"}
        missing = await client.get("/nope")
        assert missing.status_code == 404 and missing.text == "Not Found"
        wrong = await client.put("/run")
        assert wrong.status_code == 405 and wrong.headers["allow"] == "GET, POST"
        assert (await client.post("/health")).status_code == 405
        assert (await client.post("/run", content=b"x" * 1001)).status_code == 413

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(3):
                yield b"x" * 400

        assert (await client.post("/run", content=chunks())).status_code == 413  # no content-length
        assert (await client.post("/run", content=b'{"a": "' + b"y" * 900 + b'"}')).status_code == 200


async def test_health_detail_reports_runs(make_flow: WorkflowWriter, sink: LogSink) -> None:
    nodes = {
        "maybe": (
            "async def run(ctx, input):\n"
            "    if input.get('fail'):\n"
            "        raise RuntimeError('asked')\n"
            "    return 1\n"
        )
    }
    async with running_server(make_flow(nodes), sink) as client:
        await client.post("/run", json={})
        await client.post("/run", json={"fail": True})
        detail = (await client.get("/health?detail=1")).json()
        assert detail["status"] == "ok" and detail["totalEvents"] == 2 and detail["errorCount"] == 1
        assert detail["lastRunFailed"] is True and "asked" in detail["lastError"]
        assert detail["inFlight"] == 0 and len(detail["recentEvents"]) == 2


async def test_concurrent_runs_are_independent(make_flow: WorkflowWriter, sink: LogSink) -> None:
    nodes = {
        "wait": (
            "import asyncio\n\n"
            "async def run(ctx, input):\n    await asyncio.sleep(0.05)\n    return input['n']\n"
        )
    }
    async with running_server(make_flow(nodes), sink) as client:
        responses = await asyncio.gather(*(client.post("/run", json={"n": n}) for n in range(10)))
        assert [r.json()["outputs"]["wait"] for r in responses] == list(range(10))


async def test_no_secret_in_logs_errors_or_results(
    tmp_path: Path, make_flow: WorkflowWriter, captured: CapturedLog
) -> None:
    secret = "xoxb-very-secret-value-42"
    nodes = {
        "leaky": (
            "async def run(ctx, input):\n"
            "    token = ctx.dependency('slack').secret\n"
            "    ctx.log.info('using ' + token, token=token)\n"
            "    return {'echo': token}\n"
        ),
        "holder": (
            "async def run(ctx, input):\n"
            "    token = ctx.secrets['slack']['token']\n"
            "    raise PermissionError(f'rejected token {token}')\n"
        ),
    }
    contract = {
        "version": "1",
        "dependencies": {
            "slack": {
                "protocol": "https",
                "host": "hooks.slack.com",
                "auth": {"type": "bearer", "secret": "slack.token"},
            }
        },
    }
    flow = make_flow(nodes, [("leaky", "holder")], contract=contract)
    (flow / ".secrets.yaml").write_text(f"slack:\n  token: {secret}\n")
    sink = LogSink(stream=captured, fmt="json")  # type: ignore[arg-type]
    async with running_server(flow, sink) as client:
        response = await client.post("/run", json={})
        detail = await client.get("/health?detail=1")
    assert response.status_code == 500
    assert secret not in response.text and secret not in detail.text and secret not in captured.text
    body = response.json()
    assert body["outputs"]["leaky"] == {"echo": "[redacted]"}
    assert "rejected token [redacted]" in body["errors"]["holder"]
    assert any(json.loads(line).get("node") == "leaky" for line in captured.lines)
