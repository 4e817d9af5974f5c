"""Deployed vs expected: NetworkPolicy rules, secret keys, CronJobs, Deployment security (§6.5.17),
and the webhook Ingress/HTTPRoute.

``expected`` is what ``build_manifests`` renders for the workflow today, so the
audit answers "does the cluster still match the contract and our hardening?".
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from tentacular.deploy._kube.apply import owned_objects
from tentacular.deploy._kube.client import (
    CONFIG_MAP,
    CRON_JOB,
    DEPLOYMENT,
    HTTP_ROUTE,
    INGRESS,
    NETWORK_POLICY,
    SECRET,
    SERVICE,
    KubeClient,
)
from tentacular.deploy._kube.drift import drift_of_all
from tentacular.deploy._labels import CODE_HASH_ANNOTATION
from tentacular.spec import Workflow
from tentacular.spec._derive import secret_inventory

SECURITY_FIELDS = (
    "automountServiceAccountToken",
    "runtimeClassName",
    "securityContext",
    "enableServiceLinks",
)
CONTAINER_SECURITY_FIELDS = ("securityContext",)


def _canonical(rules: Sequence[Mapping[str, Any]] | None) -> list[str]:
    return sorted(json.dumps(rule, sort_keys=True) for rule in rules or [])


def _rule_diff(
    expected: Sequence[Mapping[str, Any]] | None, actual: Sequence[Mapping[str, Any]] | None
) -> dict[str, Any]:
    want, have = _canonical(expected), _canonical(actual)
    return {
        "missing": [json.loads(r) for r in want if r not in have],
        "extra": [json.loads(r) for r in have if r not in want],
    }


def audit_network_policy(
    expected: Mapping[str, Any] | None, actual: Mapping[str, Any] | None
) -> dict[str, Any]:
    if expected is None:
        return {
            "status": "match" if actual is None else "mismatch",
            "details": "no contract, no policy expected",
        }
    result: dict[str, Any] = {
        "expected": {
            "egressRuleCount": len(expected["spec"].get("egress") or []),
            "ingressRuleCount": len(expected["spec"].get("ingress") or []),
        }
    }
    if actual is None:
        return {
            **result,
            "status": "missing",
            "details": f"NetworkPolicy {expected['metadata']['name']} not found",
        }
    spec = actual.get("spec") or {}
    egress = _rule_diff(expected["spec"].get("egress"), spec.get("egress"))
    ingress = _rule_diff(expected["spec"].get("ingress"), spec.get("ingress"))
    types_match = sorted(expected["spec"]["policyTypes"]) == sorted(spec.get("policyTypes") or [])
    result["actual"] = {
        "egressRuleCount": len(spec.get("egress") or []),
        "ingressRuleCount": len(spec.get("ingress") or []),
    }
    result["egress"], result["ingress"] = egress, ingress
    clean = types_match and not any(egress.values()) and not any(ingress.values())
    result["status"] = "match" if clean else "mismatch"
    if not types_match:
        result["details"] = f"policyTypes differ: {spec.get('policyTypes')}"
    return result


def audit_secrets(workflow: Workflow, actual: Mapping[str, Any] | None) -> dict[str, Any]:
    """Services the contract needs vs keys of ``{wf}-secrets``; never looks at values."""
    expected = sorted({ref.split(".", 1)[0] for ref in secret_inventory(workflow)})
    if not expected:
        return {"expectedKeys": [], "actualKeys": [], "status": "match"}
    if actual is None:
        return {"expectedKeys": expected, "actualKeys": [], "status": "missing"}
    keys = sorted({*(actual.get("data") or {}), *(actual.get("stringData") or {})})
    missing = [k for k in expected if k not in keys]
    extra = [k for k in keys if k not in expected]
    result: dict[str, Any] = {
        "expectedKeys": expected,
        "actualKeys": keys,
        "status": "mismatch" if missing else "match",
    }
    if missing:
        result["missing"] = missing
    if extra:
        result["extra"] = extra
    return result


def audit_cronjobs(
    expected: Sequence[Mapping[str, Any]], actual: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    want = {c["metadata"]["name"]: c["spec"]["schedule"] for c in expected}
    have = {c["metadata"]["name"]: (c.get("spec") or {}).get("schedule") for c in actual}
    problems = [f"missing {n}" for n in want if n not in have]
    problems += [f"stale {n}" for n in have if n not in want]
    problems += [
        f"{n}: schedule {have[n]!r} != {want[n]!r}" for n in want if n in have and have[n] != want[n]
    ]
    result: dict[str, Any] = {
        "expectedCount": len(want),
        "actualCount": len(have),
        "status": "mismatch" if problems else "match",
    }
    if problems:
        result["details"] = f"Expected {len(want)} CronJobs, found {len(have)}: " + "; ".join(problems)
    return result


def audit_deployment(expected: Mapping[str, Any], actual: Mapping[str, Any] | None) -> dict[str, Any]:
    """Pod hardening fields and the shipped-code hash, as rendered vs as running."""
    if actual is None:
        return {"status": "missing"}
    want = expected["spec"]["template"]
    have = (actual.get("spec") or {}).get("template") or {}
    differences: list[str] = []
    for key in SECURITY_FIELDS:
        if want["spec"].get(key) != (have.get("spec") or {}).get(key):
            differences.append(f"pod {key}")
    have_containers = {c["name"]: c for c in (have.get("spec") or {}).get("containers") or []}
    for container in want["spec"]["containers"]:
        other = have_containers.get(container["name"], {})
        for key in CONTAINER_SECURITY_FIELDS:
            if container.get(key) != other.get(key):
                differences.append(f"container {container['name']} {key}")
    want_hash = (want.get("metadata") or {}).get("annotations", {}).get(CODE_HASH_ANNOTATION)
    have_hash = ((have.get("metadata") or {}).get("annotations") or {}).get(CODE_HASH_ANNOTATION)
    result: dict[str, Any] = {
        "status": "mismatch" if differences else "match",
        "code": "current" if want_hash == have_hash else "stale",
    }
    if differences:
        result["differences"] = differences
    return result


def audit_webhook_route(
    expected: Mapping[str, Any] | None, actual: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The Ingress/HTTPRoute for ``/webhook/``: present exactly when deployment.webhook.host asks for it."""
    if expected is None:
        if actual is None:
            return {"status": "match", "details": "no webhook host, no route expected"}
        return {
            "status": "mismatch",
            "details": f"{actual['kind']} {actual['metadata']['name']} is not expected",
        }
    if actual is None:
        return {
            "status": "missing",
            "details": f"{expected['kind']} {expected['metadata']['name']} not found",
        }
    same = expected.get("spec") == actual.get("spec")
    return {
        "status": "match" if same else "mismatch",
        **({} if same else {"details": "the route's spec differs"}),
    }


