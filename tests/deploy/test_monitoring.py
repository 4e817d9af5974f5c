"""Deployment side of observability (issue 17): scrape annotations or a ServiceMonitor, the scraper admitted
by the NetworkPolicy, and the OTLP collector as an egress rule; validated against the schemas."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tentacular.deploy._manifests import ManifestOptions, build_manifests
from tentacular.spec import load_workflow
from tentacular.spec._derive import egress_rules

BASE: dict[str, Any] = {
    "name": "observed",
    "version": "1.0",
    "triggers": [{"type": "manual"}],
    "nodes": {"a": {"path": "./nodes/a.py"}},
    "contract": {"version": "1", "dependencies": {}},
}


def render(tmp_path: Path, **top: Any) -> list[dict[str, Any]]:
    (tmp_path / "nodes").mkdir(exist_ok=True)
    (tmp_path / "nodes" / "a.py").write_text("async def run(ctx, input):\n    return input\n")
    spec = {**BASE, **top}
    (tmp_path / "workflow.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    objects = build_manifests(load_workflow(tmp_path), ManifestOptions())
    for obj in objects:
        if obj["kind"] != "ServiceMonitor":  # a CRD: not in the official schemas
            kubernetes_validate.validate(obj, "1.30.0", strict=True)
    return objects


def kind(objects: list[dict[str, Any]], name: str) -> dict[str, Any]:
    [found] = [obj for obj in objects if obj["kind"] == name]
    return found


def test_pods_carry_scrape_annotations_by_default(tmp_path: Path) -> None:
    annotations = kind(render(tmp_path), "Deployment")["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/port"] == "8080"
    assert annotations["prometheus.io/path"] == "/metrics"


def test_service_monitor_when_asked_and_the_scraper_is_admitted(tmp_path: Path) -> None:
    objects = render(
        tmp_path,
        deployment={
            "monitoring": {
                "prometheus": "serviceMonitor",
                "interval": "30s",
                "scraper": {
                    "namespace": "monitoring",
                    "podSelector": {"app.kubernetes.io/name": "prometheus"},
                },
            }
        },
    )
    monitor = kind(objects, "ServiceMonitor")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    service = kind(objects, "Service")
    assert monitor["spec"]["selector"]["matchLabels"] == service["spec"]["selector"]
    assert monitor["spec"]["endpoints"] == [
        {"port": "http", "path": "/metrics", "scheme": "http", "interval": "30s"}
    ]
    assert (
        "prometheus.io/scrape"
        not in kind(objects, "Deployment")["spec"]["template"]["metadata"]["annotations"]
    )
    ingress = kind(objects, "NetworkPolicy")["spec"]["ingress"]
    assert {
        "from": [
            {
                "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}},
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
            }
        ],
        "ports": [{"port": 8080, "protocol": "TCP"}],
    } in ingress
    assert len(ingress) == 2  # trigger pods stay admitted


def test_monitoring_none_renders_neither(tmp_path: Path) -> None:
    objects = render(tmp_path, deployment={"monitoring": {"prometheus": "none"}})
    assert not [o for o in objects if o["kind"] == "ServiceMonitor"]
    assert (
        "prometheus.io/scrape"
        not in kind(objects, "Deployment")["spec"]["template"]["metadata"]["annotations"]
    )


@pytest.mark.parametrize(
    ("endpoint", "peer", "port"),
    [
        (
            "http://otel-collector.monitoring.svc.cluster.local:4318",
            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}},
            4318,
        ),
        ("http://10.20.30.40:4318", {"ipBlock": {"cidr": "10.20.30.40/32"}}, 4318),
        (
            "https://otlp.example.com",
            {
                "ipBlock": {
                    "cidr": "0.0.0.0/0",
                    "except": [
                        "10.0.0.0/8",
                        "100.64.0.0/10",
                        "169.254.0.0/16",
                        "172.16.0.0/12",
                        "192.168.0.0/16",
                    ],
                }
            },
            443,
        ),
    ],
)
def test_the_collector_becomes_an_egress_rule(
    tmp_path: Path, endpoint: str, peer: dict[str, Any], port: int
) -> None:
    objects = render(tmp_path, telemetry={"exporter": "otlp", "endpoint": endpoint})
    egress = kind(objects, "NetworkPolicy")["spec"]["egress"]
    section = next(s for s in egress if s.get("ports") == [{"port": port, "protocol": "TCP"}])
    assert peer in section["to"]
    rules = [r for r in egress_rules(load_workflow(tmp_path).workflow) if r.source == "telemetry.endpoint"]
    assert len(rules) == 1 and rules[0].port == port


def test_no_collector_rule_while_export_is_off(tmp_path: Path) -> None:
    render(tmp_path, telemetry={"exporter": "none", "endpoint": "http://10.1.1.1:4318"})
    assert not [r for r in egress_rules(load_workflow(tmp_path).workflow) if r.source == "telemetry.endpoint"]
