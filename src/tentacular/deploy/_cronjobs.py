"""One CronJob per cron trigger (INVENTORY §7.8 with D6, Q13, Q14, F-206).

The job runs our own engine image with ``tentacular.engine.trigger_client`` (no
third-party curl image): it POSTs to the engine's ``/run``, retrying only while the
connection is refused or unroutable (NetworkPolicy sync lag for new pods), prints the
ExecutionResult whatever the status and fails the job on a non-200 answer.
"""

from __future__ import annotations

import json
from typing import Any

from tentacular.deploy._dockerfile import ENGINE_PORT, ENGINE_PYTHON
from tentacular.deploy._workload import container_security_context, hardened_pod_spec
from tentacular.spec._model import CronTrigger, Workflow

TRIGGER_CONTAINER = "trigger"
TRIGGER_MODULE = "tentacular.engine.trigger_client"
TRIGGER_RESOURCES = {
    "requests": {"cpu": "10m", "memory": "32Mi"},
    "limits": {"cpu": "100m", "memory": "64Mi"},
}
HISTORY_LIMIT = 3
# A run missed by more than this (controller down, cluster busy) is skipped, not replayed late.
STARTING_DEADLINE_SECONDS = 300


def cron_triggers(workflow: Workflow) -> list[CronTrigger]:
    return [trigger for trigger in workflow.triggers if isinstance(trigger, CronTrigger)]


def cronjob_names(workflow: Workflow) -> list[str]:
    """``{wf}-cron`` for a single cron trigger, ``{wf}-cron-<i>`` (0-based among crons) otherwise."""
    count = len(cron_triggers(workflow))
    if count == 1:
        return [f"{workflow.name}-cron"]
    return [f"{workflow.name}-cron-{index}" for index in range(count)]


def run_url(workflow: Workflow, namespace: str) -> str:
    return f"http://{workflow.name}.{namespace}.svc.cluster.local:{ENGINE_PORT}/run"


def trigger_body(trigger: CronTrigger) -> str:
    return json.dumps({"trigger": trigger.name} if trigger.name else {}, separators=(",", ":"))


def trigger_command(url: str, body: str) -> list[str]:
    return [ENGINE_PYTHON, "-m", TRIGGER_MODULE, "--url", url, "--body", body]


def cronjob(
    *,
    name: str,
    trigger: CronTrigger,
    meta: dict[str, object],
    pod_labels: dict[str, str],
    url: str,
    image: str,
    image_pull_policy: str,
    runtime_class: str | None,
) -> dict[str, Any]:
    container = {
        "name": TRIGGER_CONTAINER,
        "image": image,
        "imagePullPolicy": image_pull_policy,
        "command": trigger_command(url, trigger_body(trigger)),
        "resources": {kind: dict(values) for kind, values in TRIGGER_RESOURCES.items()},
        "securityContext": container_security_context(),
    }
    pod_spec = hardened_pod_spec(
        containers=[container],
        volumes=[],
        runtime_class=runtime_class,
        service_account=None,
        mount_token=False,
        # Never + backoffLimit 0: a failed run is reported, not silently re-run (side effects).
        restart_policy="Never",
    )
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": meta,
        "spec": {
            "schedule": trigger.schedule,
            "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": STARTING_DEADLINE_SECONDS,
            "successfulJobsHistoryLimit": HISTORY_LIMIT,
            "failedJobsHistoryLimit": HISTORY_LIMIT,
            "jobTemplate": {
                "metadata": {"labels": dict(pod_labels)},
                "spec": {
                    "backoffLimit": 0,
                    "template": {"metadata": {"labels": dict(pod_labels)}, "spec": pod_spec},
                },
            },
        },
    }
