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

import time
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from tentacular.engine._telemetry._metrics import (
    GUARD_REFUSALS,
    LLM_CALLS,
    LLM_COST,
    NODE_DURATION,
    NODE_RETRIES,
    NODE_TIMEOUTS,
    RUN_DURATION,
    RUNS,
    RUNS_IN_FLIGHT,
    TOKENS,
    EngineMetrics,
)
from tentacular.engine._telemetry._settings import TelemetrySettings, resolve_settings
from tentacular.engine._telemetry._usage import RunUsage, UsageRecord, usage_record
from tentacular.spec._policy import HostGrant
from tentacular.spec._telemetry import parse_endpoint

if TYPE_CHECKING:
    from tentacular.engine._telemetry._tracing import Tracing
    from tentacular.spec._model import Workflow

__all__ = [
    "CURRENT_ATTEMPT",
    "AttemptProbe",
    "EngineMetrics",
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
CURRENT_ATTEMPT: ContextVar[AttemptProbe | None] = ContextVar("tentacular_attempt", default=None)


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


def guard_refusal_kind(error: BaseException) -> str | None:
    """``network``/``file``/``process``/``ffi``/``other`` when ``error`` is (or wraps) a guard refusal."""
    from tentacular.engine._executor import wrapped_guard_refusal

    message = wrapped_guard_refusal(error)
    if message is None:
        return None
    if "starting a process" in message:
        return "process"
    if "native code" in message:
        return "ffi"
    if "nodes may read" in message or "nodes may write" in message:
        return "file"
    if "contract.dependencies" in message or "socket" in message or "lookup" in message:
        return "network"
    return "other"


class AttemptProbe:
    """One node attempt: its duration, span and usage records."""

    __slots__ = ("_span", "_token", "_var_token", "attempt", "ended", "node", "records", "scope", "started")

    def __init__(self, scope: RunScope, node: str, attempt: int) -> None:
        self.scope = scope
        self.node = node
        self.attempt = attempt
        self.records: list[UsageRecord] | None = None
        self.ended = False
        self._span: Any = None
        self._token: object = None
        observability = scope.observability
        if attempt:
            observability.metrics.add(NODE_RETRIES, (scope.workflow, node))
        tracing = observability.tracing
        if tracing is not None and scope.run_context is not None:
            self._span, self._token = tracing.start_node(
                scope.run_context,
                {
                    "tentacular.workflow.name": scope.workflow,
                    "tentacular.node.name": node,
                    "tentacular.node.attempt": attempt + 1,
                    "tentacular.run.id": scope.run_id,
                },
            )
        self._var_token = CURRENT_ATTEMPT.set(self)
        self.started = time.perf_counter()

    def report(self, record: UsageRecord) -> None:
        """A usage record from ``ctx.usage`` or from a recognised LLM response."""
        if self.ended:
            return  # a timed-out thread reporting late: its attempt is already accounted
        if self.records is None:
            self.records = []
        self.records.append(record)

    def end(self, outcome: str, error: BaseException | None, message: str | None) -> None:
        duration = time.perf_counter() - self.started
        self.ended = True
        CURRENT_ATTEMPT.reset(self._var_token)
        scope = self.scope
        metrics = scope.observability.metrics
        workflow = scope.workflow
        metrics.observe(NODE_DURATION, (workflow, self.node, outcome), duration)
        if outcome == "timeout":
            metrics.add(NODE_TIMEOUTS, (workflow, self.node))
        if error is not None:
            kind = guard_refusal_kind(error)
            if kind is not None:
                metrics.add(GUARD_REFUSALS, (workflow, kind))
        records = self._settled_records()
        for record in records:
            scope.add_usage(self.node, record)
        span = self._span
        if span is not None:
            tracing = scope.observability.tracing
            assert tracing is not None
            span.set_attribute("tentacular.node.duration_ms", round(duration * 1000, 3))
            if records:
                span.set_attributes(_genai_attributes(records))
            if outcome == "timeout" and message:
                span.add_event("timeout", {"message": message})
            tracing.end_node(span, self._token, outcome, error, message, scope.observability.redact)

    def _settled_records(self) -> list[UsageRecord]:
        records = self.records
        if not records:
            return []
        explicit = [r for r in records if r.source != "recognised"]
        return explicit if explicit else records


def _genai_attributes(records: list[UsageRecord]) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "gen_ai.usage.input_tokens": sum(r.input_tokens for r in records),
        "gen_ai.usage.output_tokens": sum(r.output_tokens for r in records),
    }
    models = sorted({r.model for r in records})
    providers = sorted({r.provider for r in records if r.provider})
    attributes["gen_ai.response.model"] = models[0] if len(models) == 1 else ",".join(models)
    if providers:
        attributes["gen_ai.provider.name"] = providers[0] if len(providers) == 1 else ",".join(providers)
        attributes["gen_ai.system"] = attributes["gen_ai.provider.name"]
    cost = [r.cost for r in records if r.cost is not None]
    if cost:
        attributes["tentacular.llm.cost"] = sum(cost)
    return attributes


