"""OpenTelemetry tracing: imported only when a workflow or the environment asks for an exporter.

Spans: ``invoke_workflow`` per run, ``execute_node`` per node attempt (children of
the run span), and a CLIENT span per outbound request of the shared HTTP client
(children of the node span) carrying a W3C ``traceparent``. Spans leave through a
bounded batch queue on a background thread, so a slow or unreachable collector
never slows a run: when the queue is full spans are dropped and counted in
``tentacular_telemetry_spans_dropped_total``.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Mapping
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import OTELResourceDetector, Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from tentacular.engine._telemetry._metrics import SPANS_DROPPED, EngineMetrics
from tentacular.engine._telemetry._settings import TelemetrySettings

MAX_QUEUE = 2048
EXPORT_BATCH = 512
SCHEDULE_DELAY_MS = 1000
SHUTDOWN_TIMEOUT_MS = 3000
_PROPAGATOR = TraceContextTextMapPropagator()

# The exporter logs every failed export at WARNING through the root logger; the drop
# counter says the same thing without flooding a pod's log while a collector is down.
logging.getLogger("opentelemetry.exporter.otlp.proto.http").setLevel(logging.ERROR)
logging.getLogger("opentelemetry.exporter.otlp.common").setLevel(logging.ERROR)
logging.getLogger("opentelemetry.sdk._shared_internal").setLevel(logging.ERROR)


class _CountingExporter(SpanExporter):
    """Counts spans whose export failed (collector down, refused, too large)."""

    def __init__(self, inner: SpanExporter, metrics: EngineMetrics) -> None:
        self._inner = inner
        self._metrics = metrics

    def export(self, spans: Any) -> SpanExportResult:
        try:
            result = self._inner.export(spans)
        except Exception:
            result = SpanExportResult.FAILURE
        if result is not SpanExportResult.SUCCESS:
            self._metrics.add(SPANS_DROPPED, ("export_failed",), float(len(spans)))
        return result

    def shutdown(self) -> None:
        self._inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._inner.force_flush(timeout_millis)


class _BoundedProcessor(SpanProcessor):
    """A BatchSpanProcessor that counts the spans it drops because its queue is full."""

    def __init__(self, exporter: SpanExporter, metrics: EngineMetrics) -> None:
        self._inner = BatchSpanProcessor(
            _CountingExporter(exporter, metrics),
            max_queue_size=MAX_QUEUE,
            max_export_batch_size=EXPORT_BATCH,
            schedule_delay_millis=SCHEDULE_DELAY_MS,
        )
        self._metrics = metrics
        batch = getattr(self._inner, "_batch_processor", None)
        self._queue: Any = getattr(batch, "_queue", None)

    def on_start(self, span: Any, parent_context: Any = None) -> None:
        return None

    def on_end(self, span: ReadableSpan) -> None:
        queue = self._queue
        if queue is not None and len(queue) >= MAX_QUEUE:
            self._metrics.add(SPANS_DROPPED, ("queue_full",))
        self._inner.on_end(span)

    def shutdown(self) -> None:
        self._inner._batch_processor.shutdown(timeout_millis=SHUTDOWN_TIMEOUT_MS)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._inner.force_flush(timeout_millis)


def _resource(settings: TelemetrySettings) -> Resource:
    attributes: dict[str, Any] = {
        "service.name": settings.service_name,
        "service.version": settings.service_version,
        "telemetry.sdk.name": "opentelemetry",
    }
    attributes.update(settings.resource_attributes)
    # The standard variables (OTEL_RESOURCE_ATTRIBUTES, OTEL_SERVICE_NAME) win over workflow.yaml.
    return Resource(attributes).merge(OTELResourceDetector().detect())


def _run_kind(trigger: str, *, remote: bool) -> SpanKind:
    """CONSUMER for a queue message, SERVER when a caller's trace continues, else INTERNAL."""
    if trigger == "queue":
        return SpanKind.CONSUMER
    return SpanKind.SERVER if remote or trigger == "webhook" else SpanKind.INTERNAL


