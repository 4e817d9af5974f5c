"""How Prometheus finds the engine's ``GET /metrics`` (``deployment.monitoring``, issue 17).

``prometheus: annotations`` (the default) puts the conventional ``prometheus.io/*``
annotations on the pod template; ``serviceMonitor`` renders a prometheus-operator
ServiceMonitor for the workflow's Service instead; ``none`` does neither. The
NetworkPolicy side (admitting the scraper) is derived in ``spec.derive``.
"""

from __future__ import annotations

from typing import Any

from tentacular.spec import Workflow
from tentacular.spec._derive import ENGINE_PORT

METRICS_PATH = "/metrics"


def scrape_annotations(workflow: Workflow) -> dict[str, str]:
    if workflow.deployment.monitoring.prometheus != "annotations":
        return {}
    return {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": str(ENGINE_PORT),
        "prometheus.io/path": METRICS_PATH,
    }


def service_monitor(
    workflow: Workflow, *, meta: dict[str, object], selector: dict[str, str]
) -> dict[str, Any] | None:
    monitoring = workflow.deployment.monitoring
    if monitoring.prometheus != "serviceMonitor":
        return None
    endpoint: dict[str, Any] = {"port": "http", "path": METRICS_PATH, "scheme": "http"}
    if monitoring.interval:
        endpoint["interval"] = monitoring.interval
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": meta,
        "spec": {"selector": {"matchLabels": dict(selector)}, "endpoints": [endpoint]},
    }
