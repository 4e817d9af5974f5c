"""The engine's metrics: plain counters and histograms, rendered as Prometheus text on ``/metrics``.

Recording is a dictionary update under no lock (the event loop is single-threaded;
the few calls from other threads add to integers, which the GIL keeps whole), so the
always-on metrics cost a run next to nothing. ``prometheus_client`` is imported only
when ``/metrics`` is scraped; when an OTLP exporter is configured every recording is
also sent to the collector every 15 s (``_export``, cumulative since start).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Literal, NamedTuple

Kind = Literal["counter", "histogram", "gauge"]
Labels = tuple[str, ...]

DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


# Not dataclasses: a pod's start defines none (tests/engine/test_startup_imports.py).
class MetricDef(NamedTuple):
    name: str
    kind: Kind
    help: str
    labels: Labels
    unit: str = ""
    buckets: tuple[float, ...] = DURATION_BUCKETS


RUNS = MetricDef(
    "tentacular_runs", "counter", "Workflow runs by outcome.", ("workflow", "outcome", "trigger")
)
RUN_DURATION = MetricDef(
    "tentacular_run_duration_seconds", "histogram", "Run duration.", ("workflow", "outcome"), "s"
)
RUNS_IN_FLIGHT = MetricDef("tentacular_runs_in_flight", "gauge", "Runs executing now.", ("workflow",))
NODE_DURATION = MetricDef(
    "tentacular_node_duration_seconds",
    "histogram",
    "Duration of one node attempt by outcome (ok, error, timeout, cancelled).",
    ("workflow", "node", "outcome"),
    "s",
)
NODE_RETRIES = MetricDef(
    "tentacular_node_retries", "counter", "Node attempts after the first.", ("workflow", "node")
)
NODE_TIMEOUTS = MetricDef(
    "tentacular_node_timeouts", "counter", "Node attempts cut off by the timeout.", ("workflow", "node")
)
GUARD_REFUSALS = MetricDef(
    "tentacular_guard_refusals",
    "counter",
    "Runtime guard refusals that failed a node attempt, by kind.",
    ("workflow", "kind"),
)
TOKENS = MetricDef(
    "tentacular_llm_tokens",
    "counter",
    "LLM tokens used by nodes, by model and type (input, output).",
    ("workflow", "provider", "model", "type"),
)
LLM_COST = MetricDef(
    "tentacular_llm_cost", "counter", "LLM cost reported by nodes.", ("workflow", "provider", "model")
)
LLM_CALLS = MetricDef(
    "tentacular_llm_calls", "counter", "LLM calls recorded (ctx.usage or recognised).", ("workflow", "model")
)
TRIGGER_EVENTS = MetricDef(
    "tentacular_trigger_events",
    "counter",
    "Messages and requests of queue, webhook and cron triggers by outcome (received, processed, failed, "
    "redelivered, dead_lettered, rejected, dropped, replayed, unmatched).",
    ("workflow", "trigger", "outcome"),
)
SPANS_DROPPED = MetricDef(
    "tentacular_telemetry_spans_dropped",
    "counter",
    "Spans not delivered to the collector (queue full or export failed).",
    ("reason",),
)
CATALOGUE: tuple[MetricDef, ...] = (
    RUNS,
    RUN_DURATION,
    RUNS_IN_FLIGHT,
    NODE_DURATION,
    NODE_RETRIES,
    NODE_TIMEOUTS,
    GUARD_REFUSALS,
    TOKENS,
    LLM_COST,
    LLM_CALLS,
    TRIGGER_EVENTS,
    SPANS_DROPPED,
)


class _Histogram:
    __slots__ = ("count", "counts", "total")

    def __init__(self, counts: list[int]) -> None:
        self.counts = counts
        self.total = 0.0
        self.count = 0


class EngineMetrics:
    """Every metric of one engine process (the OTLP exporter reads them from here too)."""

    def __init__(self) -> None:
        self.values: dict[str, dict[Labels, float]] = {}
        self.histograms: dict[str, dict[Labels, _Histogram]] = {}
        self.extra_collectors: list[Callable[[], Iterator[tuple[MetricDef, Labels, float]]]] = []

    def add(self, metric: MetricDef, labels: Labels, value: float = 1.0) -> None:
        series = self.values.setdefault(metric.name, {})
        series[labels] = series.get(labels, 0.0) + value

    def observe(self, metric: MetricDef, labels: Labels, value: float) -> None:
        series = self.histograms.setdefault(metric.name, {})
        histogram = series.get(labels)
        if histogram is None:
            histogram = series[labels] = _Histogram([0] * (len(metric.buckets) + 1))
        histogram.counts[bisect.bisect_left(metric.buckets, value)] += 1
        histogram.total += value
        histogram.count += 1

    def value(self, metric: MetricDef, labels: Labels) -> float:
        return self.values.get(metric.name, {}).get(labels, 0.0)

    def series(self, metric: MetricDef) -> dict[Labels, float]:
        return dict(self.values.get(metric.name, {}))

    def collected_extra(self) -> dict[str, dict[Labels, float]]:
        """The series of ``extra_collectors`` (counters kept elsewhere), summed by labels."""
        extra: dict[str, dict[Labels, float]] = {}
        for source in self.extra_collectors:
            for metric, labels, value in source():
                series = extra.setdefault(metric.name, {})
                series[labels] = series.get(labels, 0.0) + value
        return extra

    def trigger_event(self, workflow: str, trigger: str, outcome: str) -> None:
        """For queue and webhook triggers: one message or request received and how it ended."""
        self.add(TRIGGER_EVENTS, (workflow, trigger, outcome))

    def usage_summary(self) -> dict[str, Any]:
        """Token usage since start from the counters, by model (``/health?detail=1`` for tntc status)."""
        models: dict[str, dict[str, Any]] = {}
        for (_workflow, provider, model, kind), value in self.series(TOKENS).items():
            entry = models.setdefault(
                model,
                {"provider": provider or None, "inputTokens": 0, "outputTokens": 0, "calls": 0, "cost": None},
            )
            entry["inputTokens" if kind == "input" else "outputTokens"] += int(value)
        for (_workflow, model), value in self.series(LLM_CALLS).items():
            if model in models:
                models[model]["calls"] += int(value)
        for (_workflow, _provider, model), value in self.series(LLM_COST).items():
            if model in models:
                models[model]["cost"] = (models[model]["cost"] or 0.0) + value
        total = {
            "inputTokens": sum(m["inputTokens"] for m in models.values()),
            "outputTokens": sum(m["outputTokens"] for m in models.values()),
            "calls": sum(m["calls"] for m in models.values()),
        }
        return {"total": total, "models": models}

    def render(self) -> tuple[bytes, str]:
        """The Prometheus text exposition and its content type."""
        from prometheus_client import CollectorRegistry, generate_latest
        from prometheus_client.exposition import CONTENT_TYPE_LATEST

        registry = CollectorRegistry(auto_describe=False)
        registry.register(_Collector(self))
        return generate_latest(registry), CONTENT_TYPE_LATEST


class _Collector:
    def __init__(self, metrics: EngineMetrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

        metrics = self._metrics
        extra = metrics.collected_extra()
        for metric in CATALOGUE:
            names = list(metric.labels)
            if metric.kind == "histogram":
                family: Any = HistogramMetricFamily(metric.name, metric.help, labels=names, unit="")
                for labels, histogram in list(metrics.histograms.get(metric.name, {}).items()):
                    family.add_metric(list(labels), _cumulative(metric.buckets, histogram), histogram.total)
                yield family
                continue
            family = (
                CounterMetricFamily(metric.name, metric.help, labels=names)
                if metric.kind == "counter"
                else GaugeMetricFamily(metric.name, metric.help, labels=names)
            )
            series = dict(metrics.values.get(metric.name, {}))
            for labels, value in extra.get(metric.name, {}).items():
                series[labels] = series.get(labels, 0.0) + value
            for labels, value in series.items():
                family.add_metric(list(labels), value)
            yield family


def _cumulative(buckets: Sequence[float], histogram: _Histogram) -> list[tuple[str, float]]:
    out: list[tuple[str, float]] = []
    running = 0
    for bound, count in zip((*buckets, float("inf")), histogram.counts, strict=True):
        running += count
        out.append(("+Inf" if bound == float("inf") else repr(float(bound)), float(running)))
    return out
