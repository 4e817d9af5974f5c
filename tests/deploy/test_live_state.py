"""What one apply reads and skips (deploy._kube.live) and how the preflight reads a rules review."""

from __future__ import annotations

import copy
from typing import Any

from tentacular.deploy._kube.access import _matches
from tentacular.deploy._kube.client import (
    CONFIG_MAP,
    CRON_JOB,
    DEPLOYMENT,
    HTTP_ROUTE,
    INGRESS,
    NETWORK_POLICY,
)
from tentacular.deploy._kube.live import (
    PRUNABLE,
    already_applied,
    kinds_for_apply,
    kinds_record,
    recorded_kinds,
)
from tentacular.deploy._kube.permissions import Permission
from tentacular.deploy._labels import KINDS_ANNOTATION, OBJECT_HASH_ANNOTATION


def _deployment(record: str | None) -> dict[str, Any]:
    annotations = {KINDS_ANNOTATION: record} if record is not None else {}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "w", "annotations": annotations},
    }


def _config_map(**extra: Any) -> dict[str, Any]:
    meta = {"name": "w-code", "annotations": {OBJECT_HASH_ANNOTATION: "sha256:1"}}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {"a": "1"}, **extra}


def test_the_kinds_record_round_trips_and_narrows_what_is_read() -> None:
    record = kinds_record([DEPLOYMENT, CONFIG_MAP, CRON_JOB, CONFIG_MAP])
    assert record == "apps/v1/Deployment,batch/v1/CronJob,v1/ConfigMap"
    assert recorded_kinds(_deployment(record)) == {DEPLOYMENT, CONFIG_MAP, CRON_JOB}
    desired = [_config_map(), _deployment(None)]
    # Recorded: what is rendered now, what the replaced version rendered, and NetworkPolicies.
    assert kinds_for_apply(desired, _deployment(record)) == [CONFIG_MAP, DEPLOYMENT, CRON_JOB, NETWORK_POLICY]
    # No record (an older tntc): every prunable kind but the gated HTTPRoute.
    assert kinds_for_apply(desired, _deployment(None)) == [
        CONFIG_MAP,
        DEPLOYMENT,
        CRON_JOB,
        INGRESS,
        NETWORK_POLICY,
    ]
    assert HTTP_ROUTE in PRUNABLE
    # No Deployment: a first install reads only what an interrupted apply may have left.
    assert kinds_for_apply(desired, None) == [NETWORK_POLICY]


def test_only_an_object_exactly_as_rendered_and_owned_by_tntc_alone_is_skipped() -> None:
    desired = _config_map()
    live = copy.deepcopy(desired)
    live["metadata"]["resourceVersion"] = "7"  # server fields on top do not matter
    live["metadata"]["managedFields"] = [
        {"manager": "tntc", "operation": "Apply", "fieldsV1": {"f:data": {}}}
    ]
    assert already_applied(desired, live)
    assert not already_applied(desired, None)
    changed = copy.deepcopy(live)
    changed["data"]["a"] = "2"
    assert not already_applied(desired, changed), "a value someone changed is applied back"
    longer = _config_map(data={"a": "1"}, binaryData={})
    assert not already_applied(longer, live), "a field the live object lacks"
    other_hash = copy.deepcopy(live)
    other_hash["metadata"]["annotations"][OBJECT_HASH_ANNOTATION] = "sha256:0"
    assert not already_applied(desired, other_hash), "another rendering (fields may have to go)"
    drifted = copy.deepcopy(live)
    drifted["metadata"]["managedFields"].append(
        {"manager": "kubectl-edit", "operation": "Update", "fieldsV1": {"f:data": {"f:b": {}}}}
    )
    assert not already_applied(desired, drifted), "a foreign field: the apply reports or takes it back"


def test_rules_review_matching_follows_rbac() -> None:
    get_pods_log = Permission("get", "", "pods/log")
    assert _matches({"verbs": ["get"], "apiGroups": [""], "resources": ["pods/log"]}, get_pods_log, None)
    assert _matches({"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}, get_pods_log, None)
    assert _matches({"verbs": ["get"], "apiGroups": [""], "resources": ["*/log"]}, get_pods_log, None)
    assert not _matches({"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}, get_pods_log, None)
    patch = Permission("patch", "apps", "deployments")
    assert not _matches(
        {"verbs": ["get", "list"], "apiGroups": ["apps"], "resources": ["deployments"]}, patch, None
    )
    assert not _matches({"verbs": ["patch"], "apiGroups": [""], "resources": ["deployments"]}, patch, None)
    named = {"verbs": ["get"], "apiGroups": [""], "resources": ["namespaces"], "resourceNames": ["team"]}
    assert _matches(named, Permission("get", "", "namespaces"), "team")
    assert not _matches(named, Permission("get", "", "namespaces"), "other")
    assert not _matches(named, Permission("get", "", "namespaces"), None)
