"""Message bytes → workflow input (INVENTORY §4.8.3, roadmap #24).

* empty → ``{}``; JSON (``application/json`` or no content type) → parsed; JSON ``null`` → ``{}``;
* ``text/*`` or undeclared UTF-8 that is not JSON → ``{"data": "<text>"}``;
* anything else (declared binary, or undeclared bytes that are not UTF-8) →
  ``{"data": "<base64>", "encoding": "base64", "contentType": "<type>"}``;
* when the result is an object, ``trigger`` is set to ``trigger.name ?? subject``;
* an optional JSON Schema then validates the input before any run starts.

A payload that can never run (declared JSON that does not parse, a schema mismatch,
an oversize message) raises ``PayloadRejected``: JetStream dead-letters it at once.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

SOURCE_HEADER = "Tentacular-Source"  # "webhook": the input was built by the engine's webhook route


class PayloadRejected(Exception):
    """The message can never become a run; ``reason`` says why (no payload content in it)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _media_type(headers: Mapping[str, str] | None) -> tuple[str | None, str]:
    if not headers:
        return None, "utf-8"
    raw = next((v for k, v in headers.items() if k.lower() == "content-type"), None)
    if raw is None:
        return None, "utf-8"
    media, _, params = raw.partition(";")
    charset = "utf-8"
    for param in params.split(";"):
        key, _, value = param.strip().partition("=")
        if key.lower() == "charset" and value:
            charset = value.strip('"')
    return media.strip().lower() or None, charset


def decode_payload(data: bytes, headers: Mapping[str, str] | None) -> Any:
    media, charset = _media_type(headers)
    if not data.strip():
        return {}
    if media is None or media == "application/json" or media.endswith("+json"):
        try:
            text = data.decode(charset)
        except (UnicodeDecodeError, LookupError):
            if media is not None:
                raise PayloadRejected(f"content type {media} but the body is not {charset} text") from None
            return _binary(data, "application/octet-stream")
        try:
            value = json.loads(text)
        except ValueError:
            if media is not None:
                raise PayloadRejected(f"content type {media} but the body is not valid JSON") from None
            return {"data": text}
        return {} if value is None else value
    if media.startswith("text/"):
        try:
            return {"data": data.decode(charset)}
        except (UnicodeDecodeError, LookupError):
            raise PayloadRejected(f"content type {media} but the body is not {charset} text") from None
    return _binary(data, media)


def _binary(data: bytes, media: str) -> dict[str, Any]:
    return {"data": base64.b64encode(data).decode("ascii"), "encoding": "base64", "contentType": media}


def with_trigger(value: Any, label: str, headers: Mapping[str, str] | None) -> Any:
    if headers and headers.get(SOURCE_HEADER) == "webhook":
        return value  # the webhook route already attached _webhook
    if isinstance(value, dict):
        value["trigger"] = label
    return value


class SchemaCheck:
    """A trigger's JSON Schema, compiled once; ``check`` raises PayloadRejected on a mismatch."""

    def __init__(self, schema_file: Path) -> None:
        import jsonschema

        document = json.loads(schema_file.read_text(encoding="utf-8"))
        validator_type = jsonschema.validators.validator_for(document)
        validator_type.check_schema(document)
        self._validator = validator_type(document)
        self.file = schema_file

    def check(self, value: Any) -> None:
        errors = sorted(self._validator.iter_errors(value), key=lambda e: list(e.absolute_path))
        if errors:
            first = errors[0]
            where = "/".join(str(p) for p in first.absolute_path) or "(root)"
            more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
            # The validator's message may quote the value; only the location and the rule leave here.
            raise PayloadRejected(
                f"payload does not match schema {self.file.name} at {where}: {first.validator} rule{more}"
            )


def message_payload(msg: Any, trigger: Any, schema: SchemaCheck | None) -> Any:
    """One NATS message (core or JetStream) to a run input: size cap, decoding, schema, trigger key."""
    if len(msg.data) > trigger.max_payload:
        raise PayloadRejected(f"payload of {len(msg.data)} bytes exceeds maxPayload {trigger.max_payload}")
    headers = msg.headers or None
    value = decode_payload(msg.data, headers)
    if schema is not None:
        schema.check(value)
    return with_trigger(value, trigger.label, headers)
