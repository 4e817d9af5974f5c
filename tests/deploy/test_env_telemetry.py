"""Per-environment telemetry (issue 17): ``environments.<env>.telemetry`` in the config file is merged
into workflow.yaml's ``telemetry`` section for that environment: the shipped workflow.yaml, the
collector's NetworkPolicy egress and the release unit all follow it."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from tentacular.cli.main import main
from tests.conftest import EXAMPLES

COLLECTOR = {
    "exporter": "otlp",
    "endpoint": "http://otel-collector.monitoring.svc:4318",
    "samplingRatio": 0.2,
}


def _configure(environments: dict[str, Any]) -> None:
    home = Path(os.environ["TENTACULAR_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.yaml").write_text(yaml.safe_dump({"environments": environments}))


def _dry_run(capsys: pytest.CaptureFixture[str], directory: Path, *extra: str) -> list[dict[str, Any]]:
    assert main(["deploy", "--dry-run", str(directory), *extra]) == 0, capsys.readouterr().err
    return [doc for doc in yaml.safe_load_all(capsys.readouterr().out) if doc]


def _shipped(objects: list[dict[str, Any]]) -> dict[str, Any]:
    [code] = [o for o in objects if o["kind"] == "ConfigMap" and "workflow.yaml" in (o.get("data") or {})]
    return dict(yaml.safe_load(code["data"]["workflow.yaml"]))


def _egress_ports(objects: list[dict[str, Any]]) -> set[int]:
    [policy] = [o for o in objects if o["kind"] == "NetworkPolicy"]
    return {port["port"] for rule in policy["spec"].get("egress", []) for port in rule.get("ports", [])}


def test_the_environments_collector_is_shipped_and_admitted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = tmp_path / "word-counter"
    shutil.copytree(EXAMPLES / "word-counter", directory)
    _configure({"prod": {"telemetry": COLLECTOR}, "dev": {}})

    plain = _dry_run(capsys, directory, "--env", "dev")
    assert "telemetry" not in _shipped(plain)
    assert 4318 not in _egress_ports(plain)

    objects = _dry_run(capsys, directory, "--env", "prod")
    telemetry = _shipped(objects)["telemetry"]
    assert telemetry == COLLECTOR
    assert 4318 in _egress_ports(objects)  # the exporter may reach the collector, nothing else opens


def test_workflow_values_are_kept_unless_the_environment_overrides_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = tmp_path / "word-counter"
    shutil.copytree(EXAMPLES / "word-counter", directory)
    spec = yaml.safe_load((directory / "workflow.yaml").read_text())
    spec["telemetry"] = {
        "exporter": "otlp",
        "endpoint": "http://127.0.0.1:4318",
        "resourceAttributes": {"team": "words"},
    }
    (directory / "workflow.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    _configure(
        {
            "staging": {"telemetry": {"endpoint": "http://collector.staging:4318"}},
            "off": {"telemetry": {"exporter": "none"}},
        }
    )
    shipped = _shipped(_dry_run(capsys, directory, "--env", "staging"))["telemetry"]
    assert shipped == {
        "exporter": "otlp",
        "endpoint": "http://collector.staging:4318",
        "resourceAttributes": {"team": "words"},
    }
    assert 4318 not in _egress_ports(_dry_run(capsys, directory, "--env", "off"))


@pytest.mark.parametrize(
    ("telemetry", "needle"),
    [
        ({"endpoint": "ftp://collector:21"}, "telemetry.endpoint"),
        ({"samplingRatio": 3}, "samplingRatio"),
        ("otlp", "telemetry must be a mapping"),
    ],
)
def test_a_bad_environment_telemetry_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], telemetry: Any, needle: str
) -> None:
    directory = tmp_path / "word-counter"
    shutil.copytree(EXAMPLES / "word-counter", directory)
    _configure({"prod": {"telemetry": telemetry}})
    code = main(["deploy", "--dry-run", str(directory), "--env", "prod"])
    out, err = capsys.readouterr()
    assert code != 0 and out == ""
    assert needle in err and "Traceback" not in err, err
