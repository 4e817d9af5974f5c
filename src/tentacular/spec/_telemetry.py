"""The ``telemetry`` and ``deployment.monitoring`` sections of workflow.yaml (issue 17).

``telemetry`` says where traces and metrics go (OTLP over HTTP, or nowhere);
``deployment.monitoring`` says how Prometheus finds ``GET /metrics``. Both are
plain data here: the engine builds exporters from them, the deploy layer turns
the endpoint into a NetworkPolicy egress rule, and the runtime policy lets the
engine's exporter thread reach it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from tentacular.spec._fields import HOSTNAME_RE, DnsLabel, SpecModel

OTLP_HTTP_PORT = 4318
_HOST_RE = re.compile(HOSTNAME_RE)
AttributeValue = str | int | float | bool


@dataclass(frozen=True)
class Endpoint:
    """An OTLP/HTTP collector address, split for egress rules and guard grants."""

    url: str
    scheme: str
    host: str
    port: int


def parse_endpoint(url: str) -> Endpoint:
    """``http(s)://host[:port][/path]``; raises ValueError with a reader-facing message."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"not a URL ({exc})") from None
    if parts.scheme not in ("http", "https"):
        raise ValueError("must start with http:// or https://")
    host = parts.hostname or ""
    if not host:
        raise ValueError("names no host")
    if parts.username or parts.password:
        raise ValueError("must not carry credentials (use OTEL_EXPORTER_OTLP_HEADERS from a secret)")
    if not _HOST_RE.match(host) and ":" not in host:
        raise ValueError(f"host {host!r} is not a valid hostname")
    default = 443 if parts.scheme == "https" else OTLP_HTTP_PORT
    return Endpoint(url=url.rstrip("/"), scheme=parts.scheme, host=host, port=port or default)


class TelemetrySpec(SpecModel):
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

    @property
    def parsed_endpoint(self) -> Endpoint | None:
        return parse_endpoint(self.endpoint) if self.endpoint else None


class ScraperSpec(SpecModel):
    """Who may scrape ``/metrics``: pods matching ``podSelector`` in ``namespace``."""

    namespace: DnsLabel | None = None
    pod_selector: dict[str, str] = Field(default_factory=dict, alias="podSelector")


class MonitoringSpec(SpecModel):
    """``deployment.monitoring``: scrape annotations (default) or a ServiceMonitor."""

    prometheus: Literal["annotations", "serviceMonitor", "none"] = "annotations"
    scraper: ScraperSpec | None = None
    interval: str | None = Field(default=None, pattern=r"^[0-9]+(ms|s|m|h)$")
