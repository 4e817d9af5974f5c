"""A small Kubernetes API emulator speaking real HTTP, for the cluster tests.

kmock (PyPI) was evaluated first: it is aiohttp-based, treats PATCH as a JSON
merge and has no label selectors, SelfSubjectAccessReview, pods/log or
readiness simulation, so it would have needed most of this anyway.

What it does: an in-memory object store keyed by (resource, namespace, name);
server-side apply as the sole field manager (the applied object replaces what
that manager set; an identical apply changes nothing); label and field
selectors; namespaces must exist; SSAR answers from a deny list; Deployments
become ready after a configurable number of reads and get a pod per rollout;
trigger pods "execute" by calling ``run_handler`` and expose its body as log.
Every request is recorded for assertions.
"""

from __future__ import annotations

import base64
import copy
import json
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

from tests.cluster.emulator_sim import Simulation, matches_fields, matches_labels

KINDS: dict[str, tuple[str, str]] = {
    # plural: (apiVersion, kind)
    "namespaces": ("v1", "Namespace"),
    "configmaps": ("v1", "ConfigMap"),
    "secrets": ("v1", "Secret"),
    "services": ("v1", "Service"),
    "pods": ("v1", "Pod"),
    "events": ("v1", "Event"),
    "serviceaccounts": ("v1", "ServiceAccount"),
    "deployments": ("apps/v1", "Deployment"),
    "cronjobs": ("batch/v1", "CronJob"),
    "jobs": ("batch/v1", "Job"),
    "networkpolicies": ("networking.k8s.io/v1", "NetworkPolicy"),
    "ingresses": ("networking.k8s.io/v1", "Ingress"),
    "runtimeclasses": ("node.k8s.io/v1", "RuntimeClass"),
    "clusterroles": ("rbac.authorization.k8s.io/v1", "ClusterRole"),
    "clusterrolebindings": ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
    "selfsubjectaccessreviews": ("authorization.k8s.io/v1", "SelfSubjectAccessReview"),
}
CLUSTER_SCOPED = {
    "namespaces",
    "runtimeclasses",
    "clusterroles",
    "clusterrolebindings",
    "selfsubjectaccessreviews",
}
APPLY_PATCH = "application/apply-patch+yaml"
MERGE_PATCHES = frozenset({"application/strategic-merge-patch+json", "application/merge-patch+json"})


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    content_type: str
    body: Any

    @property
    def resource(self) -> str:
        return _route(self.path)[0] if self.path.startswith(("/api/", "/apis/")) else ""


@dataclass
class Failure:
    method: str
    resource: str
    name: str | None
    status: int
    message: str
    times: int = 1


@dataclass
class ApiFailure(Exception):
    status: int
    reason: str
    message: str


def _route(path: str) -> tuple[str, str | None, str | None, str | None]:
    """(resource, namespace, name, subresource) of an API path."""
    parts = [p for p in path.split("/") if p]
    rest = parts[2:] if parts[0] == "api" else parts[3:]
    namespace = None
    if rest and rest[0] == "namespaces" and len(rest) >= 3:
        namespace, rest = rest[1], rest[2:]
    resource = rest[0] if rest else ""
    name = rest[1] if len(rest) > 1 else None
    sub = rest[2] if len(rest) > 2 else None
    return resource, namespace, name, sub


