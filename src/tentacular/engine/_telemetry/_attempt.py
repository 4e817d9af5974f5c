"""A node attempt's telemetry: ``AttemptProbe``, its duration, usage records and (tracing on) its
``execute_node`` span; ``RunScope`` (``_run``) makes one per attempt. See ``_run`` for how spans are
encoded and timed."""

from __future__ import annotations

import time
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from tentacular.engine._telemetry import _wire
from tentacular.engine._telemetry._attributes import genai_attributes, guard_refusal_kind, node_constant
from tentacular.engine._telemetry._metrics import GUARD_REFUSALS, NODE_DURATION, NODE_RETRIES, NODE_TIMEOUTS
from tentacular.engine._telemetry._spans import INTERNAL, SpanRecord, new_id, now_ns, record_exception
from tentacular.engine._telemetry._usage import UsageRecord

if TYPE_CHECKING:
    from tentacular.engine._telemetry._run import RunScope

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
        "wire_id",
    )
    name = "execute_node"
    kind = INTERNAL

    def __init__(self, scope: RunScope, node: str, attempt: int) -> None:
        self.scope = scope
        self.node = node
        self.attempt = attempt
        self.records: list[UsageRecord] | None = None
        self.ended = False
        self.traced = traced = scope.traced
        if attempt:
            scope.observability.metrics.add(NODE_RETRIES, (scope.workflow, node))
        self._var_token = CURRENT_ATTEMPT.set(self)
        if traced:
            # The trace context is the run's (properties below): only the span's own id and start
            # are set here; the rest only when the attempt cannot be encoded as it ends (_settle).
            # The span id as the fixed layout packs it (little-endian: no int.to_bytes per span).
            # One clock, the span's, gives the duration too (module docstring).
            self.wire_id = new_id(64) or 1
            self.start_ns = now_ns()
        else:
            self.started = time.perf_counter()

    @property
    def trace_id(self) -> int:
        return self.scope.trace_id

    @property
    def span_id(self) -> int:
        """The W3C span id: ``wire_id``'s bytes, read big-endian."""
        return int.from_bytes(self.wire_id.to_bytes(8, "little"), "big")

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
        traced = self.traced
        if traced:
            end_ns = now_ns()
            duration = (end_ns - self.start_ns) * 1e-9
            if duration < 0.0:
                duration = 0.0  # the system clock stepped back during the attempt
        else:
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
        if not traced:
            return
        encoded = scope.encoded
        if encoded is not None and outcome == "ok" and not records and not self.attempt:
            # The common attempt (a first one that succeeded): encoded now, into its node's layout.
            layout = scope.node_layouts.get(self.node) or scope.node_layout(self.node)
            if layout is not None:
                pack, head = layout
                encoded.append(
                    pack(
                        head,
                        self.start_ns,
                        0x41,
                        end_ns,
                        scope.node_part,
                        duration * 1000.0,  # _wire.milliseconds, inlined (hot path)
                        0x0812,
                        self.wire_id,
                    )
                )
                return
        self._settle(outcome, error, message, records, end_ns, duration)

    def _settle(
        self,
        outcome: str,
        error: BaseException | None,
        message: str | None,
        records: list[UsageRecord],
        end_ns: int,
        duration: float,
    ) -> None:
        """Fill in the span of an attempt that failed, reported usage or outlived its run."""
        self.end_ns = end_ns
        self.duration = duration
        self.outcome = outcome
        self.rare = None
        self.extra = genai_attributes(records) if records else None
        scope = self.scope
        observability = scope.observability
        if outcome != "ok":
            self._failed(outcome, error, message, observability.redact)
        if scope.sampled:
            encoded = scope.encoded
            if encoded is not None:
                encoded.append(self.otlp())
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
            "tentacular.node.duration_ms": _wire.milliseconds(self.duration),
            "tentacular.node.outcome": self.outcome,
        }
        if self.extra:
            attributes.update(self.extra)
        return attributes

    def _constant_fields(self) -> bytes:
        return node_constant(self.scope.workflow, self.node, self.attempt, self.outcome)

    def wire_fields(self) -> bytes:
        """The generic encoding's fields (failed attempts, usage attributes, a caller's tracestate)."""
        encoded = self._constant_fields() + _wire.float_attribute(
            "tentacular.node.duration_ms", _wire.milliseconds(self.duration)
        )
        if self.extra:
            encoded += _wire.attributes(9, self.extra)
        return encoded
