"""Telemetry settings: workflow.yaml's ``telemetry`` section, overridden by the standard ``OTEL_*`` variables.

Nothing is exported unless configured: ``exporter: otlp`` in workflow.yaml,
``OTEL_TRACES_EXPORTER=otlp``, or an ``OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT``.
``OTEL_SDK_DISABLED=true`` switches everything off. Only OTLP over HTTP/protobuf
is built in; anything else is a start-up error that names the variable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

from tentacular.errors import TelemetryConfigError
from tentacular.spec._values import parse_endpoint

if TYPE_CHECKING:
    from tentacular.spec._telemetry import TelemetrySpec

DEFAULT_EXPORT_TIMEOUT = 5.0


_EMPTY: Mapping[str, Any] = MappingProxyType({})  # a default every instance may share: read-only


# Not a dataclass: a pod's start defines none (tests/engine/test_startup_imports.py).
class TelemetrySettings(NamedTuple):
    exporter: str = "none"
    endpoint: str | None = None
    traces_endpoint_override: str | None = None
    metrics_endpoint_override: str | None = None
    sampling_ratio: float = 1.0
    resource_attributes: Mapping[str, Any] = _EMPTY
    service_name: str = "tentacular"
    service_version: str = ""
    export_timeout: float = DEFAULT_EXPORT_TIMEOUT
    export_metrics: bool = True
    env_resource_attributes: Mapping[str, str] = _EMPTY
    traces_headers: Mapping[str, str] = _EMPTY
    metrics_headers: Mapping[str, str] = _EMPTY

    @property
    def enabled(self) -> bool:
        return self.exporter == "otlp"

    @property
    def traces_endpoint(self) -> str:
        if self.traces_endpoint_override:
            return self.traces_endpoint_override
        return (self.endpoint or "http://localhost:4318").rstrip("/") + "/v1/traces"

    @property
    def metrics_endpoint(self) -> str:
        if self.metrics_endpoint_override:
            return self.metrics_endpoint_override
        return (self.endpoint or "http://localhost:4318").rstrip("/") + "/v1/metrics"

    def resource(self) -> dict[str, Any]:
        """Resource attributes: ours, then workflow.yaml's, then ``OTEL_RESOURCE_ATTRIBUTES`` (which wins)."""
        attributes: dict[str, Any] = {
            "service.version": self.service_version,
            "telemetry.sdk.name": "tentacular",
            "telemetry.sdk.language": "python",
        }
        attributes.update(self.resource_attributes)
        attributes.update(self.env_resource_attributes)
        attributes["service.name"] = self.service_name
        return attributes

    def endpoints(self) -> list[str]:
        """Every collector URL the exporter threads connect to (for the runtime guard)."""
        if not self.enabled:
            return []
        urls = [self.traces_endpoint]
        if self.export_metrics:
            urls.append(self.metrics_endpoint)
        return urls


def _env_float(env: Mapping[str, str], name: str, low: float, high: float) -> float | None:
    raw = env.get(name)
    if raw is None or not raw.strip():
        return None
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not low <= value <= high:
        raise TelemetryConfigError(f"{name}={raw!r}: expected a number from {low:g} to {high:g}")
    return value


def _env_endpoint(env: Mapping[str, str], name: str) -> str | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    try:
        parse_endpoint(raw)
    except ValueError as exc:
        raise TelemetryConfigError(
            f"{name}={raw!r} {exc}", hint="e.g. http://otel-collector.monitoring:4318"
        ) from None
    return raw


def _env_pairs(env: Mapping[str, str], name: str) -> dict[str, str]:
    """``key=value,key2=value2`` (values percent-decoded), as the OTLP exporter variables are written."""
    from urllib.parse import unquote

    pairs: dict[str, str] = {}
    for item in env.get(name, "").split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise TelemetryConfigError(
                f"{name}: {item.strip()[:40]!r} is not key=value", hint="e.g. api-key=abc,team=ops"
            )
        pairs[unquote(key.strip())] = unquote(value.strip())
    return pairs


def resolve_settings(
    spec: TelemetrySpec, *, name: str, version: str, env: Mapping[str, str] | None = None
) -> TelemetrySettings:
    env = os.environ if env is None else env
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return TelemetrySettings(service_name=name, service_version=version)
    endpoint = _env_endpoint(env, "OTEL_EXPORTER_OTLP_ENDPOINT") or spec.endpoint
    traces = _env_endpoint(env, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    metrics_url = _env_endpoint(env, "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")
    exporter = spec.exporter
    chosen = env.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if chosen:
        if chosen not in ("otlp", "none"):
            raise TelemetryConfigError(
                f"OTEL_TRACES_EXPORTER={chosen!r} is not supported", hint="use otlp or none"
            )
        exporter = chosen  # type: ignore[assignment]
    elif env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or traces:
        exporter = "otlp"
    protocol = (
        env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        or env.get("OTEL_EXPORTER_OTLP_PROTOCOL")
        or spec.protocol
    ).strip()
    if exporter == "otlp" and protocol != "http/protobuf":
        raise TelemetryConfigError(
            f"OTLP protocol {protocol!r} is not supported by the engine",
            hint="use http/protobuf (the collector's port 4318)",
        )
    ratio = spec.sampling_ratio
    sampler = env.get("OTEL_TRACES_SAMPLER", "").strip().lower()
    if sampler in ("always_off", "parentbased_always_off"):
        ratio = 0.0
    elif sampler in ("always_on", "parentbased_always_on"):
        ratio = 1.0
    from_env = _env_float(env, "OTEL_TRACES_SAMPLER_ARG", 0.0, 1.0)
    if from_env is not None and sampler in ("", "traceidratio", "parentbased_traceidratio"):
        ratio = from_env
    timeout = _env_float(env, "OTEL_EXPORTER_OTLP_TIMEOUT", 0.0, 600_000.0)
    metrics_exporter = env.get("OTEL_METRICS_EXPORTER", "").strip().lower()
    headers = _env_pairs(env, "OTEL_EXPORTER_OTLP_HEADERS")
    resource_env = _env_pairs(env, "OTEL_RESOURCE_ATTRIBUTES")
    return TelemetrySettings(
        exporter=exporter,
        endpoint=endpoint,
        traces_endpoint_override=traces,
        metrics_endpoint_override=metrics_url,
        sampling_ratio=ratio,
        resource_attributes=dict(spec.resource_attributes),
        service_name=env.get("OTEL_SERVICE_NAME") or resource_env.get("service.name") or name,
        service_version=version,
        export_timeout=DEFAULT_EXPORT_TIMEOUT if timeout is None else timeout / 1000.0,
        export_metrics=metrics_exporter != "none",
        env_resource_attributes=resource_env,
        traces_headers={**headers, **_env_pairs(env, "OTEL_EXPORTER_OTLP_TRACES_HEADERS")},
        metrics_headers={**headers, **_env_pairs(env, "OTEL_EXPORTER_OTLP_METRICS_HEADERS")},
    )
