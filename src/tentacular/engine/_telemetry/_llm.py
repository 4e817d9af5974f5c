"""Recognise token usage in responses of known LLM APIs (Anthropic Messages, OpenAI Chat and Responses).

Only non-streaming JSON answers on the APIs' own paths are looked at, so ordinary
fetches pay one string comparison. Streaming (server-sent events) answers are not
parsed: report those with ``ctx.usage``.
"""

from __future__ import annotations

import json
from typing import Any

from tentacular.engine._telemetry._usage import UsageRecord

_PATH_SUFFIXES = ("/messages", "/chat/completions", "/responses")
_MAX_BODY = 8 * 1024 * 1024


def wants_body(path: str) -> bool:
    """Whether a response to ``path`` may be an LLM answer worth parsing."""
    return path.rstrip("/").endswith(_PATH_SUFFIXES)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def recognise(body: Any) -> tuple[UsageRecord, str] | None:
    """``(record, operation)`` for an Anthropic or OpenAI response body, else None."""
    if not isinstance(body, dict):
        return None
    usage = body.get("usage")
    model = body.get("model")
    if not isinstance(usage, dict) or not isinstance(model, str) or not model:
        return None
    kind = body.get("type"), body.get("object")
    if kind[0] == "message":  # Anthropic Messages
        read = _int(usage.get("cache_read_input_tokens")) or 0
        created = _int(usage.get("cache_creation_input_tokens")) or 0
        prompt, completion = _int(usage.get("input_tokens")), _int(usage.get("output_tokens"))
        if prompt is None or completion is None:
            return None
        return UsageRecord(
            model, prompt + read + created, completion, "anthropic", None, "recognised"
        ), "chat"
    if kind[1] == "chat.completion":  # OpenAI Chat Completions
        prompt, completion = _int(usage.get("prompt_tokens")), _int(usage.get("completion_tokens"))
        if prompt is None or completion is None:
            return None
        return UsageRecord(model, prompt, completion, "openai", None, "recognised"), "chat"
    if kind[1] == "response":  # OpenAI Responses
        prompt, completion = _int(usage.get("input_tokens")), _int(usage.get("output_tokens"))
        if prompt is None or completion is None:
            return None
        return UsageRecord(model, prompt, completion, "openai", None, "recognised"), "chat"
    return None


def recognise_response(path: str, content_type: str, content: bytes) -> tuple[UsageRecord, str] | None:
    if not wants_body(path) or "json" not in content_type or len(content) > _MAX_BODY:
        return None
    try:
        body = json.loads(content)
    except ValueError:
        return None
    return recognise(body)