class RunScope:
    """One run: the ``invoke_workflow`` span, run metrics and the usage block; the executor's observer."""

    __slots__ = (
        "_span",
        "_started",
        "_token",
        "observability",
        "run_context",
        "run_id",
        "trigger",
        "usage",
        "workflow",
    )

    def __init__(
        self,
        observability: Observability,
        *,
        workflow: str,
        version: str,
        run_id: str,
        trigger: str,
        carrier: Mapping[str, str] | None,
    ) -> None:
        self.observability = observability
        self.workflow = workflow
        self.run_id = run_id
        self.trigger = trigger
        self.usage = RunUsage()
        self.run_context: Any = None
        self._span: Any = None
        self._token: object = None
        observability.metrics.add(RUNS_IN_FLIGHT, (workflow,))
        tracing = observability.tracing
        if tracing is not None:
            self._span, self.run_context, self._token = tracing.start_run(
                {
                    "tentacular.workflow.name": workflow,
                    "tentacular.workflow.version": version,
                    "tentacular.run.id": run_id,
                    "tentacular.trigger.type": trigger,
                },
                trigger,
                carrier,
            )
        self._started = time.perf_counter()

    def attempt(self, node: str, attempt: int) -> AttemptProbe:
        return AttemptProbe(self, node, attempt)

    def add_usage(self, node: str, record: UsageRecord) -> None:
        self.usage.add(node, record)
        metrics = self.observability.metrics
        provider = record.provider or ""
        workflow = self.workflow
        metrics.add(TOKENS, (workflow, provider, record.model, "input"), record.input_tokens)
        metrics.add(TOKENS, (workflow, provider, record.model, "output"), record.output_tokens)
        metrics.add(LLM_CALLS, (workflow, record.model))
        if record.cost is not None:
            metrics.add(LLM_COST, (workflow, provider, record.model), record.cost)

    def finish(self, *, success: bool, error: str | None, cancelled: Iterable[str] = ()) -> None:
        """Record the run's outcome (``error`` is already redacted)."""
        duration = time.perf_counter() - self._started
        metrics = self.observability.metrics
        outcome = "success" if success else "failure"
        metrics.add(RUNS_IN_FLIGHT, (self.workflow,), -1.0)
        metrics.add(RUNS, (self.workflow, outcome, self.trigger))
        metrics.observe(RUN_DURATION, (self.workflow, outcome), duration)
        span = self._span
        if span is not None:
            tracing = self.observability.tracing
            assert tracing is not None
            span.set_attribute("tentacular.run.outcome", outcome)
            span.set_attribute("tentacular.run.duration_ms", round(duration * 1000, 3))
            stopped = sorted(cancelled)
            if stopped:
                span.set_attribute("tentacular.run.cancelled", stopped)
            if self.usage:
                span.set_attributes(_genai_attributes([record for _, record in self.usage.records]))
            tracing.end_run(span, self._token, success=success, message=error)

    def usage_block(self) -> dict[str, Any] | None:
        return self.usage.to_dict() if self.usage else None


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
        metric_reader: Any = None,
    ) -> Observability:
        """From workflow.yaml and ``OTEL_*``; test hooks take an in-memory exporter or reader."""
        settings = resolve_settings(workflow.telemetry, name=workflow.name, version=workflow.version, env=env)
        if span_exporter is not None or span_processor is not None:
            settings = _with_exporter(settings)
        observability = cls(settings)
        if settings.enabled:
            from tentacular.engine._telemetry._tracing import Tracing

            observability.tracing = Tracing(
                settings, observability.metrics, exporter=span_exporter, processor=span_processor
            )
            observability.tracing.redact = observability.redact
            observability._closers.append(observability.tracing.shutdown)
            injected = span_exporter is not None or span_processor is not None
            if metric_reader is not None or (settings.export_metrics and not injected):
                from tentacular.engine._telemetry._otel_metrics import OtelMetricsSink

                sink = OtelMetricsSink(
                    settings, observability.tracing.provider.resource, reader=metric_reader
                )
                observability.metrics.sinks.append(sink)
                observability._closers.append(sink.shutdown)
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

    def current_ids(self) -> tuple[str, str] | None:
        tracing = self.tracing
        return tracing.current_ids() if tracing is not None else None

    def shutdown(self) -> None:
        """Flush and stop exporters within a bounded time (an absent collector costs ~3 s at most)."""
        closers, self._closers = self._closers, []
        for close in reversed(closers):
            try:
                close()
            except Exception:
                continue


def _with_exporter(settings: TelemetrySettings) -> TelemetrySettings:
    from dataclasses import replace

    return replace(settings, exporter="otlp")


def report_usage(node: str, **arguments: Any) -> UsageRecord:
    """``ctx.usage(...)``: validate, then attach to the running node attempt (if any)."""
    record = usage_record(**arguments)
    probe = CURRENT_ATTEMPT.get()
    if probe is not None and probe.node == node:
        probe.report(record)
    return record
