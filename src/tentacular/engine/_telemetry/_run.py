"""One run's telemetry: ``RunScope`` (the executor's observer) and one ``AttemptProbe`` per node attempt.

Both are span records (``invoke_workflow`` and ``execute_node``) when tracing is on:
they get ids and times in place, no separate span object. With the OTLP exporter the
run keeps its ended attempts and, when it finishes, encodes them and itself with one
``struct`` pack each into layouts prebuilt per (workflow, node, attempt, outcome) and
(workflow, version, trigger, outcome, kind) (``_wire.fixed_span``), then queues the
bytes as one entry. With tracing off they only update the always-on metrics and
collect usage records.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from contextvars import ContextVar, Token
from typing import TYPE_CHECKING, Any

from tentacular.engine._telemetry import _wire
from tentacular.engine._telemetry._attributes import (
    NODE_LAYOUTS,
    RUN_LAYOUTS,
    genai_attributes,
    guard_refusal_kind,
    new_layout,
    node_constant,
    run_constant,
)
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
)
from tentacular.engine._telemetry._spans import (
    CURRENT_SPAN,
    INTERNAL,
    OwnContext,
    SpanRecord,
    new_id,
    now_ns,
    record_exception,
    run_kind,
)
from tentacular.engine._telemetry._usage import RunUsage, UsageRecord

if TYPE_CHECKING:
    from tentacular.engine._telemetry import Observability
    from tentacular.engine._telemetry._spans import Tracing

CURRENT_ATTEMPT: ContextVar[AttemptProbe | None] = ContextVar("tentacular_attempt", default=None)


class AttemptProbe(SpanRecord):
    """One node attempt: its duration, usage records and (tracing on) its ``execute_node`` span."""

    __slots__ = (
        "_var_token",
        "attempt",
        "duration",
        "ended",
        "extra",
        "node",
        "outcome",
        "records",
        "scope",
        "started",
        "traced",
    )
    name = "execute_node"
    kind = INTERNAL

    def __init__(self, scope: RunScope, node: str, attempt: int) -> None:
        self.scope = scope
        self.node = node
        self.attempt = attempt
        self.records: list[UsageRecord] | None = None
        self.ended = False
        self.traced = scope.traced
        if attempt:
            scope.observability.metrics.add(NODE_RETRIES, (scope.workflow, node))
        if self.traced:
            # The trace context is the run's (properties below): only the span's own fields are set.
            self.extra: dict[str, Any] | None = None
            self.rare = None
            self.span_id = new_id(64) or 1
            self.start_ns = now_ns()
        self._var_token = CURRENT_ATTEMPT.set(self)
        self.started = time.perf_counter()

    @property
    def trace_id(self) -> int:
        return self.scope.trace_id

    @property
    def parent_id(self) -> int:
        return self.scope.span_id

    @property
    def sampled(self) -> bool:
        return self.scope.sampled

    @property
    def trace_state(self) -> str | None:
        return self.scope.trace_state

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
        observability = scope.observability
        metrics = observability.metrics
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
        if self.traced:
            self.end_ns = now_ns()
            self.duration = duration
            self.outcome = outcome
            if records:
                self.extra = genai_attributes(records)
            if outcome != "ok":
                self._failed(outcome, error, message, observability.redact)
            if scope.sampled:
                done = scope.done
                if done is not None:
                    done.append(self)  # encoded with the run's span when it finishes
                else:
                    tracing = observability.tracing
                    assert tracing is not None
                    tracing.submit(self)

    def _failed(self, outcome: str, error: BaseException | None, message: str | None, redact: Any) -> None:
        if outcome == "timeout" and message:
            self.add_event("timeout", {"message": message})
        if error is not None:
            record_exception(self, error, redact)
        if outcome == "cancelled":
            self.add_event("cancelled")
        else:
            self.set_error(message or outcome)

    def _settled_records(self) -> list[UsageRecord]:
        records = self.records
        if not records:
            return []
        explicit = [r for r in records if r.source != "recognised"]
        return explicit if explicit else records

    def attribute_map(self) -> dict[str, Any]:
        scope = self.scope
        attributes: dict[str, Any] = {
            "tentacular.workflow.name": scope.workflow,
            "tentacular.node.name": self.node,
            "tentacular.node.attempt": self.attempt + 1,
            "tentacular.run.id": scope.run_id,
            "tentacular.node.duration_ms": _wire.rounded_ms(self.duration),
            "tentacular.node.outcome": self.outcome,
        }
        if self.extra:
            attributes.update(self.extra)
        return attributes

    def otlp(self) -> bytes:
        scope = self.scope
        part = scope.node_part
        if self.extra or self.rare is not None or part is None:
            return SpanRecord.otlp(self)  # the rare shapes: generic encoding
        key = (scope.workflow, self.node, self.attempt, self.outcome, len(part))
        layout = NODE_LAYOUTS.get(key)
        if layout is None:
            layout = new_layout(NODE_LAYOUTS, key, self._constant_fields(), INTERNAL, len(part))
        pack, head = layout
        # Packed here, not through a shared helper: the extra call per span measured ~1.5 % of a
        # trivial3 run (callgrind); the duration is _wire.rounded_ms, inlined for the same reason.
        return pack(
            head,
            self.start_ns,
            0x41,
            self.end_ns,
            part,
            int(self.duration * 1_000_000) / 1000,
            0x0812,
            self.span_id.to_bytes(8, "big"),
        )

    def _constant_fields(self) -> bytes:
        return node_constant(self.scope.workflow, self.node, self.attempt, self.outcome)

    def wire_fields(self) -> bytes:
        """The generic encoding's fields (failed attempts, usage attributes, a caller's tracestate)."""
        encoded = (
            self._constant_fields()
            + _wire.run_id_field(self.scope.run_id)
            + _wire.float_attribute("tentacular.node.duration_ms", _wire.rounded_ms(self.duration))
        )
        if self.extra:
            encoded += _wire.attributes(9, self.extra)
        return encoded


class RunScope(OwnContext):
    """One run: run metrics, the usage block and (tracing on) the ``invoke_workflow`` span."""

    __slots__ = (
        "_started",
        "_token",
        "cancelled",
        "done",
        "duration",
        "extra",
        "kind",
        "node_part",
        "observability",
        "outcome",
        "run_id",
        "run_part",
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
            self._begin_span(tracing, carrier)
        self._started = time.perf_counter()

    def _begin_span(self, tracing: Tracing, carrier: Mapping[str, str] | None) -> None:
        self.kind = run_kind(self.trigger, remote=tracing.begin_run(self, carrier))
        self._token: Token[SpanRecord | None] = CURRENT_SPAN.set(self)
        # An OTLP exporter takes a run's spans as one queue entry, encoded when the run ends, with
        # what they share encoded once here (a caller's tracestate: the generic encoding).
        if tracing.submit_run is not None and self.sampled:
            self.done: list[SpanRecord] | None = []
            if self.trace_state:
                self.node_part = self.run_part = None
            else:
                self.node_part, self.run_part = _wire.run_parts(
                    self.run_id, self.trace_id, self.span_id, self.parent_id
                )
        else:
            self.done = self.node_part = self.run_part = None

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
        if not self.traced:
            return
        self.end_ns = now_ns()
        self.duration = duration
        self.outcome = outcome
        if cancelled:
            self.cancelled = sorted(cancelled)
        if self.usage:
            self.extra = genai_attributes([record for _, record in self.usage.records])
        if not success:
            self.set_error(error)
        CURRENT_SPAN.reset(self._token)
        if self.sampled:
            tracing = self.observability.tracing
            assert tracing is not None
            done = self.done
            if done is None:
                tracing.submit(self)
                return
            self.done = None  # an attempt that ends after this (a timed-out thread) submits itself
            done.append(self)
            assert tracing.submit_run is not None
            tracing.submit_run(len(done), b"".join([span.otlp() for span in done]))

    def usage_block(self) -> dict[str, Any] | None:
        return self.usage.to_dict() if self.usage else None

    def attribute_map(self) -> dict[str, Any]:
        attributes: dict[str, Any] = {
            "tentacular.workflow.name": self.workflow,
            "tentacular.workflow.version": self.version,
            "tentacular.run.id": self.run_id,
            "tentacular.trigger.type": self.trigger,
            "tentacular.run.outcome": self.outcome,
            "tentacular.run.duration_ms": _wire.rounded_ms(self.duration),
        }
        if self.cancelled:
            attributes["tentacular.run.cancelled"] = self.cancelled
        if self.extra:
            attributes.update(self.extra)
        return attributes

    def otlp(self) -> bytes:
        part = self.run_part
        if self.extra or self.rare is not None or self.cancelled or part is None:
            return SpanRecord.otlp(self)
        remote, kind = self.remote_parent, self.kind
        key = (self.workflow, self.version, self.trigger, self.outcome, remote, kind, len(part))
        layout = RUN_LAYOUTS.get(key)
        if layout is None:
            layout = new_layout(RUN_LAYOUTS, key, self._constant_fields(), self.kind, len(part))
        pack, head = layout
        # Packed here, not through a shared helper: the extra call per span measured ~1.5 % of a
        # trivial3 run (callgrind); the duration is _wire.rounded_ms, inlined for the same reason.
        return pack(
            head,
            self.start_ns,
            0x41,
            self.end_ns,
            part,
            int(self.duration * 1_000_000) / 1000,
            0x0812,
            self.span_id.to_bytes(8, "big"),
        )

    def _constant_fields(self) -> bytes:
        return run_constant(self.workflow, self.version, self.trigger, self.outcome, self.remote_parent)

    def wire_fields(self) -> bytes:
        encoded = (
            self._constant_fields()
            + _wire.run_id_field(self.run_id)
            + _wire.float_attribute("tentacular.run.duration_ms", _wire.rounded_ms(self.duration))
        )
        if self.cancelled:
            encoded += _wire.attribute(9, "tentacular.run.cancelled", self.cancelled)
        if self.extra:
            encoded += _wire.attributes(9, self.extra)
        return encoded
