"""What the emulated cluster "does": rollouts, workflow pods, trigger pods, logs, selectors."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.cluster.emulator import KubeEmulator

TRIGGER_LABEL = "tentacular.io/role"
_HOST = re.compile(r"https?://([a-z0-9-]+)\.([a-z0-9-]+)\.svc")


def matches_labels(obj: dict[str, Any], selector: str) -> bool:
    labels = obj.get("metadata", {}).get("labels") or {}
    for term in _split_terms(selector):
        if m := re.fullmatch(r"([^!=\s]+)\s+(in|notin)\s+\((.*)\)", term):
            key, op, values = m.group(1), m.group(2), {v.strip() for v in m.group(3).split(",")}
            if (labels.get(key) in values) != (op == "in") or (op == "in" and key not in labels):
                return False
        elif "!=" in term:
            key, value = term.split("!=", 1)
            if labels.get(key) == value:
                return False
        elif "=" in term:
            key, value = term.replace("==", "=").split("=", 1)
            if labels.get(key) != value:
                return False
        elif term.startswith("!"):
            if term[1:] in labels:
                return False
        elif term not in labels:
            return False
    return True


def _split_terms(selector: str) -> list[str]:
    terms, depth, current = [], 0, ""
    for char in selector:
        depth += char == "("
        depth -= char == ")"
        if char == "," and depth == 0:
            terms.append(current.strip())
            current = ""
        else:
            current += char
    if current.strip():
        terms.append(current.strip())
    return terms


def matches_fields(obj: dict[str, Any], selector: str) -> bool:
    for term in _split_terms(selector):
        key, value = term.split("=", 1)
        current: Any = obj
        for part in key.split("."):
            current = current.get(part) if isinstance(current, dict) else None
        if str(current) != value:
            return False
    return True


def default_run(emulator: KubeEmulator, namespace: str, workflow: str, body: Any) -> tuple[int, Any] | None:
    """A healthy engine: reachable only when its Service exists and the Deployment is ready."""
    deployment = emulator.store.get(("deployments", namespace, workflow))
    if ("services", namespace, workflow) not in emulator.store or deployment is None:
        return None
    status = deployment.get("status") or {}
    if not status.get("readyReplicas"):
        return None
    now = 1_700_000_000_000
    result = {
        "success": True,
        "outputs": {"echo": body},
        "errors": {},
        "timing": {"startedAt": now, "completedAt": now + 5, "durationMs": 5, "nodeTimings": {}},
    }
    return 200, result


class Simulation:
    def __init__(self, emulator: KubeEmulator) -> None:
        self.emulator = emulator
        self.rollouts: dict[str, int] = {}
        self.polls_left: dict[tuple[str, str], int] = {}
        self.logs: dict[tuple[str, str], list[str]] = {}
        self.runs: list[dict[str, Any]] = []

    @staticmethod
    def now() -> str:
        return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def on_write(self, resource: str, old: dict[str, Any] | None, new: dict[str, Any]) -> None:
        if resource == "deployments":
            template_changed = old is None or old["spec"].get("template") != new["spec"].get("template")
            if template_changed:
                name, namespace = new["metadata"]["name"], new["metadata"]["namespace"]
                self.rollouts[name] = self.rollouts.get(name, 0) + 1
                replicas = int(new["spec"].get("replicas", 1))
                new["status"] = {
                    "observedGeneration": new["metadata"]["generation"],
                    "replicas": replicas,
                    "updatedReplicas": replicas,
                    "readyReplicas": 0,
                    "availableReplicas": 0,
                    "unavailableReplicas": replicas,
                }
                self.polls_left[(namespace, name)] = self.emulator.ready_after_polls
        elif resource == "pods" and (new["metadata"].get("labels") or {}).get(TRIGGER_LABEL) == "trigger":
            new["status"] = {"phase": "Pending"}

    def on_read(self, resource: str, obj: dict[str, Any]) -> None:
        if resource == "deployments":
            self._progress_rollout(obj)
        elif resource == "pods" and (obj.get("status") or {}).get("phase") == "Pending":
            self._execute_trigger(obj)

    def on_delete(self, resource: str, obj: dict[str, Any]) -> None:
        if resource == "deployments":
            self._delete_pods(obj["metadata"]["namespace"], obj["metadata"]["name"], keep_hash=None)

    def pod_log(self, namespace: str, name: str, query: dict[str, str]) -> str:
        from tests.cluster.emulator import ApiFailure

        if ("pods", namespace, name) not in self.emulator.store:
            raise ApiFailure(404, "NotFound", f'pods "{name}" not found')
        lines = self.logs.get((namespace, name), [])
        if "tailLines" in query:
            lines = lines[-int(query["tailLines"]) :] if int(query["tailLines"]) else []
        return "".join(line + "\n" for line in lines)

    def _progress_rollout(self, deployment: dict[str, Any]) -> None:
        name, namespace = deployment["metadata"]["name"], deployment["metadata"]["namespace"]
        key = (namespace, name)
        if key not in self.polls_left:
            return
        if self.polls_left[key] > 0:
            self.polls_left[key] -= 1
            return
        if name in self.emulator.never_ready:
            return
        del self.polls_left[key]
        replicas = int(deployment["spec"].get("replicas", 1))
        status = deployment["status"]
        status.update(readyReplicas=replicas, availableReplicas=replicas, unavailableReplicas=0)
        template = json.dumps(deployment["spec"]["template"], sort_keys=True)
        pod_hash = hashlib.sha256(template.encode()).hexdigest()[:10]
        self._delete_pods(namespace, name, keep_hash=pod_hash)
        labels = dict(deployment["spec"]["template"]["metadata"].get("labels") or {})
        for index in range(replicas):
            pod_name = f"{name}-{pod_hash}-{index}"
            if ("pods", namespace, pod_name) in self.emulator.store:
                continue
            self.emulator.put(
                {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {
                        "name": pod_name,
                        "namespace": namespace,
                        "labels": {**labels, "pod-template-hash": pod_hash},
                        # like the ReplicaSet controller: pods carry the template's annotations
                        "annotations": dict(
                            deployment["spec"]["template"]["metadata"].get("annotations") or {}
                        ),
                        "creationTimestamp": self.now(),
                    },
                    "spec": copy_spec(deployment),
                    "status": {
                        "phase": "Running",
                        "podIP": f"10.0.0.{10 + index}",
                        "conditions": [{"type": "Ready", "status": "True"}],
                    },
                }
            )
            self.logs[(namespace, pod_name)] = [
                f"engine {name} listening on :8080",
                f"loaded workflow {name}",
                "GET /health 200",
            ]

    def _delete_pods(self, namespace: str, workflow: str, keep_hash: str | None) -> None:
        for key, pod in list(self.emulator.store.items()):
            if key[0] != "pods" or key[1] != namespace:
                continue
            labels = pod["metadata"].get("labels") or {}
            if labels.get("app.kubernetes.io/name") != workflow or labels.get(TRIGGER_LABEL) == "trigger":
                continue
            if keep_hash is None or labels.get("pod-template-hash") != keep_hash:
                del self.emulator.store[key]

    def _execute_trigger(self, pod: dict[str, Any]) -> None:
        namespace = pod["metadata"]["namespace"]
        container = pod["spec"]["containers"][0]
        argv = [*container.get("command", []), *container.get("args", [])]
        url = argv[argv.index("--url") + 1] if "--url" in argv else ""
        body = json.loads(argv[argv.index("--body") + 1]) if "--body" in argv else None
        match = _HOST.match(url)
        workflow, target_ns = (match.group(1), match.group(2)) if match else ("", namespace)
        handler = self.emulator.run_handler
        outcome = (
            handler(target_ns, workflow, body)
            if handler
            else default_run(self.emulator, target_ns, workflow, body)
        )
        self.runs.append({"pod": pod["metadata"]["name"], "url": url, "body": body, "argv": argv})
        if outcome is None:
            pod["status"] = {"phase": "Failed"}
            self.logs[(namespace, pod["metadata"]["name"])] = [
                f"POST {url} failed: connection refused (5 attempts)"
            ]
            return
        code, result = outcome
        pod["status"] = {"phase": "Succeeded" if code == 200 else "Failed"}
        text = result if isinstance(result, str) else json.dumps(result)
        self.logs[(namespace, pod["metadata"]["name"])] = text.splitlines() or [""]


def copy_spec(deployment: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(deployment["spec"]["template"]["spec"]))
