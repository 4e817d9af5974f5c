"""A `tntc mcp` stdio session's opening is answered from the SDK's recorded answers while the SDK loads.

What a user relies on: a warm start answers exactly what the SDK would (both protocol eras),
the SDK then serves the session as usual, and a recording that no longer matches is
corrected by the SDK's own answer instead of being kept.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tentacular.agent._mcp_replay import KEPT_RECORDINGS, Conversation, Recording, cache_file, fingerprint
from tentacular.agent._tools import NOT_TOOLS
from tentacular.cli.command_tree import command_tree
from tests.agent.conftest import stdio_client

ERAS = pytest.mark.parametrize("mode", ["auto", "legacy"])  # 2026-07-28 discover; initialize


def _recording() -> dict[str, Any]:
    files = list(cache_file().parent.glob("*.json"))
    assert len(files) == 1, files
    results: dict[str, Any] = json.loads(files[0].read_text())["results"]
    return results


async def _session(tmp_path: Path, mode: str, errlog: Path) -> tuple[list[Any], dict[str, Any]]:
    with errlog.open("a") as err:
        async with stdio_client(tmp_path, mode=mode, errlog=err) as client:
            tools = (await client.list_tools()).tools
            validated = await client.call_tool("validate", {"directory": "missing-flow"})
    return tools, validated.structured_content


@ERAS
async def test_a_warm_start_answers_what_the_sdk_answered(tmp_path: Path, mode: str) -> None:
    errlog = tmp_path / "server.err"
    cold_tools, cold_call = await _session(tmp_path, mode, errlog)
    recorded = _recording()
    assert any("|tools/list|" in key for key in recorded)
    warm_tools, warm_call = await _session(tmp_path, mode, errlog)
    assert [t.model_dump() for t in warm_tools] == [t.model_dump() for t in cold_tools]
    assert {t.name for t in warm_tools} == {c.tool_name for c in command_tree()} - set(NOT_TOOLS)
    # The SDK serves the rest of the session: tool calls, errors with their stable codes.
    assert warm_call["error"]["code"] == cold_call["error"]["code"] == "workflow_not_found"
    assert "stale" not in errlog.read_text()


@ERAS
async def test_a_stale_recording_is_replayed_once_then_corrected(tmp_path: Path, mode: str) -> None:
    errlog = tmp_path / "server.err"
    await _session(tmp_path, mode, errlog)
    path = next(cache_file().parent.glob("*.json"))
    data = json.loads(path.read_text())
    key = next(k for k in data["results"] if "|tools/list|" in k)
    data["results"][key]["tools"][0]["description"] = "an answer from an older tntc"
    path.write_text(json.dumps(data))

    replayed, _ = await _session(tmp_path, mode, errlog)
    assert replayed[0].description == "an answer from an older tntc"  # the opening came from the recording
    assert "replayed answer to tools/list was stale" in errlog.read_text()
    corrected, _ = await _session(tmp_path, mode, errlog)
    assert corrected[0].description != "an answer from an older tntc"
    assert _recording()[key]["tools"][0]["description"] == corrected[0].description


def test_only_the_opening_of_a_conversation_is_keyed() -> None:
    legacy = Conversation()
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-11-25"}}
    tools = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
    assert legacy.key(init) is not None
    assert legacy.key(tools) is None  # not before notifications/initialized
    assert not legacy.open

    legacy = Conversation()
    legacy.key(init)
    legacy.key({"jsonrpc": "2.0", "method": "notifications/initialized"})
    assert legacy.key({**tools, "params": {"cursor": "2"}}) is None  # a later page is the SDK's

    legacy = Conversation()
    legacy.key(init)
    legacy.key({"jsonrpc": "2.0", "method": "notifications/initialized"})
    assert legacy.key(tools) is not None
    assert legacy.key({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {}}) is None
    assert legacy.key({"jsonrpc": "2.0", "id": 4, "method": "tools/list"}) is None  # the opening is over

    stranger = Conversation()
    assert stranger.key({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}) is None  # no era yet
    assert stranger.key(init) is None


def test_the_fingerprint_follows_the_tntc_sources() -> None:
    import tentacular.agent._tools as module

    source = Path(module.__file__)
    before = fingerprint()
    stat = source.stat()
    try:
        os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
        assert fingerprint() != before
    finally:
        os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert fingerprint() == before


def test_old_recordings_are_pruned(tmp_path: Path) -> None:
    for index in range(KEPT_RECORDINGS + 3):
        old = tmp_path / f"old{index}.json"
        old.write_text("{}")
        os.utime(old, (1_000_000 + index, 1_000_000 + index))
    Recording(tmp_path / "current.json").put("key", {"tools": []})
    kept = {p.name for p in tmp_path.glob("*.json")}
    assert len(kept) == KEPT_RECORDINGS and "current.json" in kept
    assert "old0.json" not in kept and f"old{KEPT_RECORDINGS + 2}.json" in kept
