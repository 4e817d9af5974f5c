"""One run's telemetry: ``RunScope`` (the executor's observer), one ``AttemptProbe`` per attempt.

Both are span records (``invoke_workflow`` and ``execute_node``) when tracing is on:
they get ids and times in place, no separate span object. With the OTLP exporter each
first attempt that succeeds is encoded as it ends, with one ``struct`` pack into a
layout prebuilt per (workflow, node), and the run's span when it finishes, into one
prebuilt per (workflow, version, trigger, outcome, kind) (``_wire.fixed_span``); the
run's spans then go to the export queue as one entry. Failed and retried attempts,
usage attributes and a caller's ``tracestate`` take the generic encoder. Tracing on,
a duration is the difference of the span's own wall-clock times (one clock read at
each end, as the OpenTelemetry SDK's spans have; a step of the system clock during
an attempt can skew that one observation, clamped at zero); tracing off, it comes
from ``time.perf_counter``. With tracing off they only update the always-on metrics
and collect usage records.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from contextvars import Token
from typing import TYPE_CHECKING, Any

from tentacular.engine._telemetry import _wire
from tentacular.engine._telemetry._attempt import AttemptProbe
from tentacular.engine._telemetry._attributes import (
    NODE_LAYOUTS,
    RUN_LAYOUTS,
    genai_attributes,
    new_layout,
    node_constant,
    node_layouts,
    run_constant,
)
from tentacular.engine._telemetry._metrics import (
    LLM_CALLS,
    LLM_COST,
    RUN_DURATION,
    RUNS,
    RUNS_IN_FLIGHT,
    TOKENS,
)
from tentacular.engine._telemetry._spans import (
    CONSUMER,
    CURRENT_SPAN,
    ID_LIMIT,
    INTERNAL,
    SERVER,
    OwnContext,
    SpanRecord,
    new_id,
    now_ns,
    run_kind,
)
from tentacular.engine._telemetry._usage import RunUsage, UsageRecord

if TYPE_CHECKING:
    from tentacular.engine._telemetry import Observability
    from tentacular.engine._telemetry._spans import Tracing

_OWN_TRACE_KINDS = {"queue": CONSUMER, "webhook": SERVER}  # run_kind() of a run that starts its trace
_NO_LAYOUTS: dict[Any, _wire.FixedSpan] = {}  # stays empty: node_layout() declines without a node_part


class RunScope(OwnContext):
    """One run: run metrics, the usage block and (tracing on) the ``invoke_workflow`` span."""

    __slots__ = (
        "_started",
        "_token",
        "cancelled",
        "duration",
        "encoded",
        "extra",
        "kind",
        "node_layouts",
        "node_part",
        "observability",
        "outcome",
        "run_id",
        "traced",
        "trigger",
        "usage",
        "version",
        "workflow",
    )
    name = "invoke_workflow"

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
        self.version = version
        self.run_id = run_id
        self.trigger = trigger
        self.usage = RunUsage()
        observability.metrics.add(RUNS_IN_FLIGHT, (workflow,))
        tracing = observability.tracing
        self.traced = tracing is not None
        if tracing is not None:
            self.cancelled: list[str] | None = None
            self.extra: dict[str, Any] | None = None
            self._begin_span(tracing, carrier)  # start_ns: the run's duration comes from it too
        else:
            self._started = time.perf_counter()

    def _begin_span(self, tracing: Tracing, carrier: Mapping[str, str] | None) -> None:
        if carrier is None and CURRENT_SPAN.get() is None:
            # The common run, a trace of its own: OwnContext.begin and Tracing.sampled, inlined.
            self.trace_id = trace_id = new_id(128) or 1
            self.span_id = new_id(64) or 1
            self.parent_id = 0
            self.trace_state = None
            self.remote_parent = False
            self.sampled = tracing.always or (trace_id & ID_LIMIT) < tracing.bound
            self.start_ns = now_ns()
            self.kind = _OWN_TRACE_KINDS.get(self.trigger, INTERNAL)
        else:
            self.kind = run_kind(self.trigger, remote=tracing.begin_run(self, carrier))
        self.rare = None
        self.end_ns = 0
        self._token: Token[SpanRecord | None] = CURRENT_SPAN.set(self)
        # An OTLP exporter takes a run's spans as one queue entry: each attempt is encoded as it
        # ends, with what the node spans share (trace id, parent) encoded once here. A caller's
        # tracestate takes the generic encoding, for which the layouts stay empty.
        if tracing.submit_run is not None and self.sampled:
            self.encoded: list[bytes] | None = []
            if self.trace_state:
                self.node_part = None
                self.node_layouts: dict[str, _wire.FixedSpan] = _NO_LAYOUTS
            else:
                # _wire.node_part, inlined (once per run, but a call measured ~0.1 % of a /run)
                self.node_part = _wire.NODE_PART(
                    0x0A10, self.trace_id.to_bytes(16, "big"), 0x2208, self.span_id, _wire.NODE_DURATION_KEY
                )
                self.node_layouts = NODE_LAYOUTS.get(self.workflow) or node_layouts(self.workflow)
        else:
            self.encoded = self.node_part = None
            self.node_layouts = _NO_LAYOUTS

    def node_layout(self, node: str) -> _wire.FixedSpan | None:
        """Build (and keep) the layout of a first, ok ``execute_node`` span; None: the generic encoding."""
        part = self.node_part
        if part is None:
            return None
        constant = node_constant(self.workflow, node, 0, "ok")
        layout = self.node_layouts[node] = _wire.fixed_span(constant, INTERNAL, len(part), wire_id=True)
        return layout

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
        traced = self.traced
        if traced:
            self.end_ns = end_ns = now_ns()
            duration = (end_ns - self.start_ns) * 1e-9
            if duration < 0.0:
                duration = 0.0  # the system clock stepped back during the run
        else:
            duration = time.perf_counter() - self._started
        metrics = self.observability.metrics
        outcome = "success" if success else "failure"
        metrics.add(RUNS_IN_FLIGHT, (self.workflow,), -1.0)
        metrics.add(RUNS, (self.workflow, outcome, self.trigger))
        metrics.observe(RUN_DURATION, (self.workflow, outcome), duration)
        if not traced:
            return
        self.duration = duration
        self.outcome = outcome
        if cancelled:
            self.cancelled = sorted(cancelled)
        if self.usage.records:
            self.extra = genai_attributes([record for _, record in self.usage.records])
        if not success:
            self.set_error(error)
        CURRENT_SPAN.reset(self._token)
        if self.sampled:
            tracing = self.observability.tracing
            assert tracing is not None
            encoded = self.encoded
            if encoded is None:
                tracing.submit(self)
                return
            self.encoded = None  # an attempt that ends after this (a timed-out thread) submits itself
            if self.extra or self.rare is not None or self.cancelled or self.node_part is None:
                encoded.append(SpanRecord.otlp(self))
            else:
                encoded.append(self._fixed_otlp())
            assert tracing.submit_run is not None
            tracing.submit_run(len(encoded), b"".join(encoded))

    def usage_block(self) -> dict[str, Any] | None:
        return self.usage.to_dict() if self.usage.records else None

    def attribute_map(self) -> dict[str, Any]:
        attributes: dict[str, Any] = {
            "tentacular.workflow.name": self.workflow,
            "tentacular.workflow.version": self.version,
            "tentacular.run.id": self.run_id,
            "tentacular.trigger.type": self.trigger,
            "tentacular.run.outcome": self.outcome,
            "tentacular.run.duration_ms": _wire.milliseconds(self.duration),
        }
        if self.cancelled:
            attributes["tentacular.run.cancelled"] = self.cancelled
        if self.extra:
            attributes.update(self.extra)
        return attributes

    def _fixed_otlp(self) -> bytes:
        node_part = self.node_part
        assert node_part is not None
        part = _wire.run_part(self.run_id, node_part, self.parent_id)
        remote, kind = self.remote_parent, self.kind
        key = (self.workflow, self.version, self.trigger, self.outcome, remote, kind, len(part))
        layout = RUN_LAYOUTS.get(key)
        if layout is None:
            layout = new_layout(RUN_LAYOUTS, key, self._constant_fields(), self.kind, len(part))
        pack, head = layout
        return pack(
            head,
            self.start_ns,
            0x41,
            self.end_ns,
            part,
            self.duration * 1000.0,
            0x0812,
            self.span_id.to_bytes(8, "big"),
        )

    def _constant_fields(self) -> bytes:
        return run_constant(self.workflow, self.version, self.trigger, self.outcome, self.remote_parent)

    def wire_fields(self) -> bytes:
        encoded = (
            self._constant_fields()
            + _wire.run_id_field(self.run_id)
            + _wire.float_attribute("tentacular.run.duration_ms", _wire.milliseconds(self.duration))
        )
        if self.cancelled:
            encoded += _wire.attribute(9, "tentacular.run.cancelled", self.cancelled)
        if self.extra:
            encoded += _wire.attributes(9, self.extra)
        return encoded
