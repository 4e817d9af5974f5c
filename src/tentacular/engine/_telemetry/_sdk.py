"""Hand finished spans to an OpenTelemetry SDK span processor or exporter (tests, embedders).

The engine's own path never imports the SDK; ``Observability.create(span_exporter=...)``
or ``span_processor=...`` routes spans here instead, converted to SDK ``ReadableSpan``
objects as they end, so the SDK's in-memory exporter sees what a collector would.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, SpanProcessor
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags, TraceState

from tentacular.engine._telemetry._export import SCOPE
from tentacular.engine._telemetry._spans import STATUS_ERROR, SpanRecord

_KINDS = {
    1: SpanKind.INTERNAL,
    2: SpanKind.SERVER,
    3: SpanKind.CLIENT,
    4: SpanKind.PRODUCER,
    5: SpanKind.CONSUMER,
}


class SdkSink:
    def __init__(
        self,
        resource: Mapping[str, Any],
        *,
        exporter: SpanExporter | None = None,
        processor: SpanProcessor | None = None,
    ) -> None:
        if processor is None:
            assert exporter is not None
            processor = SimpleSpanProcessor(exporter)
        self._processor = processor
        self._resource = Resource(dict(resource))
        self._scope = InstrumentationScope(*SCOPE)

    def submit(self, span: SpanRecord) -> None:
        self._processor.on_end(self.readable(span))

    def readable(self, span: SpanRecord) -> ReadableSpan:
        flags = TraceFlags(TraceFlags.SAMPLED if span.sampled else TraceFlags.DEFAULT)
        state = _trace_state(span.trace_state)
        context = SpanContext(
            span.trace_id, span.span_id, is_remote=False, trace_flags=flags, trace_state=state
        )
        parent = (
            SpanContext(
                span.trace_id,
                span.parent_id,
                is_remote=span.remote_parent,
                trace_flags=flags,
                trace_state=state,
            )
            if span.parent_id
            else None
        )
        status = (
            Status(StatusCode.ERROR, span.status_message) if span.status_code == STATUS_ERROR else Status()
        )
        events = [
            Event(name, dict(attributes or {}), timestamp=time_ns)
            for time_ns, name, attributes in span.events or ()
        ]
        return ReadableSpan(
            name=span.name,
            context=context,
            parent=parent,
            resource=self._resource,
            attributes=span.attribute_map(),
            events=events,
            kind=_KINDS.get(span.kind, SpanKind.INTERNAL),
            status=status,
            start_time=span.start_ns,
            end_time=span.end_ns,
            instrumentation_scope=self._scope,
        )

    def shutdown(self) -> None:
        self._processor.shutdown()


def _trace_state(header: str | None) -> TraceState:
    if not header:
        return TraceState()
    return TraceState.from_header([header])
