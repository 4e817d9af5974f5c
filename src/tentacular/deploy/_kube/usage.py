"""Token usage of a deployed workflow, read from each engine pod's own counters.

Each ready pod answers ``/health?detail=1`` through the API server's pod proxy
(``get pods/proxy``); its ``usage`` block counts LLM tokens since that pod started
(``ctx.usage`` and recognised Anthropic/OpenAI answers). The summary adds them up
across pods. A pod that cannot be reached is listed with the reason and left out
of the totals, so a status view never fails because of it.
"""

from __future__ import annotations

from typing import Any

from tentacular.deploy._dockerfile import ENGINE_PORT
from tentacular.deploy._kube.client import POD, KubeClient
from tentacular.deploy._labels import NAME_LABEL
from tentacular.errors import TentacularError


def _ready(pod: dict[str, Any]) -> bool:
    status = pod.get("status") or {}
    return status.get("phase") == "Running" and any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or []
    )


def _add_models(into: dict[str, dict[str, Any]], models: dict[str, Any]) -> None:
    for model, entry in models.items():
        target = into.setdefault(
            model,
            {
                "provider": entry.get("provider"),
                "inputTokens": 0,
                "outputTokens": 0,
                "calls": 0,
                "cost": None,
            },
        )
        target["inputTokens"] += int(entry.get("inputTokens") or 0)
        target["outputTokens"] += int(entry.get("outputTokens") or 0)
        target["calls"] += int(entry.get("calls") or 0)
        if entry.get("cost") is not None:
            target["cost"] = (target["cost"] or 0.0) + float(entry["cost"])


def deployed_usage(client: KubeClient, name: str, namespace: str) -> dict[str, Any]:
    """``{total, models, pods}``: tokens since each pod's start, summed over the reachable pods."""
    models: dict[str, dict[str, Any]] = {}
    pods: list[dict[str, Any]] = []
    for pod in client.list(POD, namespace, labels={NAME_LABEL: name}):
        pod_name = pod["metadata"]["name"]
        if not _ready(pod):
            pods.append({"pod": pod_name, "error": "not ready"})
            continue
        try:
            health = client.pod_proxy_get(pod_name, namespace, ENGINE_PORT, "health", {"detail": "1"})
        except TentacularError as exc:
            pods.append({"pod": pod_name, "error": exc.message})
            continue
        found = health.get("usage")
        usage: dict[str, Any] = found if isinstance(found, dict) else {}
        total = usage.get("total") or {}
        pods.append(
            {
                "pod": pod_name,
                "uptimeMs": health.get("uptimeMs"),
                "runs": health.get("totalEvents"),
                "inputTokens": int(total.get("inputTokens") or 0),
                "outputTokens": int(total.get("outputTokens") or 0),
                "calls": int(total.get("calls") or 0),
            }
        )
        _add_models(models, usage.get("models") or {})
    costs = [m["cost"] for m in models.values() if m["cost"] is not None]
    total_in = sum(m["inputTokens"] for m in models.values())
    total_out = sum(m["outputTokens"] for m in models.values())
    return {
        "total": {
            "inputTokens": total_in,
            "outputTokens": total_out,
            "totalTokens": total_in + total_out,
            "calls": sum(m["calls"] for m in models.values()),
            "cost": round(sum(costs), 10) if costs else None,
        },
        "models": models,
        "pods": pods,
        "reached": sum(1 for p in pods if "error" not in p),
    }
