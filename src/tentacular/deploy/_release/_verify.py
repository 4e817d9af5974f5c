"""Post-apply checks of a release (K-R5, K-R10): is what runs what the unit bundled, and is it healthy?

Checks: the rollout is complete, the pod template and every pod carry the unit's code hash
and image (and, where the kubelet reports one, the image digest), no container restarts or
crash-loops, and one run through the workflow's Service succeeds. On failure the events and
the pods' last log lines are collected as diagnostics.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tentacular.deploy._kube.client import DEPLOYMENT, EVENT, POD, KubeClient
from tentacular.deploy._kube.trigger import trigger_workflow
from tentacular.deploy._kube.waiting import rollout_state
from tentacular.deploy._labels import CODE_HASH_ANNOTATION, NAME_LABEL
from tentacular.errors import TentacularError

LOG_TAIL_LINES = 40
CRASH_REASONS = frozenset(
    {"CrashLoopBackOff", "Error", "ImagePullBackOff", "ErrImagePull", "CreateContainerError"}
)


def _check(name: str, passed: bool, detail: str) -> dict[str, Any]:
    return {"name": name, "passed": passed, "detail": detail}


def _pod_problems(pod: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        waiting = (status.get("state") or {}).get("waiting") or {}
        if waiting.get("reason") in CRASH_REASONS:
            problems.append(f"{pod['metadata']['name']}: {waiting['reason']}")
        if int(status.get("restartCount") or 0) > 0:
            problems.append(f"{pod['metadata']['name']}: {status['restartCount']} restart(s)")
    return problems


def _digest_mismatches(pod: Mapping[str, Any], digest: str | None) -> list[str]:
    if digest is None:
        return []
    wrong: list[str] = []
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        image_id = str(status.get("imageID") or "")
        if image_id and not image_id.endswith(digest):
            wrong.append(f"{pod['metadata']['name']} runs {image_id}")
    return wrong


def verify_running(
    kube: KubeClient, unit: Mapping[str, Any], workflow: str, namespace: str, *, run: bool, timeout: float
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    image = unit["image"]["image"]
    digest = unit["image"].get("digest")
    code_hash = unit["workflow"]["codeHash"]
    checks: list[dict[str, Any]] = []
    deployment = kube.get(DEPLOYMENT, workflow, namespace)
    if deployment is None:
        checks.append(_check("deployed", False, f"Deployment {workflow} not found in {namespace}"))
        return checks, {}
    complete, ready, desired = rollout_state(deployment)
    checks.append(_check("ready", complete, f"{ready}/{desired} replicas ready"))
    template = deployment["spec"]["template"]
    live_hash = (template.get("metadata") or {}).get("annotations", {}).get(CODE_HASH_ANNOTATION)
    images = [c.get("image") for c in template["spec"].get("containers") or []]
    checks.append(_check("code hash", live_hash == code_hash, f"pod template runs {live_hash}"))
    checks.append(_check("image", images == [image], f"pod template runs {', '.join(map(str, images))}"))
    pods = [
        p
        for p in kube.list(POD, namespace, labels={NAME_LABEL: workflow})
        if (p.get("metadata") or {}).get("deletionTimestamp") is None
    ]
    stale = [
        p["metadata"]["name"]
        for p in pods
        if ((p["metadata"].get("annotations") or {}).get(CODE_HASH_ANNOTATION)) != code_hash
        or [c.get("image") for c in p["spec"].get("containers") or []] != [image]
    ]
    checks.append(
        _check(
            "pods",
            bool(pods) and not stale,
            f"{len(pods)} pod(s)" + (f"; not this release: {stale}" if stale else ""),
        )
    )
    wrong = [w for p in pods for w in _digest_mismatches(p, digest)]
    checks.append(_check("digest", not wrong, "; ".join(wrong) or f"running {digest or 'an unpinned tag'}"))
    problems = [problem for p in pods for problem in _pod_problems(p)]
    checks.append(_check("no crash loops", not problems, "; ".join(problems) or "no restarts"))
    if run:
        checks.append(_run_check(kube, workflow, namespace, timeout))
    diagnostics: dict[str, Any] = {}
    if not all(c["passed"] for c in checks):
        diagnostics = _diagnostics(kube, workflow, namespace, pods)
    return checks, diagnostics


def _run_check(kube: KubeClient, workflow: str, namespace: str, timeout: float) -> dict[str, Any]:
    try:
        outcome = trigger_workflow(kube, workflow, namespace, {}, timeout=timeout)
    except TentacularError as error:
        return _check("verification run", False, error.message)
    detail = "success" if outcome.success else f"success=false ({outcome.phase})"
    return _check("verification run", outcome.success, detail)


def _diagnostics(
    kube: KubeClient, workflow: str, namespace: str, pods: list[dict[str, Any]]
) -> dict[str, Any]:
    events: list[dict[str, Any]] = []
    for name in [workflow, *(p["metadata"]["name"] for p in pods)]:
        for event in kube.list(EVENT, namespace, fields={"involvedObject.name": name}):
            events.append(
                {
                    "object": name,
                    "reason": event.get("reason"),
                    "message": event.get("message"),
                    "time": event.get("lastTimestamp")
                    or (event.get("metadata") or {}).get("creationTimestamp"),
                }
            )
    logs: dict[str, list[str]] = {}
    for pod in pods:
        name = pod["metadata"]["name"]
        try:
            logs[name] = [line.rstrip("\n") for line in kube.pod_log(name, namespace, tail=LOG_TAIL_LINES)]
        except TentacularError as error:
            logs[name] = [f"(logs unavailable: {error.message})"]
    return {"events": events, "podLogs": logs}
