"""OTLP protobuf encoding of the engine's spans and metrics, written directly to bytes.

The OpenTelemetry SDK spends ~60 µs per span (objects, locks, processors, then
protobuf message building); a trivial run has four spans and costs ~100 µs in
total, so the SDK alone tripled it. Spans here are plain slotted records and this
module writes the OTLP wire format (``opentelemetry/proto/trace/v1`` and
``metrics/v1``) straight from them: constant pieces (attribute pairs that repeat,
span names, the resource) are encoded once and reused. The test suite decodes the
output with the official ``opentelemetry-proto`` classes.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tentacular.engine._telemetry._metrics import EngineMetrics, _Histogram
    from tentacular.engine._telemetry._spans import SpanRecord

_DOUBLE = struct.Struct("<d")
_FIXED64 = struct.Struct("<Q")
_FIXED32 = struct.Struct("<I")
_INT64_MASK = (1 << 64) - 1
_CACHE_LIMIT = 8192
_SMALL = [bytes((n,)) for n in range(128)]


def varint(value: int) -> bytes:
    if value < 128:
        return _SMALL[value]
    if value < 16384:
        return bytes((value & 0x7F | 0x80, value >> 7))
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def field(number: int, payload: bytes) -> bytes:
    """A length-delimited field (strings, bytes, nested messages)."""
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def any_value(value: Any) -> bytes:
    """An ``AnyValue`` message."""
    if isinstance(value, str):
        return field(1, value.encode("utf-8", "replace"))
    if isinstance(value, bool):
        return b"\x10\x01" if value else b"\x10\x00"
    if isinstance(value, int):
        return b"\x18" + varint(value & _INT64_MASK)
    if isinstance(value, float):
        return b"\x21" + _DOUBLE.pack(value)
    if isinstance(value, bytes):
        return field(7, value)
    if isinstance(value, list | tuple):
        return field(5, b"".join(field(1, any_value(item)) for item in value))
    return field(1, str(value).encode("utf-8", "replace"))


_FIELD_CACHE: dict[tuple[int, str, Any, type], bytes] = {}


def _uncached_attribute(number: int, key: str, value: Any) -> bytes:
    return field(number, field(1, key.encode()) + field(2, any_value(value)))


def attribute(number: int, key: str, value: Any) -> bytes:
    """A ``KeyValue`` as field ``number`` of its message; repeated str/int pairs come from a cache."""
    kind = type(value)
    if kind is str or kind is int or kind is bool:
        cache_key = (number, key, value, kind)
        cached = _FIELD_CACHE.get(cache_key)
        if cached is None:
            if len(_FIELD_CACHE) >= _CACHE_LIMIT:
                _FIELD_CACHE.clear()
            cached = _FIELD_CACHE[cache_key] = _uncached_attribute(number, key, value)
        return cached
    return _uncached_attribute(number, key, value)


def attribute_fields(pairs: Iterable[tuple[str, Any]]) -> bytes:
    return b"".join(_uncached_attribute(9, k, v) for k, v in pairs)


_FLOAT_PREFIX: dict[str, bytes] = {}


def float_attribute(key: str, value: float) -> bytes:
    """A double-valued span attribute: a cached prefix and eight bytes."""
    prefix = _FLOAT_PREFIX.get(key)
    if prefix is None:
        key_field = field(1, key.encode())
        body_length = len(key_field) + 11  # value field: tag, length 9, AnyValue tag 0x21, 8 bytes
        prefix = _FLOAT_PREFIX[key] = b"\x4a" + varint(body_length) + key_field + b"\x12\x09\x21"
    return prefix + _DOUBLE.pack(value)


def milliseconds(seconds: float) -> float:
    """A duration attribute's value (rounding it cost ~1 000 instructions a span: it is a double)."""
    return seconds * 1000.0


NODE_DURATION_KEY = float_attribute("tentacular.node.duration_ms", 0.0)[:-8]
_RUN_DURATION_KEY = float_attribute("tentacular.run.duration_ms", 0.0)[:-8]


def attributes(number: int, items: Mapping[str, Any]) -> bytes:
    return b"".join([attribute(number, key, value) for key, value in items.items()])


def resource(items: Mapping[str, Any]) -> bytes:
    """A ``Resource`` message (field 1 of ResourceSpans / ResourceMetrics)."""
    return b"".join(_uncached_attribute(1, key, value) for key, value in items.items())


def scope(name: str, version: str) -> bytes:
    """An ``InstrumentationScope`` message."""
    return field(1, name.encode()) + (field(2, version.encode()) if version else b"")


# --- traces ----------------------------------------------------------------------------------

