"""Trigger a deployed workflow once from a short-lived pod inside the cluster (D6, Q13, Q14).

The pod runs our own engine image (``tentacular.engine.trigger_client``), carries
the trigger role label the generated NetworkPolicy admits, passes the restricted
Pod Security profile, and its log is the engine's response body whether the
workflow succeeded or not.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from tentacular.deploy._cronjobs import TRIGGER_CONTAINER, TRIGGER_RESOURCES, trigger_command
from tentacular.deploy._dockerfile import ENGINE_PORT
from tentacular.deploy._kube.client import DEPLOYMENT, POD, KubeClient
from tentacular.deploy._kube.waiting import Clock, Progress, default_clock, rollout_state, wait_for_rollout
from tentacular.deploy._labels import (
    COMPONENT_LABEL,
    MANAGED_BY,
    MANAGED_BY_LABEL,
    ROLE_LABEL,
    ROLE_TRIGGER,
    WORKFLOW_LABEL,
)
from tentacular.deploy._workload import ENGINE_CONTAINER, container_security_context, hardened_pod_spec
from tentacular.errors import ClusterNotFoundError, TriggerRunError

_MAX_NAME = 63


@dataclass
class RunOutcome:
    """What one run produced: the ExecutionResult when the engine answered, else the raw log."""

    pod: str
    phase: str
    execution: dict[str, Any] | None
    raw: str

    @property
    def success(self) -> bool:
        return bool(self.execution and self.execution.get("success"))


def service_url(name: str, namespace: str) -> str:
    return f"http://{name}.{namespace}.svc.cluster.local:{ENGINE_PORT}/run"


def run_pod_name(name: str, epoch_ms: int) -> str:
    suffix = f"-{epoch_ms}"
    return f"tntc-run-{name}"[: _MAX_NAME - len(suffix)].rstrip("-") + suffix


def run_pod(
    deployment: dict[str, Any], name: str, namespace: str, body: Any, pod_name: str, *, deadline: float
) -> dict[str, Any]:
    """The trigger pod: the CronJob's container and hardening, on the Deployment's image and RuntimeClass."""
    template = deployment["spec"]["template"]["spec"]
    engine = next(
        (c for c in template["containers"] if c.get("name") == ENGINE_CONTAINER), template["containers"][0]
    )
    container = {
        "name": TRIGGER_CONTAINER,
        "image": engine["image"],
        "imagePullPolicy": engine.get("imagePullPolicy", "IfNotPresent"),
        "command": [
            *trigger_command(service_url(name, namespace), json.dumps(body, separators=(",", ":"))),
            "--timeout",
            str(int(deadline)),
        ],
        "resources": {kind: dict(values) for kind, values in TRIGGER_RESOURCES.items()},
        "securityContext": container_security_context(),
    }
    spec = hardened_pod_spec(
        containers=[container],
        volumes=[],
        runtime_class=template.get("runtimeClassName"),
        service_account=None,
        mount_token=False,
        restart_policy="Never",
    )
    # If tntc dies mid-run the pod still ends, instead of lingering with an open request.
    spec["activeDeadlineSeconds"] = int(deadline) + 60
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": pod_name,
            "namespace": namespace,
            "labels": {
                ROLE_LABEL: ROLE_TRIGGER,
                WORKFLOW_LABEL: name,
                COMPONENT_LABEL: "run",
                MANAGED_BY_LABEL: MANAGED_BY,
            },
        },
        "spec": spec,
    }


def parse_result(log: str) -> dict[str, Any] | None:
    """The engine's JSON body; retry chatter from the client may precede it on stderr."""
    text = log.strip()
    candidates = [text, *reversed(text.splitlines())]
    for candidate in candidates:
        try:
            value = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


def trigger_workflow(
    client: KubeClient,
    name: str,
    namespace: str,
    body: Any,
    *,
    timeout: float,
    clock: Clock | None = None,
) -> RunOutcome:
    clock = clock or default_clock()
    started = clock.monotonic()
    deployment = client.get(DEPLOYMENT, name, namespace)
    if deployment is None:
        raise ClusterNotFoundError(
            f"workflow {name} is not deployed in namespace {namespace}",
            hint=f"see what is deployed: tntc list -n {namespace}",
        )
    if not rollout_state(deployment)[0]:
        # Right after a deploy the engine is not serving yet: wait for it (within --timeout)
        # instead of failing the run against a pod that is still starting.
        deployment = wait_for_rollout(
            client, name, namespace, timeout=timeout, clock=clock, deployment=deployment
        )
    timeout = max(timeout - (clock.monotonic() - started), 1.0)
    pod_name = run_pod_name(name, int(time.time() * 1000))
    client.create(run_pod(deployment, name, namespace, body, pod_name, deadline=timeout))
    progress = Progress(f"Running workflow {name} in {namespace}...")
    try:
        phase = _wait_for_exit(client, pod_name, namespace, timeout, clock)
        if phase is None:
            progress.stop()
            raise TriggerRunError(
                f"workflow run did not finish within {timeout:.0f}s (pod {pod_name})",
                hint=f"raise --timeout, or look at the engine: tntc logs {name} -n {namespace}",
            )
        raw = "".join(client.pod_log(pod_name, namespace))
        progress.stop()
    finally:
        client.delete(POD, pod_name, namespace)
    execution = parse_result(raw)
    if execution is None and phase != "Succeeded":
        raise TriggerRunError(
            f"workflow run failed: {raw.strip() or 'no output'}",
            hint=f"check deployment logs with: tntc logs {name} -n {namespace}",
        )
    return RunOutcome(pod_name, phase, execution, raw)


def _wait_for_exit(client: KubeClient, pod: str, namespace: str, timeout: float, clock: Clock) -> str | None:
    deadline = clock.monotonic() + timeout
    while True:
        current = client.get(POD, pod, namespace)
        phase = ((current or {}).get("status") or {}).get("phase")
        if phase in ("Succeeded", "Failed"):
            return str(phase)
        if clock.monotonic() >= deadline:
            return None
        clock.sleep(min(1.0, max(deadline - clock.monotonic(), 0.0)))
