"""The OTLP exporter's fixed-layout span encoding (one struct pack per span) against the generic
encoder: decoded with opentelemetry-proto, every span must be the same message."""

from __future__ import annotations

import itertools
import types
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from opentelemetry.proto.trace.v1.trace_pb2 import ScopeSpans

from tentacular.engine._telemetry import Observability, _attempt, _run, _spans
from tentacular.engine._telemetry._spans import SpanRecord, Tracing

CALLER = {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}


class Collect:
    """A sink that takes encoded runs the way the OTLP exporter does."""

    def __init__(self) -> None:
        self.runs: list[tuple[int, bytes]] = []
        self.spans: list[SpanRecord] = []

    def submit(self, span: SpanRecord) -> None:
        self.spans.append(span)

    def submit_run(self, count: int, spans: bytes) -> None:
        self.runs.append((count, spans))

    def shutdown(self) -> None:
        pass


def decoded(data: bytes) -> list[Any]:
    return list(ScopeSpans.FromString(data).spans)


class Generic(Collect):
    """A sink without ``submit_run``: every span arrives as a record, for the generic encoder."""

    submit_run = None  # type: ignore[assignment]


def scripted_run(sink: Collect, trigger: str, carrier: dict[str, str] | None, run_id: str) -> None:
    observability = Observability()
    observability.tracing = Tracing(sink)
    scope = observability.begin_run(
        workflow="wf", version="1.2", run_id=run_id, trigger=trigger, carrier=carrier
    )
    for node, attempt, outcome in (("a", 0, "ok"), ("b", 1, "ok"), ("c", 0, "ok")):
        scope.attempt(node, attempt).end(outcome, None, None)
    scope.finish(success=True, error=None)


@pytest.fixture
def repeatable(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], None]]:
    """Ids, wall clock and durations that repeat from one scripted run to the next."""

    def restart() -> None:
        ids, times, ticks = (
            itertools.count(0x1234_5678_9ABC_DEF0),
            itertools.count(1_700_000_000_000_000_000, 1_000_003),
            itertools.count(0.0, 0.25),
        )
        for module in (_attempt, _run, _spans):
            monkeypatch.setattr(module, "new_id", lambda bits: next(ids) << (bits - 64))
            monkeypatch.setattr(module, "now_ns", lambda: next(times))
        clock = types.SimpleNamespace(perf_counter=lambda: next(ticks))
        monkeypatch.setattr(_attempt, "time", clock)
        monkeypatch.setattr(_run, "time", clock)

    restart()
    yield restart


@pytest.mark.parametrize(
    ("trigger", "carrier", "run_id"),
    [
        ("manual", None, "5f1c0e9a2b44"),
        ("webhook", CALLER, "a-much-longer-caller-supplied-run-id"),
        ("cron", None, "r"),
    ],
)
def test_fixed_layout_spans_equal_the_generic_encoding(
    repeatable: Callable[[], None], trigger: str, carrier: dict[str, str] | None, run_id: str
) -> None:
    sink = Collect()
    scripted_run(sink, trigger, carrier, run_id)
    [(count, data)] = sink.runs
    assert count == 4 and not sink.spans
    repeatable()  # the same ids and times again, each span encoded by the generic encoder
    generic_sink = Generic()
    scripted_run(generic_sink, trigger, carrier, run_id)
    generic_bytes = b"".join(SpanRecord.otlp(record) for record in generic_sink.spans)
    assert data != generic_bytes  # the fixed layouts were used (their fields come in another order)
    fast = decoded(data)
    generic = decoded(generic_bytes)
    assert fast == generic
    assert [span.name for span in fast] == ["execute_node"] * 3 + ["invoke_workflow"]
    assert all(span.parent_span_id == fast[-1].span_id for span in fast[:3])
    assert len({span.span_id for span in fast}) == 4


def test_failed_attempts_and_runs_take_the_generic_encoding() -> None:
    sink = Collect()
    observability = Observability()
    observability.tracing = Tracing(sink)
    scope = observability.begin_run(workflow="wf", version="1", run_id="x", trigger="manual", carrier=None)
    probe = scope.attempt("a", 0)
    probe.end("error", ValueError("broken"), "broken")
    scope.finish(success=False, error="broken", cancelled=["b"])
    [(count, data)] = sink.runs
    node, run = decoded(data)
    assert count == 2 and node.status.code == 2 and [e.name for e in node.events] == ["exception"]
    assert run.status.code == 2 and run.status.message == "broken"
    assert {a.key for a in run.attributes} >= {"tentacular.run.cancelled", "tentacular.run.id"}


def test_a_clock_stepped_back_during_an_attempt_gives_a_zero_duration(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Tracing on, durations are the spans' wall-clock differences: never negative in the metrics."""
    times = iter([2_000_000_000, 3_000_000_000, 1_000_000_000, 1_500_000_000])  # run, node, node end, run end
    for module in (_attempt, _run):
        monkeypatch.setattr(module, "now_ns", lambda: next(times))
    observability = Observability()
    observability.tracing = Tracing(Collect())
    scope = observability.begin_run(workflow="wf", version="1", run_id="x", trigger="manual", carrier=None)
    scope.attempt("a", 0).end("ok", None, None)
    scope.finish(success=True, error=None)
    node = observability.metrics.histograms["tentacular_node_duration_seconds"][("wf", "a", "ok")]
    run = observability.metrics.histograms["tentacular_run_duration_seconds"][("wf", "success")]
    assert (node.count, node.total, run.count, run.total) == (1, 0.0, 1, 0.0)