_NAME_CACHE: dict[str, bytes] = {}


def _name(name: str) -> bytes:
    cached = _NAME_CACHE.get(name)
    if cached is None:
        if len(_NAME_CACHE) >= _CACHE_LIMIT:
            _NAME_CACHE.clear()
        cached = _NAME_CACHE[name] = field(5, name.encode("utf-8", "replace"))
    return cached


def _event(time_ns: int, name: str, items: Mapping[str, Any] | None) -> bytes:
    body = b"\x09" + _FIXED64.pack(time_ns) + field(2, name.encode())
    if items:
        body += attributes(3, items)
    return body


_IDS = struct.Struct(">H16sHQ")  # tag, trace id, tag, span id: big-endian like the W3C hex
_IDS_PARENT = struct.Struct(">H16sHQHQ")  # ... and the parent span id
_TIMES = struct.Struct("<BBBQBQ")  # kind, start and end (fixed64 little-endian)
FLAGS_LOCAL = b"\x85\x01" + _FIXED32.pack(0x101)  # sampled | HAS_IS_REMOTE
FLAGS_REMOTE = b"\x85\x01" + _FIXED32.pack(0x301)  # ... | IS_REMOTE (a caller's parent)


def name_field(name: str) -> bytes:
    return _name(name)


def framed(body: bytes) -> bytes:
    """A ``Span`` as field 2 of ``ScopeSpans``: what the export queue holds."""
    return b"\x12" + varint(len(body)) + body


def run_id_field(run_id: str) -> bytes:
    """The ``tentacular.run.id`` attribute: unique per run, so never cached (a cache would only churn)."""
    value = run_id.encode("utf-8", "replace")
    return _run_id_prefix(len(value)) + value


def _run_id_prefix(length: int) -> bytes:
    prefix = _RUN_ID_PREFIX.get(length)
    if prefix is None:  # tags and lengths depend only on the id's length
        whole = field(9, field(1, b"tentacular.run.id") + field(2, field(1, b"\0" * length)))
        prefix = _RUN_ID_PREFIX[length] = whole[: len(whole) - length]
    return prefix


_RUN_ID_PREFIX: dict[int, bytes] = {}


# What a run's ``execute_node`` spans share (``fixed_span``'s ``part``), packed once per run by
# ``RunScope``: ``NODE_PART(0x0A10, trace id bytes, 0x2208, the run's span id, NODE_DURATION_KEY)``,
# the trace id, the parent span id and the duration attribute's key.
NODE_PART = struct.Struct(f">H16sHQ{len(NODE_DURATION_KEY)}s").pack


def run_part(run_id: str, node_part: bytes, parent_id: int) -> bytes:
    """The ``invoke_workflow`` span's ``part``: the run id attribute, the trace id (``node_part``'s
    first field), the caller's span as parent (if any) and the duration attribute's key."""
    value = run_id.encode("utf-8", "replace")
    prefix = _RUN_ID_PREFIX.get(len(value)) or _run_id_prefix(len(value))
    if parent_id:
        parent = b"\x22\x08" + parent_id.to_bytes(8, "big")
        return b"".join((prefix, value, node_part[:18], parent, _RUN_DURATION_KEY))
    return b"".join((prefix, value, node_part[:18], _RUN_DURATION_KEY))


FixedSpan = tuple[Callable[..., bytes], bytes]


def fixed_span(constant: bytes, kind: int, part_length: int, *, wire_id: bool = False) -> FixedSpan:
    """A prebuilt layout for a span whose variable fields all have a fixed width.

    ``pack(head, start, 0x41, end, part, duration_ms, 0x0812, span_id)`` (called in ``_run``)
    gives the framed span: length prefix, the constant fields (name, attributes that repeat,
    flags), kind, start, end, the run's ``node_part`` or ``run_part`` (which end with the duration
    attribute's key), the duration and the span id: its eight bytes, or with ``wire_id`` an int
    packed little-endian (a node attempt's ``wire_id``). Protobuf fields may come in any order, so
    the constant ones lead.
    """
    head = constant + bytes((0x30, kind, 0x39))
    length = len(head) + 8 + 1 + 8 + part_length + 8 + 2 + 8
    head = b"\x12" + varint(length) + head
    layout = struct.Struct(f"<{len(head)}sQBQ{part_length}sdH{'Q' if wire_id else '8s'}")
    return layout.pack, head


