"""Span records and W3C trace context: what the hot path does while tracing is on.

A span is a slotted record (span id, times; events and an error status, which few
spans have, in a separate ``_Rare``). The run's ``RunScope`` and each node attempt's
``AttemptProbe`` *are* span records (``_run``); an attempt shares its run's trace
context, so a traced attempt costs one random id and two clock reads. Attribute
dictionaries are built only for the SDK bridge and the generic encoder (``_wire``).
Client spans of outbound HTTP are plain
``Span`` records with an attribute dict. Finished sampled records go to a sink: the
OTLP exporter's bounded queue (``_export``) or an OpenTelemetry SDK processor
(``_sdk``, tests and embedders). Sampling follows the SDK's
``ParentBased(TraceIdRatioBased(ratio))``; unsampled spans keep their ids so
``traceparent`` still propagates (sampled flag off) and are never exported.
"""

from __future__ import annotations

import random
import re
import time
import traceback
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from typing import Any, Protocol

INTERNAL, SERVER, CLIENT, PRODUCER, CONSUMER = 1, 2, 3, 4, 5
STATUS_OK, STATUS_ERROR = 1, 2
_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?")
ID_LIMIT = (1 << 64) - 1
new_id = random.getrandbits  # the module's generator is reseeded after fork
now_ns = time.time_ns

CURRENT_SPAN: ContextVar[SpanRecord | None] = ContextVar("tentacular_span", default=None)


Event = tuple[int, str, dict[str, Any] | None]


class _Rare:
    """Events and an error status: set on few spans, so they live outside the record (fewer stores)."""

    __slots__ = ("events", "status_code", "status_message")

    def __init__(self) -> None:
        self.events: list[Event] | None = None
        self.status_code = 0
        self.status_message: str | None = None


class SpanRecord:
    """What every exported span has; subclasses say their name, kind, attributes and trace context."""

    __slots__ = ("end_ns", "rare", "start_ns")
    name: str
    kind: int
    start_ns: int
    end_ns: int
    rare: _Rare | None

    @property
    def trace_id(self) -> int:
        raise NotImplementedError

    @property
    def span_id(self) -> int:
        raise NotImplementedError

    @property
    def parent_id(self) -> int:
        raise NotImplementedError

    @property
    def sampled(self) -> bool:
        raise NotImplementedError

    @property
    def trace_state(self) -> str | None:
        raise NotImplementedError

    @property
    def remote_parent(self) -> bool:
        return False

    @property
    def events(self) -> list[Event] | None:
        rare = self.rare
        return rare.events if rare is not None else None

    @property
    def status_code(self) -> int:
        rare = self.rare
        return rare.status_code if rare is not None else 0

    @property
    def status_message(self) -> str | None:
        rare = self.rare
        return rare.status_message if rare is not None else None

    def attribute_map(self) -> dict[str, Any]:
        """The attributes as a dict (SDK bridge, generic encoding)."""
        raise NotImplementedError

    def wire_fields(self) -> bytes:
        """OTLP ``Span`` fields besides ids, kind and times: name, attributes, flags."""
        from tentacular.engine._telemetry import _wire

        flags = _wire.FLAGS_REMOTE if self.remote_parent else _wire.FLAGS_LOCAL
        return _wire.name_field(self.name) + _wire.attributes(9, self.attribute_map()) + flags

    def otlp(self) -> bytes:
        """The framed OTLP ``Span`` (what the exporter queues); subclasses use prebuilt layouts."""
        from tentacular.engine._telemetry import _wire

        return _wire.framed(_wire.span(self))

    def _rare(self) -> _Rare:
        rare = self.rare
        if rare is None:
            rare = self.rare = _Rare()
        return rare

    def add_event(self, name: str, attributes: dict[str, Any] | None = None) -> None:
        rare = self._rare()
        if rare.events is None:
            rare.events = []
        rare.events.append((now_ns(), name, attributes))

    def set_error(self, message: str | None) -> None:
        rare = self._rare()
        rare.status_code = STATUS_ERROR
        rare.status_message = message

    def traceparent(self) -> str:
        return f"00-{self.trace_id:032x}-{self.span_id:016x}-{'01' if self.sampled else '00'}"

    def ids(self) -> tuple[str, str]:
        return format(self.trace_id, "032x"), format(self.span_id, "016x")


class OwnContext(SpanRecord):
    """A span that holds its own trace context (runs, client spans); node attempts share their run's."""

    __slots__ = ("parent_id", "remote_parent", "sampled", "span_id", "trace_id", "trace_state")
    # Slots here; a node attempt reads its run's (properties on SpanRecord and AttemptProbe).
    span_id: int
    trace_id: int
    parent_id: int
    sampled: bool
    trace_state: str | None
    remote_parent: bool

    def begin(self, trace_id: int, parent_id: int, sampled: bool, trace_state: str | None) -> None:
        self.trace_id = trace_id
        self.span_id = new_id(64) or 1
        self.parent_id = parent_id
        self.sampled = sampled
        self.trace_state = trace_state
        self.remote_parent = False
        self.rare = None
        self.end_ns = 0
        self.start_ns = now_ns()


