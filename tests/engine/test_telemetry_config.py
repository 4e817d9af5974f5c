"""Telemetry configuration (issue 17): workflow.yaml ``telemetry``, ``OTEL_*`` overrides, located errors,
and the import budget: with telemetry off the engine never imports OpenTelemetry."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tentacular.engine._telemetry import resolve_settings
from tentacular.errors import TelemetryConfigError
from tentacular.spec import check_workflow, load_workflow
from tentacular.spec._telemetry import TelemetrySpec

from .conftest import WorkflowWriter
from .telemetry_helpers import add_telemetry

ECHO = "async def run(ctx, input):\n    return input\n"


def spec(**fields: object) -> TelemetrySpec:
    return TelemetrySpec.model_validate(fields)


def test_nothing_is_exported_unless_configured() -> None:
    assert not resolve_settings(spec(), name="wf", version="1.0", env={}).enabled
    on = resolve_settings(
        spec(exporter="otlp", endpoint="http://collector:4318"), name="wf", version="1.0", env={}
    )
    assert on.enabled and on.traces_endpoint == "http://collector:4318/v1/traces"
    assert on.metrics_endpoint == "http://collector:4318/v1/metrics"


def test_standard_variables_override_the_workflow() -> None:
    base = spec(
        exporter="none", endpoint="http://a:4318", samplingRatio=0.5, resourceAttributes={"team": "x"}
    )
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://b.monitoring:4318",
        "OTEL_TRACES_SAMPLER_ARG": "0.25",
        "OTEL_SERVICE_NAME": "renamed",
        "OTEL_EXPORTER_OTLP_TIMEOUT": "2000",
    }
    settings = resolve_settings(base, name="wf", version="1.0", env=env)
    assert settings.enabled  # an endpoint in the environment is configuration enough
    assert settings.endpoint == "http://b.monitoring:4318" and settings.sampling_ratio == 0.25
    assert settings.service_name == "renamed" and settings.export_timeout == 2.0
    assert settings.resource_attributes == {"team": "x"}
    assert not resolve_settings(
        base, name="wf", version="1.0", env={**env, "OTEL_SDK_DISABLED": "true"}
    ).enabled
    assert not resolve_settings(
        base, name="wf", version="1.0", env={**env, "OTEL_TRACES_EXPORTER": "none"}
    ).enabled
    off = resolve_settings(base, name="wf", version="1.0", env={"OTEL_TRACES_SAMPLER": "always_off"})
    assert off.sampling_ratio == 0.0


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"OTEL_TRACES_EXPORTER": "zipkin"}, "OTEL_TRACES_EXPORTER='zipkin' is not supported"),
        ({"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_TRACES_EXPORTER": "otlp"}, "protocol 'grpc'"),
        ({"OTEL_TRACES_SAMPLER_ARG": "2"}, "expected a number from 0 to 1"),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318"}, "must start with http:// or https://"),
    ],
)
def test_bad_variables_are_clear_errors(env: dict[str, str], expected: str) -> None:
    with pytest.raises(TelemetryConfigError) as caught:
        resolve_settings(spec(), name="wf", version="1.0", env=env)
    assert expected in caught.value.message and caught.value.exit_code == 2


def test_invalid_telemetry_section_is_a_located_validation_error(make_flow: WorkflowWriter) -> None:
    flow = add_telemetry(
        make_flow({"echo": ECHO}),
        {"exporter": "jaeger", "endpoint": "ftp://x", "samplingRatio": 3, "protocol": "grpc"},
    )
    check = check_workflow(flow / "workflow.yaml")
    errors = {issue.path: issue for issue in check.issues if issue.severity == "error"}
    assert set(errors) == {
        "telemetry.exporter",
        "telemetry.endpoint",
        "telemetry.samplingRatio",
        "telemetry.protocol",
    }, errors
    lines = (flow / "workflow.yaml").read_text().splitlines()
    endpoint = errors["telemetry.endpoint"]
    assert "endpoint: ftp://x" in lines[endpoint.line - 1]
    assert "must start with http:// or https://" in endpoint.message


def test_cli_validate_reports_the_location(make_flow: WorkflowWriter) -> None:
    flow = add_telemetry(make_flow({"echo": ECHO}), {"exporter": "otlp", "endpoint": "http://user:pw@c:4318"})
    result = subprocess.run(
        [sys.executable, "-m", "tentacular.cli.main", "validate", str(flow)], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "workflow.yaml:" in result.stderr and "telemetry.endpoint" in result.stderr
    assert "must not carry credentials" in result.stderr and "Traceback" not in result.stderr


PROBE = """
import asyncio, json, sys
from tentacular.engine._startup import boot
engine, _ = boot(sys.argv[1], cluster_secrets=None)
result = asyncio.run(engine.run({"x": 1}))
heavy = ("opentelemetry", "prometheus_client", "google.protobuf")
loaded = sorted({".".join(m.split(".")[:2]) for m in sys.modules if m.startswith(heavy)})
exporting = "tentacular.engine._telemetry._export" in sys.modules
print(json.dumps({"success": result.success, "loaded": loaded, "exporting": exporting}))
"""


def _probe(flow: Path, env: dict[str, str]) -> dict[str, object]:
    import os

    clean = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(flow)],
        capture_output=True,
        text=True,
        env={**clean, **env},
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_engine_with_telemetry_off_imports_no_opentelemetry(make_flow: WorkflowWriter) -> None:
    flow = make_flow({"echo": ECHO})
    off = _probe(flow, {})
    assert off == {"success": True, "loaded": [], "exporting": False}
    # The probe can see it: configured telemetry does load the exporter, and still no SDK
    # (spans are encoded to OTLP by the engine itself).
    on = _probe(
        flow, {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9", "OTEL_EXPORTER_OTLP_TIMEOUT": "100"}
    )
    assert on == {"success": True, "loaded": [], "exporting": True}


def test_loaded_workflow_keeps_the_section(make_flow: WorkflowWriter) -> None:
    flow = add_telemetry(
        make_flow({"echo": ECHO}),
        {"exporter": "otlp", "endpoint": "https://otel.example.com", "resourceAttributes": {"team": "ml"}},
    )
    workflow = load_workflow(flow).workflow
    endpoint = workflow.telemetry.parsed_endpoint
    assert endpoint is not None and (endpoint.host, endpoint.port) == ("otel.example.com", 443)
    assert workflow.telemetry.resource_attributes == {"team": "ml"}
