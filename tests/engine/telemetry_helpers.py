"""Loopback stand-ins for what a deployed engine talks to: an HTTP dependency (a fake LLM API) and an
OTLP/HTTP collector that decodes the protobuf it receives."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

Responder = Callable[[str, str, bytes], tuple[int, dict[str, Any] | bytes]]

ANTHROPIC_MESSAGE = {
    "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-5-20250929",
    "content": [{"type": "text", "text": "Hello!"}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {
        "input_tokens": 12,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 3,
        "output_tokens": 6,
        "service_tier": "standard",
    },
}
OPENAI_CHAT = {
    "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
    "object": "chat.completion",
    "created": 1741569952,
    "model": "gpt-4.1-2025-04-14",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Hello!", "refusal": None, "annotations": []},
            "logprobs": None,
            "finish_reason": "stop",
        }
    ],
    "usage": {
        "prompt_tokens": 19,
        "completion_tokens": 10,
        "total_tokens": 29,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
    },
    "service_tier": "default",
}
OPENAI_RESPONSE = {
    "id": "resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b",
    "object": "response",
    "created_at": 1741476542,
    "status": "completed",
    "model": "gpt-4.1-mini-2025-04-14",
    "output": [
        {
            "type": "message",
            "id": "msg_67ccd2bf17f0819081ff3bb2cf6508e60bb6a6b452d3795b",
            "status": "completed",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "Hi", "annotations": []}],
        }
    ],
    "usage": {
        "input_tokens": 36,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": 87,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 123,
    },
}


def default_responder(method: str, path: str, body: bytes) -> tuple[int, dict[str, Any] | bytes]:
    if path.endswith("/v1/messages"):
        return 200, ANTHROPIC_MESSAGE
    if path.endswith("/chat/completions"):
        return 200, OPENAI_CHAT
    if path.endswith("/v1/responses"):
        return 200, OPENAI_RESPONSE
    if path.startswith("/status/"):
        return int(path.rsplit("/", 1)[1]), {"status": "forced"}
    return 200, {"path": path}


class LocalService:
    """A real HTTP server on 127.0.0.1 recording each request's method, path and headers."""

    def __init__(self, responder: Responder = default_responder) -> None:
        self.requests: list[dict[str, Any]] = []
        service = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                service.requests.append(
                    {
                        "method": self.command,
                        "path": self.path,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "body": body,
                    }
                )
                status, payload = responder(self.command, self.path, body)
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _handle

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self.server.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> LocalService:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


class OtlpReceiver(LocalService):
    """An OTLP/HTTP collector: decodes ExportTraceServiceRequest / ExportMetricsServiceRequest."""

    def __init__(self) -> None:
        self.trace_requests: list[Any] = []
        self.metric_requests: list[Any] = []
        super().__init__(self._respond)

    def _respond(self, method: str, path: str, body: bytes) -> tuple[int, bytes]:
        from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

        if path == "/v1/traces":
            request = ExportTraceServiceRequest()
            request.ParseFromString(body)
            self.trace_requests.append(request)
        elif path == "/v1/metrics":
            metrics = ExportMetricsServiceRequest()
            metrics.ParseFromString(body)
            self.metric_requests.append(metrics)
        else:
            return 404, b"{}"
        return 200, b""

    def spans(self) -> list[dict[str, Any]]:
        """Every received span as a plain dict (hex ids, attributes decoded)."""
        out: list[dict[str, Any]] = []
        for request in self.trace_requests:
            for resource_spans in request.resource_spans:
                resource = {a.key: any_value(a.value) for a in resource_spans.resource.attributes}
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        out.append(
                            {
                                "name": span.name,
                                "trace_id": span.trace_id.hex(),
                                "span_id": span.span_id.hex(),
                                "parent_id": span.parent_span_id.hex(),
                                "kind": span.kind,
                                "status": span.status.code,
                                "attributes": {a.key: any_value(a.value) for a in span.attributes},
                                "events": [e.name for e in span.events],
                                "resource": resource,
                            }
                        )
        return out


def any_value(value: Any) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [any_value(v) for v in value.array_value.values]
    return getattr(value, kind) if kind else None


def add_telemetry(workflow: Path, section: dict[str, Any] | None = None, **top: Any) -> Path:
    """Add a ``telemetry`` section (and any other top-level keys) to a written workflow.yaml."""
    file = workflow / "workflow.yaml"
    spec = yaml.safe_load(file.read_text())
    if section is not None:
        spec["telemetry"] = section
    spec.update(top)
    file.write_text(yaml.safe_dump(spec, sort_keys=False))
    return workflow


@contextlib.contextmanager
def services(*items: LocalService) -> Iterator[None]:
    with contextlib.ExitStack() as stack:
        for item in items:
            stack.enter_context(item)
        yield
