"""The ``telemetry`` and ``deployment.monitoring`` sections of workflow.yaml (issue 17).

``telemetry`` says where traces and metrics go (OTLP over HTTP, or nowhere);
``deployment.monitoring`` says how Prometheus finds ``GET /metrics``. Both are
plain data here: the engine builds exporters from them, the deploy layer turns
the endpoint into a NetworkPolicy egress rule, and the runtime policy lets the
engine's exporter thread reach it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from tentacular.spec._behaviour import TelemetrySpecBehaviour
from tentacular.spec._fields import DnsLabel, SpecModel
from tentacular.spec._values import OTLP_HTTP_PORT as OTLP_HTTP_PORT
from tentacular.spec._values import Endpoint as Endpoint
from tentacular.spec._values import parse_endpoint as parse_endpoint

AttributeValue = str | int | float | bool


class TelemetrySpec(TelemetrySpecBehaviour, SpecModel):
    """Where the engine exports traces and metrics; nothing is exported unless ``exporter: otlp``."""

    exporter: Literal["otlp", "none"] = "none"
    endpoint: str | None = None
    protocol: Literal["http/protobuf"] = "http/protobuf"
    sampling_ratio: float = Field(default=1.0, ge=0.0, le=1.0, alias="samplingRatio")
    resource_attributes: dict[str, AttributeValue] = Field(default_factory=dict, alias="resourceAttributes")

    @field_validator("endpoint")
    @classmethod
    def _valid_endpoint(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            parse_endpoint(value)
        except ValueError as exc:
            raise PydanticCustomError(
                "telemetry_endpoint",
                "telemetry.endpoint '{value}' {reason}; expected e.g. http://otel-collector.monitoring:4318",
                {"value": value, "reason": str(exc)},
            ) from None
        return value


class ScraperSpec(SpecModel):
    """Who may scrape ``/metrics``: pods matching ``podSelector`` in ``namespace``."""

    namespace: DnsLabel | None = None
    pod_selector: dict[str, str] = Field(default_factory=dict, alias="podSelector")


class MonitoringSpec(SpecModel):
    """``deployment.monitoring``: scrape annotations (default) or a ServiceMonitor."""

    prometheus: Literal["annotations", "serviceMonitor", "none"] = "annotations"
    scraper: ScraperSpec | None = None
    interval: str | None = Field(default=None, pattern=r"^[0-9]+(ms|s|m|h)$")