class Span(OwnContext):
    """A span with a free-form attribute dict (outbound HTTP client spans)."""

    __slots__ = ("attributes", "kind", "name")

    def __init__(
        self, name: str, kind: int, parent: SpanRecord | None, attributes: dict[str, Any], tracing: Tracing
    ) -> None:
        self.name = name
        self.kind = kind
        self.attributes = attributes
        if parent is not None:
            self.begin(parent.trace_id, parent.span_id, parent.sampled, parent.trace_state)
        else:
            trace_id = new_id(128) or 1
            self.begin(trace_id, 0, tracing.sampled(trace_id), None)

    def attribute_map(self) -> dict[str, Any]:
        return self.attributes

    def set_attribute(self, key: str, value: Any) -> None:
        self.attributes[key] = value

    def set_attributes(self, attributes: Mapping[str, Any]) -> None:
        self.attributes.update(attributes)


class SpanSink(Protocol):
    def submit(self, span: SpanRecord) -> None: ...
    def shutdown(self) -> None: ...


def parse_traceparent(carrier: Mapping[str, str]) -> tuple[int, int, bool, str | None] | None:
    """``(trace id, parent span id, sampled, tracestate)`` of a valid W3C ``traceparent``, else None."""
    header = carrier.get("traceparent")
    if not header:
        return None
    match = _TRACEPARENT.fullmatch(header.strip().lower())
    if match is None:
        return None
    version, trace_hex, span_hex, flags, rest = match.groups()
    if version == "ff" or (version == "00" and rest):
        return None
    trace_id, span_id = int(trace_hex, 16), int(span_hex, 16)
    if not trace_id or not span_id:
        return None
    state = carrier.get("tracestate")
    return trace_id, span_id, bool(int(flags, 16) & 1), (state.strip() or None) if state else None


def run_kind(trigger: str, *, remote: bool) -> int:
    """CONSUMER for a queue message, SERVER when a caller's trace continues or a webhook, else INTERNAL."""
    if trigger == "queue":
        return CONSUMER
    return SERVER if remote or trigger == "webhook" else INTERNAL


class Tracing:
    """Sampling, the sink, and the outbound-HTTP span operations."""

    def __init__(self, sink: SpanSink, *, sampling_ratio: float = 1.0) -> None:
        self.sink = sink
        self.submit = sink.submit
        # ``submit_run(count, encoded)``: a sink that queues OTLP bytes takes a run's spans at once.
        self.submit_run: Callable[[int, bytes], None] | None = getattr(sink, "submit_run", None)
        self.redact: Callable[[str], str] | None = None
        self.bound = round(sampling_ratio * (1 << 64))  # sampled: the trace id's low 64 bits below it
        self.always = self.bound > ID_LIMIT

    def sampled(self, trace_id: int) -> bool:
        return self.always or (trace_id & ID_LIMIT) < self.bound

    def begin_run(self, record: OwnContext, carrier: Mapping[str, str] | None) -> bool:
        """Give a run's record its ids (continuing ``carrier``'s trace); True if it is a remote child."""
        remote = parse_traceparent(carrier) if carrier else None
        if remote is not None:
            trace_id, parent_id, sampled, state = remote
            record.begin(trace_id, parent_id, sampled, state)
            record.remote_parent = True
            return True
        outer = CURRENT_SPAN.get()
        if outer is not None:
            record.begin(outer.trace_id, outer.span_id, outer.sampled, outer.trace_state)
        else:
            trace_id = new_id(128) or 1
            record.begin(trace_id, 0, self.sampled(trace_id), None)
        return False

    # --- outbound HTTP -------------------------------------------------------------------

    def start_client(
        self, method: str, url: str, host: str, port: int | None, *, parent: SpanRecord | None = None
    ) -> Span:
        """A CLIENT span under ``parent`` (the node attempt), else under the current run."""
        attributes: dict[str, Any] = {"http.request.method": method, "url.full": url, "server.address": host}
        if port is not None:
            attributes["server.port"] = port
        return Span(method, CLIENT, parent if parent is not None else CURRENT_SPAN.get(), attributes, self)

    def inject(self, span: SpanRecord, headers: Any) -> None:
        headers["traceparent"] = span.traceparent()
        if span.trace_state:
            headers["tracestate"] = span.trace_state

    def end_client(self, span: Span, status: int | None, error: BaseException | None) -> None:
        if status is not None:
            span.attributes["http.response.status_code"] = status
            if status >= 400:
                span.set_error(f"HTTP {status}")
        if error is not None:
            span.attributes["error.type"] = type(error).__name__
            record_exception(span, error, self.redact)
            span.set_error(type(error).__name__)
        span.end_ns = now_ns()
        if span.sampled:
            self.submit(span)

    def shutdown(self) -> None:
        self.sink.shutdown()


def record_exception(span: SpanRecord, error: BaseException, redact: Callable[[str], str] | None) -> None:
    """An ``exception`` event with the message and stack trace passed through the secrets redactor."""
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
