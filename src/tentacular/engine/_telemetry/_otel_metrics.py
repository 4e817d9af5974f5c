"""Forward the engine's metrics to OpenTelemetry instruments, exported over OTLP/HTTP."""

from __future__ import annotations

from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader

from tentacular.engine._telemetry._metrics import Labels, MetricDef
from tentacular.engine._telemetry._settings import TelemetrySettings

EXPORT_INTERVAL_MS = 15_000
SHUTDOWN_TIMEOUT_MS = 3000


class OtelMetricsSink:
    """Counters, histograms and up-down counters named like the Prometheus series (without ``_total``)."""

    def __init__(
        self, settings: TelemetrySettings, resource: Any, *, reader: MetricReader | None = None
    ) -> None:
        if reader is None:
            from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

            exporter = OTLPMetricExporter(endpoint=settings.metrics_endpoint, timeout=settings.export_timeout)
            reader = PeriodicExportingMetricReader(exporter, export_interval_millis=EXPORT_INTERVAL_MS)
        self.provider = MeterProvider(resource=resource, metric_readers=[reader])
        self._meter = self.provider.get_meter("tentacular.engine")
        self._instruments: dict[str, Any] = {}

    def _instrument(self, metric: MetricDef) -> Any:
        instrument = self._instruments.get(metric.name)
        if instrument is None:
            meter = self._meter
            if metric.kind == "counter":
                instrument = meter.create_counter(metric.name, unit=metric.unit, description=metric.help)
            elif metric.kind == "histogram":
                instrument = meter.create_histogram(
                    metric.name,
                    unit=metric.unit,
                    description=metric.help,
                    explicit_bucket_boundaries_advisory=list(metric.buckets),
                )
            else:
                instrument = meter.create_up_down_counter(
                    metric.name, unit=metric.unit, description=metric.help
                )
            self._instruments[metric.name] = instrument
        return instrument

    def add(self, metric: MetricDef, labels: Labels, value: float) -> None:
        self._instrument(metric).add(value, dict(zip(metric.labels, labels, strict=True)))

    def observe(self, metric: MetricDef, labels: Labels, value: float) -> None:
        self._instrument(metric).record(value, dict(zip(metric.labels, labels, strict=True)))

    def shutdown(self) -> None:
        self.provider.shutdown(timeout_millis=SHUTDOWN_TIMEOUT_MS)