@dataclass
class KubeEmulator:
    token: str | None = "emulator-token"
    ready_after_polls: int = 1
    never_ready: set[str] = field(default_factory=set)
    denied: set[tuple[str, str]] = field(default_factory=set)  # (verb, resource) SSAR says no to
    failures: list[Failure] = field(default_factory=list)
    run_handler: Callable[[str, str, Any], tuple[int, Any] | None] | None = None
    # pods/proxy: (namespace, pod, port, path, query) -> (status, JSON); None answers like an API
    # server that cannot dial the pod (503).
    pod_proxy: Callable[[str, str, int, str, dict[str, str]], tuple[int, Any]] | None = None
    requests: list[Recorded] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.lock = threading.RLock()
        self.store: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.sim = Simulation(self)
        self._rv = 100
        self._server: ThreadingHTTPServer | None = None

    # ----- lifecycle -------------------------------------------------------------------------
    def start(self) -> KubeEmulator:
        emulator = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def setup(self) -> None:
                super().setup()
                # Headers and body leave in separate writes; Nagle would delay each response by ~40 ms.
                self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def _serve(self) -> None:
                emulator._handle(self)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def kubeconfig(self, path: Path, context: str = "emulator", token: str | None = None) -> Path:
        document = {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": context,
            "clusters": [{"name": context, "cluster": {"server": self.url}}],
            "contexts": [{"name": context, "context": {"cluster": context, "user": context}}],
            "users": [{"name": context, "user": {"token": token or self.token or "none"}}],
        }
        path.write_text(yaml.safe_dump(document), encoding="utf-8")
        return path

    # ----- seeding and inspection ------------------------------------------------------------
    def next_rv(self) -> str:
        self._rv += 1
        return str(self._rv)

    def put(self, obj: dict[str, Any]) -> dict[str, Any]:
        plural = next(p for p, (_, k) in KINDS.items() if k == obj["kind"])
        meta = obj.setdefault("metadata", {})
        meta.setdefault("uid", f"uid-{self.next_rv()}")
        meta["resourceVersion"] = self.next_rv()
        with self.lock:
            self.store[
                (plural, meta.get("namespace", "") if plural not in CLUSTER_SCOPED else "", meta["name"])
            ] = obj
        return obj

    def add_namespace(self, name: str) -> None:
        self.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})

    def objects(self, resource: str, namespace: str | None = None) -> dict[str, dict[str, Any]]:
        with self.lock:
            return {
                key[2]: copy.deepcopy(obj)
                for key, obj in self.store.items()
                if key[0] == resource and (namespace is None or key[1] == namespace)
            }

    def get(self, resource: str, namespace: str, name: str) -> dict[str, Any] | None:
        return self.objects(resource, namespace).get(name)

    def calls(self, method: str, resource: str | None = None) -> list[Recorded]:
        return [
            r for r in self.requests if r.method == method and (resource is None or r.resource == resource)
        ]

    def clear_requests(self) -> None:
        with self.lock:
            self.requests.clear()

    def fail(
        self, method: str, resource: str, name: str | None = None, status: int = 500, message: str = "boom"
    ) -> None:
        self.failures.append(Failure(method, resource, name, status, message))

    # ----- HTTP --------------------------------------------------------------------------------
    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        split = urlsplit(handler.path)
        query = {k: v[-1] for k, v in parse_qs(split.query).items()}
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        content_type = handler.headers.get("Content-Type", "")
        body: Any = yaml.safe_load(raw) if raw else None  # YAML is a superset of JSON
        with self.lock:
            self.requests.append(
                Recorded(handler.command, split.path, query, content_type, copy.deepcopy(body))
            )
        try:
            if self.token and handler.headers.get("Authorization") != f"Bearer {self.token}":
                raise ApiFailure(401, "Unauthorized", "Unauthorized")
            status, payload = self._dispatch(handler.command, split.path, query, content_type, body)
        except ApiFailure as failure:
            status, payload = failure.status, _status(failure.status, failure.reason, failure.message)
        if isinstance(payload, str):
            data, ctype = payload.encode(), "text/plain"
        else:
            data, ctype = json.dumps(payload).encode(), "application/json"
        handler.send_response(status)
        handler.send_header("Content-Type", ctype)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def _dispatch(
        self, method: str, path: str, query: dict[str, str], ctype: str, body: Any
    ) -> tuple[int, Any]:
        if path == "/version":
            return 200, {"major": "1", "minor": "30", "gitVersion": "v1.30.0-emulator"}
        resource, namespace, name, sub = _route(path)
        if resource == "pods" and sub == "proxy" and method == "GET":
            return self._proxy(namespace or "", name or "", path.split("/proxy", 1)[1] or "/", query)
        if resource not in KINDS:
            raise ApiFailure(
                404, "NotFound", f"the server could not find the requested resource ({resource})"
            )
        self._inject_failure(method, resource, name)
        verb = {"GET": "get" if name else "list", "POST": "create", "PATCH": "patch", "DELETE": "delete"}.get(
            method, ""
        )
        if resource != "selfsubjectaccessreviews" and (verb, resource) in self.denied:
            raise ApiFailure(
                403, "Forbidden", f'{resource} is forbidden: User "tester" cannot {verb} {resource}'
            )
        with self.lock:
            if method == "GET" and sub == "log":
                return 200, self.sim.pod_log(namespace or "", name or "", query)
            if method == "GET" and name:
                return 200, self._read(resource, namespace, name)
            if method == "GET" and query.get("watch") == "true":
                # A watch that reports the current state once and ends (the client watches again).
                items = self._list(resource, namespace, query)["items"]
                return 200, "".join(json.dumps({"type": "MODIFIED", "object": o}) + "\n" for o in items)
            if method == "GET":
                return 200, self._list(resource, namespace, query)
            if method == "POST":
                return 201, self._create(resource, namespace, body)
            if method == "PATCH" and name:
                return self._apply(resource, namespace, name, query, ctype, body)
            if method == "DELETE" and name:
                return 200, self._delete(resource, namespace, name)
        raise ApiFailure(405, "MethodNotAllowed", f"{method} not supported on {path}")

    def _proxy(self, namespace: str, target: str, path: str, query: dict[str, str]) -> tuple[int, Any]:
        pod, _, port = target.partition(":")
        if ("get", "pods/proxy") in self.denied:
            raise ApiFailure(403, "Forbidden", f'pods "{pod}" is forbidden: cannot get resource "pods/proxy"')
        if ("pods", namespace, pod) not in self.store:
            raise ApiFailure(404, "NotFound", f'pods "{pod}" not found')
        if self.pod_proxy is None:
            raise ApiFailure(
                503, "ServiceUnavailable", f"error trying to reach service: dial tcp {pod}:{port}"
            )
        return self.pod_proxy(namespace, pod, int(port or 80), path, query)

    def _inject_failure(self, method: str, resource: str, name: str | None) -> None:
        for failure in self.failures:
            wanted = failure.method == method and failure.resource == resource
            if failure.times > 0 and wanted and failure.name in (None, name):
                failure.times -= 1
                raise ApiFailure(failure.status, "InternalError", failure.message)

    def _key(self, resource: str, namespace: str | None, name: str) -> tuple[str, str, str]:
        return (resource, "" if resource in CLUSTER_SCOPED else namespace or "", name)

    def _require_namespace(self, resource: str, namespace: str | None) -> None:
        if resource not in CLUSTER_SCOPED and ("namespaces", "", namespace or "") not in self.store:
            raise ApiFailure(404, "NotFound", f'namespaces "{namespace}" not found')

    def _read(self, resource: str, namespace: str | None, name: str) -> dict[str, Any]:
        obj = self.store.get(self._key(resource, namespace, name))
        if obj is None:
            raise ApiFailure(404, "NotFound", f'{resource} "{name}" not found')
        self.sim.on_read(resource, obj)
        return copy.deepcopy(self.store[self._key(resource, namespace, name)])

    def _list(self, resource: str, namespace: str | None, query: dict[str, str]) -> dict[str, Any]:
        items = []
        for (res, ns, _), obj in sorted(self.store.items()):
            if res != resource or (namespace is not None and ns != namespace):
                continue
            self.sim.on_read(resource, obj)
            if matches_labels(obj, query.get("labelSelector", "")) and matches_fields(
                obj, query.get("fieldSelector", "")
            ):
                items.append(copy.deepcopy(obj))
        api_version, kind = KINDS[resource]
        return {
            "apiVersion": api_version,
            "kind": f"{kind}List",
            "metadata": {"resourceVersion": str(self._rv)},
            "items": items,
        }

    def _create(self, resource: str, namespace: str | None, body: dict[str, Any]) -> dict[str, Any]:
        if resource == "selfsubjectaccessreviews":
            attrs = body["spec"]["resourceAttributes"]
            allowed = (attrs["verb"], attrs["resource"]) not in self.denied
            return {**body, "status": {"allowed": allowed}}
        self._require_namespace(resource, namespace)
        name = body["metadata"]["name"]
        key = self._key(resource, namespace, name)
        if key in self.store:
            raise ApiFailure(409, "AlreadyExists", f'{resource} "{name}" already exists')
        obj = copy.deepcopy(body)
        if namespace:
            obj["metadata"]["namespace"] = namespace
        self._stamp(obj, None)
        self.store[key] = obj
        self.sim.on_write(resource, None, obj)
        return copy.deepcopy(obj)

    def _apply(
        self, resource: str, namespace: str | None, name: str, query: dict[str, str], ctype: str, body: Any
    ) -> tuple[int, dict[str, Any]]:
        if ctype in MERGE_PATCHES:
            return self._merge_patch(resource, namespace, name, body)
        if ctype != APPLY_PATCH:
            raise ApiFailure(415, "UnsupportedMediaType", f"only {APPLY_PATCH} is emulated, got {ctype}")
        if not query.get("fieldManager"):
            raise ApiFailure(400, "BadRequest", "fieldManager is required for apply patch")
        self._require_namespace(resource, namespace)
        key = self._key(resource, namespace, name)
        existing = self.store.get(key)
        desired = copy.deepcopy(body)
        if namespace:
            desired["metadata"]["namespace"] = namespace
        if resource == "secrets":
            encoded = {
                k: base64.b64encode(str(v).encode()).decode()
                for k, v in (desired.pop("stringData", None) or {}).items()
            }
            desired["data"] = {**(desired.get("data") or {}), **encoded}
        if existing is not None:
            for preserved in ("uid", "creationTimestamp", "resourceVersion", "generation"):
                if preserved in existing["metadata"]:
                    desired["metadata"][preserved] = existing["metadata"][preserved]
            if "status" in existing:
                desired["status"] = existing["status"]
            if resource == "services" and "clusterIP" in existing.get("spec", {}):
                desired.setdefault("spec", {})["clusterIP"] = existing["spec"]["clusterIP"]
            if desired == existing:
                return 200, copy.deepcopy(existing)
        self._stamp(desired, existing)
        self.store[key] = desired
        self.sim.on_write(resource, existing, desired)
        return (200 if existing else 201), copy.deepcopy(desired)

    def _merge_patch(
        self, resource: str, namespace: str | None, name: str, body: Any
    ) -> tuple[int, dict[str, Any]]:
        """JSON merge patch semantics (a strategic patch of maps, e.g. `kubectl rollout restart`)."""
        key = self._key(resource, namespace, name)
        existing = self.store.get(key)
        if existing is None:
            raise ApiFailure(404, "NotFound", f'{resource} "{name}" not found')
        patched = _merge(copy.deepcopy(existing), body or {})
        if patched == existing:
            return 200, copy.deepcopy(existing)
        self._stamp(patched, existing)
        self.store[key] = patched
        self.sim.on_write(resource, existing, patched)
        return 200, copy.deepcopy(patched)

    def _stamp(self, obj: dict[str, Any], existing: dict[str, Any] | None) -> None:
        meta = obj["metadata"]
        meta.setdefault("uid", f"uid-{self._rv + 1}")
        meta.setdefault("creationTimestamp", self.sim.now())
        meta["resourceVersion"] = self.next_rv()
        if existing is None or existing.get("spec") != obj.get("spec"):
            meta["generation"] = int(meta.get("generation", 0)) + 1

    def _delete(self, resource: str, namespace: str | None, name: str) -> dict[str, Any]:
        key = self._key(resource, namespace, name)
        obj = self.store.pop(key, None)
        if obj is None:
            raise ApiFailure(404, "NotFound", f'{resource} "{name}" not found')
        self.sim.on_delete(resource, obj)
        return _status(200, "", "deleted", success=True)


def _merge(target: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            target[key] = _merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)
    return target


def _status(code: int, reason: str, message: str, *, success: bool = False) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Status",
        "metadata": {},
        "status": "Success" if success else "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
