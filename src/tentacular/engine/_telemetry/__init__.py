"""Engine telemetry: metrics (always), token usage (always), OpenTelemetry traces (when configured).

The executor, the HTTP client and the server call small hooks here:

* ``Observability.begin_run`` → a ``RunScope`` per run; the executor calls
  ``scope.attempt(node, n)`` per node attempt and ``probe.end(outcome, ...)`` after it;
* ``Observability.instrument`` wraps the shared HTTP client's transport (client spans,
  ``traceparent``, LLM usage recognition);
* ``carrier_from_headers`` picks the W3C trace headers out of an incoming request or
  message so a run continues the caller's trace.

With telemetry off nothing here imports OpenTelemetry (the import-budget test checks it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from tentacular.engine._telemetry._attempt import CURRENT_ATTEMPT, AttemptProbe
from tentacular.engine._telemetry._attributes import guard_refusal_kind
from tentacular.engine._telemetry._metrics import TRIGGER_EVENTS, EngineMetrics, Labels, MetricDef
from tentacular.engine._telemetry._run import RunScope
from tentacular.engine._telemetry._settings import TelemetrySettings, resolve_settings
from tentacular.engine._telemetry._usage import RunUsage, UsageRecord, usage_record
from tentacular.spec._policy import HostGrant
from tentacular.spec._values import parse_endpoint

if TYPE_CHECKING:
    from tentacular.engine._telemetry._spans import SpanRecord, Tracing
    from tentacular.spec._model import Workflow

__all__ = [
    "CURRENT_ATTEMPT",
    "TRIGGER_EVENTS",
    "AttemptProbe",
    "EngineMetrics",
    "Labels",
    "MetricDef",
    "Observability",
    "RunScope",
    "RunUsage",
    "TelemetrySettings",
    "UsageRecord",
    "carrier_from_headers",
    "guard_refusal_kind",
    "report_usage",
    "resolve_settings",
    "trigger_from_headers",
    "usage_record",
]

TRACE_HEADERS = ("traceparent", "tracestate")
_TRACE_HEADER_BYTES = (b"traceparent", b"tracestate")


def carrier_from_headers(
    headers: Mapping[Any, Any] | Iterable[tuple[Any, Any]] | None,
) -> dict[str, str] | None:
    """The W3C ``traceparent``/``tracestate`` of an HTTP request or NATS message, or None.

    Accepts ASGI header pairs (bytes), a mapping (NATS ``msg.headers``, a dict) or
    ``(name, value)`` string pairs; names are matched case-insensitively.
    """
    if not headers:
        return None
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    found: dict[str, str] = {}
    for name, value in pairs:
        key = name.lower() if isinstance(name, bytes | str) else name
        if key in _TRACE_HEADER_BYTES:
            found[key.decode("latin-1")] = value.decode("latin-1") if isinstance(value, bytes) else str(value)
        elif key in TRACE_HEADERS:
            found[key] = value.decode("latin-1") if isinstance(value, bytes) else str(value)
    return found if "traceparent" in found else None


TRIGGER_TYPES = frozenset({"manual", "cron", "queue", "webhook"})


def trigger_from_headers(headers: Iterable[tuple[bytes, bytes]]) -> str:
    """The ``X-Tentacular-Trigger`` of a /run request (the CronJob's client sends ``cron``), else manual."""
    for name, value in headers:
        if name == b"x-tentacular-trigger":
            text = value.decode("latin-1").strip().lower()
            return text if text in TRIGGER_TYPES else "manual"
    return "manual"


class Observability:
    """The telemetry of one engine process, shared by every revision of its workflow."""

    def __init__(
        self,
        settings: TelemetrySettings | None = None,
        *,
        metrics: EngineMetrics | None = None,
        tracing: Tracing | None = None,
        redact: Any = None,
    ) -> None:
        self.settings = settings or TelemetrySettings()
        self.metrics = metrics if metrics is not None else EngineMetrics()
        self.tracing = tracing
        self._redact = redact
        self._closers: list[Any] = []

    @property
    def redact(self) -> Any:
        """The secrets redactor's ``text`` (EngineServices sets it): span texts pass through it."""
        return self._redact

    @redact.setter
    def redact(self, redact: Any) -> None:
        self._redact = redact
        if self.tracing is not None:
            self.tracing.redact = redact

    @classmethod
    def create(
        cls,
        workflow: Workflow,
        *,
        env: Mapping[str, str] | None = None,
        span_exporter: Any = None,
        span_processor: Any = None,
    ) -> Observability:
        """From workflow.yaml and ``OTEL_*``; tests hand in an SDK exporter or processor (in-memory)."""
        settings = resolve_settings(workflow.telemetry, name=workflow.name, version=workflow.version, env=env)
        injected = span_exporter is not None or span_processor is not None
        if injected:
            settings = _with_exporter(settings)
        observability = cls(settings)
        if settings.enabled:
            from tentacular.engine._telemetry._spans import SpanSink, Tracing

            sink: SpanSink
            if injected:
                from tentacular.engine._telemetry._sdk import SdkSink

                sink = SdkSink(settings.resource(), exporter=span_exporter, processor=span_processor)
            else:
                from tentacular.engine._telemetry._export import OtlpExporter

                sink = OtlpExporter(
                    observability.metrics,
                    settings.resource(),
                    traces_url=settings.traces_endpoint,
                    metrics_url=settings.metrics_endpoint if settings.export_metrics else None,
                    traces_headers=settings.traces_headers,
                    metrics_headers=settings.metrics_headers,
                    timeout=settings.export_timeout,
                )
            observability.tracing = Tracing(sink, sampling_ratio=settings.sampling_ratio)
            observability.tracing.redact = observability.redact
            observability._closers.append(observability.tracing.shutdown)
        return observability

    def begin_run(
        self,
        *,
        workflow: str,
        version: str,
        run_id: str,
        trigger: str = "manual",
        carrier: Mapping[str, str] | None = None,
    ) -> RunScope:
        return RunScope(
            self, workflow=workflow, version=version, run_id=run_id, trigger=trigger, carrier=carrier
        )

    def instrument(self, transport: Any, *, limits: Any = None) -> Any:
        """The shared HTTP client's transport, wrapped for client spans and usage recognition."""
        from tentacular.engine._telemetry._http import InstrumentedTransport

        return InstrumentedTransport(transport, self, limits=limits)

    def collector_grants(self) -> list[HostGrant]:
        """Runtime-guard grants for the OTLP collector (the exporter threads run in the guarded process)."""
        grants: set[HostGrant] = set()
        for url in self.settings.endpoints():
            endpoint = parse_endpoint(url)
            grants.add(HostGrant(endpoint.host, endpoint.port, "TCP", "telemetry.endpoint"))
        return sorted(grants)

    def current_span(self) -> SpanRecord | None:
        """The running node attempt's span, else the run's (None when tracing is off)."""
        if self.tracing is None:
            return None
        probe = CURRENT_ATTEMPT.get()
        if probe is not None and probe.traced:
            return probe
        from tentacular.engine._telemetry._spans import CURRENT_SPAN

        return CURRENT_SPAN.get()

    def current_ids(self) -> tuple[str, str] | None:
        span = self.current_span()
        return span.ids() if span is not None else None

    def shutdown(self) -> None:
        """Flush and stop exporters within a bounded time (an absent collector costs ~3 s at most)."""
        closers, self._closers = self._closers, []
        for close in reversed(closers):
            try:
                close()
            except Exception:
                continue


def _with_exporter(settings: TelemetrySettings) -> TelemetrySettings:
    return settings._replace(exporter="otlp")


def report_usage(node: str, **arguments: Any) -> UsageRecord:
    """``ctx.usage(...)``: validate, then attach to the running node attempt (if any)."""
    record = usage_record(**arguments)
    probe = CURRENT_ATTEMPT.get()
    if probe is not None and probe.node == node:
        probe.report(record)
    return record