def audit_drift(live: Sequence[Mapping[str, Any] | None]) -> dict[str, Any]:
    """Fields other managers own on tntc's objects; security-relevant ones fail the audit."""
    fields = drift_of_all(live)
    security = [f for f in fields if f.security]
    result: dict[str, Any] = {
        "status": "mismatch" if security else "match",
        "fields": [f.to_dict() for f in fields],
    }
    if fields:
        result["details"] = (
            f"{len(fields)} field(s) owned by other managers ({len(security)} security-relevant); "
            "tntc deploy --reclaim removes them"
        )
    return result


def audit_workflow(
    client: KubeClient, workflow: Workflow, expected_objects: Sequence[Mapping[str, Any]], namespace: str
) -> dict[str, Any]:
    name = workflow.name

    def expected(kind: str) -> list[Mapping[str, Any]]:
        return [o for o in expected_objects if o["kind"] == kind]

    netpol_expected = next(iter(expected("NetworkPolicy")), None)
    netpol = client.get(NETWORK_POLICY, f"{name}-netpol", namespace)
    secret = client.get(SECRET, f"{name}-secrets", namespace)
    cronjobs = owned_objects(client, name, namespace, (CRON_JOB,))
    deployment = client.get(DEPLOYMENT, name, namespace)
    live = [netpol, secret, *cronjobs, deployment]
    live += [client.get(CONFIG_MAP, f"{name}-code", namespace), client.get(SERVICE, name, namespace)]
    report = {
        "networkPolicy": audit_network_policy(netpol_expected, netpol),
        "secrets": audit_secrets(workflow, secret),
        "cronJobs": audit_cronjobs(expected("CronJob"), cronjobs),
        "deployment": audit_deployment(expected("Deployment")[0], deployment),
        "drift": audit_drift(live),
    }
    route_expected = next(iter(expected("Ingress") + expected("HTTPRoute")), None)
    route_kind = (
        HTTP_ROUTE if route_expected is not None and route_expected["kind"] == "HTTPRoute" else INGRESS
    )
    report["webhookRoute"] = audit_webhook_route(
        route_expected, client.get(route_kind, f"{name}-webhook", namespace)
    )
    failed = any(section["status"] != "match" for section in report.values())
    return {**report, "overall": "fail" if failed else "pass"}