def span(record: SpanRecord) -> bytes:
    """One ``Span`` message (protobuf fields may come in any order: the constant ones are one blob)."""
    trace_id = record.trace_id.to_bytes(16, "big")
    parent = record.parent_id
    if parent:
        head = _IDS_PARENT.pack(0x0A10, trace_id, 0x1208, record.span_id, 0x2208, parent)
    else:
        head = _IDS.pack(0x0A10, trace_id, 0x1208, record.span_id)
    body = (
        head
        + _TIMES.pack(0x30, record.kind, 0x39, record.start_ns, 0x41, record.end_ns)
        + record.wire_fields()
    )
    if record.status_code or record.events or record.trace_state:
        body += _rare_fields(record)
    return body


def _rare_fields(record: SpanRecord) -> bytes:
    parts = []
    if record.trace_state:
        parts.append(field(3, record.trace_state.encode()))
    for time_ns, name, items in record.events or ():
        event = _event(time_ns, name, items)
        parts.append(b"\x5a" + varint(len(event)) + event)
    if record.status_code:
        status = b"\x18" + _SMALL[record.status_code]
        if record.status_message:
            status = field(2, record.status_message.encode("utf-8", "replace")) + status
        parts.append(b"\x7a" + varint(len(status)) + status)
    return b"".join(parts)


def trace_request(resource_bytes: bytes, scope_bytes: bytes, spans: list[bytes]) -> bytes:
    """An ``ExportTraceServiceRequest`` with every (``framed``) span under one resource and scope."""
    body = b"".join(spans)
    scope_field = field(1, scope_bytes)
    resource_field = field(1, resource_bytes)
    scope_spans_prefix = b"\x12" + varint(len(scope_field) + len(body))
    resource_spans_size = len(resource_field) + len(scope_spans_prefix) + len(scope_field) + len(body)
    return b"".join(
        (b"\x0a", varint(resource_spans_size), resource_field, scope_spans_prefix, scope_field, body)
    )


# --- metrics ---------------------------------------------------------------------------------


def _number_point(labels: Mapping[str, str], start: int, now: int, value: float) -> bytes:
    return (
        b"\x11"
        + _FIXED64.pack(start)
        + b"\x19"
        + _FIXED64.pack(now)
        + b"\x21"
        + _DOUBLE.pack(value)
        + attributes(7, labels)
    )


def _histogram_point(
    labels: Mapping[str, str], start: int, now: int, bounds: Sequence[float], histogram: _Histogram
) -> bytes:
    counts = b"".join(_FIXED64.pack(count) for count in histogram.counts)
    explicit = b"".join(_DOUBLE.pack(bound) for bound in bounds)
    return (
        b"\x11"
        + _FIXED64.pack(start)
        + b"\x19"
        + _FIXED64.pack(now)
        + b"\x21"
        + _FIXED64.pack(histogram.count)
        + b"\x29"
        + _DOUBLE.pack(histogram.total)
        + field(6, counts)
        + field(7, explicit)
        + attributes(9, labels)
    )


def metrics_request(
    resource_bytes: bytes, scope_bytes: bytes, metrics: EngineMetrics, start: int, now: int
) -> bytes | None:
    """An ``ExportMetricsServiceRequest`` of every series (cumulative since ``start``), or None if empty."""
    from tentacular.engine._telemetry._metrics import CATALOGUE

    extra = metrics.collected_extra()
    encoded: list[bytes] = []
    for metric in CATALOGUE:
        head = field(1, metric.name.encode()) + field(2, metric.help.encode())
        if metric.unit:
            head += field(3, metric.unit.encode())
        if metric.kind == "histogram":
            series = list(metrics.histograms.get(metric.name, {}).items())
            if not series:
                continue
            points = b"".join(
                field(
                    1,
                    _histogram_point(
                        dict(zip(metric.labels, labels, strict=True)), start, now, metric.buckets, histogram
                    ),
                )
                for labels, histogram in series
            )
            encoded.append(head + field(9, points + b"\x10\x02"))  # CUMULATIVE
            continue
        values = dict(metrics.values.get(metric.name, {}))
        for labels, value in extra.get(metric.name, {}).items():
            values[labels] = values.get(labels, 0.0) + value
        if not values:
            continue
        points = b"".join(
            field(1, _number_point(dict(zip(metric.labels, labels, strict=True)), start, now, value))
            for labels, value in values.items()
        )
        monotonic = b"\x18\x01" if metric.kind == "counter" else b"\x18\x00"
        encoded.append(head + field(7, points + b"\x10\x02" + monotonic))
    if not encoded:
        return None
    scope_metrics = field(1, scope_bytes) + b"".join(field(2, metric) for metric in encoded)
    resource_metrics = field(1, resource_bytes) + field(2, scope_metrics)
    return field(1, resource_metrics)