class Tracing:
    """The tracer of one engine process and the span operations the telemetry hooks use."""

    def __init__(
        self,
        settings: TelemetrySettings,
        metrics: EngineMetrics,
        *,
        exporter: SpanExporter | None = None,
        processor: SpanProcessor | None = None,
    ) -> None:
        self.settings = settings
        self.redact: Callable[[str], str] | None = None
        sampler = ParentBased(TraceIdRatioBased(settings.sampling_ratio))
        self.provider = TracerProvider(resource=_resource(settings), sampler=sampler)
        if processor is None:
            if exporter is None:
                from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

                exporter = OTLPSpanExporter(
                    endpoint=settings.traces_endpoint, timeout=settings.export_timeout
                )
            processor = _BoundedProcessor(exporter, metrics)
        self.provider.add_span_processor(processor)
        self.tracer = self.provider.get_tracer("tentacular.engine")

    # --- runs and nodes ------------------------------------------------------------------

    def start_run(
        self, attributes: Mapping[str, Any], trigger: str, carrier: Mapping[str, str] | None
    ) -> tuple[Any, Any, object]:
        """The run span, the context its children start from, and the attach token."""
        parent = _PROPAGATOR.extract(carrier) if carrier else otel_context.get_current()
        span = self.tracer.start_span(
            "invoke_workflow",
            context=parent,
            kind=_run_kind(trigger, remote=bool(carrier)),
            attributes=dict(attributes),
        )
        run_context = trace.set_span_in_context(span, parent)
        return span, run_context, otel_context.attach(run_context)

    def end_run(self, span: Any, token: object, *, success: bool, message: str | None) -> None:
        if not success:
            span.set_status(Status(StatusCode.ERROR, message))
        span.end()
        otel_context.detach(token)  # type: ignore[arg-type]

    def start_node(self, run_context: Any, attributes: Mapping[str, Any]) -> tuple[Any, object]:
        span = self.tracer.start_span("execute_node", context=run_context, attributes=dict(attributes))
        return span, otel_context.attach(trace.set_span_in_context(span, run_context))

    def end_node(
        self,
        span: Any,
        token: object,
        outcome: str,
        error: BaseException | None,
        message: str | None,
        redact: Callable[[str], str] | None = None,
    ) -> None:
        span.set_attribute("tentacular.node.outcome", outcome)
        if error is not None:
            record_exception(span, error, redact)
        if outcome == "cancelled":
            span.add_event("cancelled")
        elif outcome != "ok":
            span.set_status(Status(StatusCode.ERROR, message or outcome))
        span.end()
        otel_context.detach(token)  # type: ignore[arg-type]

    # --- outbound HTTP -------------------------------------------------------------------

    def start_client(self, method: str, url: str, host: str, port: int | None) -> Any:
        attributes: dict[str, Any] = {"http.request.method": method, "url.full": url, "server.address": host}
        if port is not None:
            attributes["server.port"] = port
        return self.tracer.start_span(method, kind=SpanKind.CLIENT, attributes=attributes)

    def inject(self, span: Any, headers: Any) -> None:
        _PROPAGATOR.inject(headers, context=trace.set_span_in_context(span))

    def end_client(self, span: Any, status: int | None, error: BaseException | None) -> None:
        if status is not None:
            span.set_attribute("http.response.status_code", status)
            if status >= 400:
                span.set_status(Status(StatusCode.ERROR, f"HTTP {status}"))
        if error is not None:
            span.set_attribute("error.type", type(error).__name__)
            record_exception(span, error, self.redact)
            span.set_status(Status(StatusCode.ERROR, type(error).__name__))
        span.end()

    def current_ids(self) -> tuple[str, str] | None:
        span_context = trace.get_current_span().get_span_context()
        if not span_context.is_valid:
            return None
        return format(span_context.trace_id, "032x"), format(span_context.span_id, "016x")

    def shutdown(self) -> None:
        self.provider.shutdown()


def record_exception(span: Any, error: BaseException, redact: Callable[[str], str] | None) -> None:
    """``span.record_exception`` with the message and stack trace passed through the secrets redactor."""
    text = str(error)
    stack = "".join(traceback.format_exception(error))
    if redact is not None:
        text, stack = redact(text), redact(stack)
    span.add_event(
        "exception",
        {
            "exception.type": type(error).__qualname__,
            "exception.message": text,
            "exception.stacktrace": stack,
        },
    )
