"""A thin dict-in/dict-out wrapper over lightkube: connection, apply, get, list, delete, logs, SSAR.

Everything here speaks plain Kubernetes JSON objects so the layers above never
depend on lightkube's model classes, and every failure leaves as a ClusterError.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from tentacular.deploy._kind import kubeconfig_paths
from tentacular.deploy._kube.errors import (
    Request,
    config_error,
    is_kubelet_failure,
    is_not_found,
    kubelet_unreachable,
    translate,
)
from tentacular.deploy._settings import ClusterTarget

FIELD_MANAGER = "tntc"
API_TIMEOUT_SECONDS = 30.0
T = TypeVar("T")


@dataclass(frozen=True, order=True)
class Kind:
    api_version: str
    kind: str

    @property
    def group(self) -> str:
        return self.api_version.split("/")[0] if "/" in self.api_version else ""


CONFIG_MAP = Kind("v1", "ConfigMap")
SECRET = Kind("v1", "Secret")
SERVICE = Kind("v1", "Service")
POD = Kind("v1", "Pod")
EVENT = Kind("v1", "Event")
NAMESPACE = Kind("v1", "Namespace")
SERVICE_ACCOUNT = Kind("v1", "ServiceAccount")
DEPLOYMENT = Kind("apps/v1", "Deployment")
CRON_JOB = Kind("batch/v1", "CronJob")
NETWORK_POLICY = Kind("networking.k8s.io/v1", "NetworkPolicy")
RUNTIME_CLASS = Kind("node.k8s.io/v1", "RuntimeClass")
NODE = Kind("v1", "Node")  # read by cluster check (kernel layers)
CLUSTER_ROLE = Kind("rbac.authorization.k8s.io/v1", "ClusterRole")
CLUSTER_ROLE_BINDING = Kind("rbac.authorization.k8s.io/v1", "ClusterRoleBinding")
INGRESS = Kind("networking.k8s.io/v1", "Ingress")
HTTP_ROUTE = Kind("gateway.networking.k8s.io/v1", "HTTPRoute")
# Custom resources lightkube has no model for: kind -> plural (webhook exposure, issue 14).
GENERIC_RESOURCES = {HTTP_ROUTE: "httproutes"}
CLUSTER_SCOPED = frozenset({NAMESPACE, RUNTIME_CLASS, CLUSTER_ROLE, CLUSTER_ROLE_BINDING, NODE})


def kind_of(obj: Mapping[str, Any]) -> Kind:
    return Kind(str(obj["apiVersion"]), str(obj["kind"]))


def describe(obj: Mapping[str, Any]) -> str:
    """``Kind/name`` as kubectl prints it."""
    return f"{obj['kind']}/{obj['metadata']['name']}"


@functools.cache
def _resource_class(kind: Kind) -> Any:
    from lightkube.codecs import resource_registry

    if kind in GENERIC_RESOURCES:
        from lightkube.generic_resource import create_namespaced_resource

        group, version = kind.api_version.split("/")
        return create_namespaced_resource(group, version, kind.kind, GENERIC_RESOURCES[kind])
    return resource_registry.load(kind.api_version, kind.kind)


def plural(kind: Kind) -> str:
    return str(_resource_class(kind)._api_info.plural)


def _request(verb: str, kind: Kind, namespace: str | None) -> Request:
    return Request(verb, plural(kind), kind.group, None if kind in CLUSTER_SCOPED else namespace)


def _plain(obj: Any) -> dict[str, Any]:
    return dict(obj.to_dict()) if hasattr(obj, "to_dict") else dict(obj)


class KubeClient:
    """One connection to one cluster context."""

    def __init__(self, client: Any, *, server: str, context: str | None, user: str | None = None) -> None:
        self._client = client
        self.server = server
        self.context = context
        self.user = user  # the kubeconfig user entry, for tentacular.io/deployed-by

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> KubeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(
        self, action: str, namespace: str | None, call: Callable[[], T], request: Request | None = None
    ) -> T:
        try:
            return call()
        except Exception as exc:
            raise translate(exc, action, server=self.server, namespace=namespace, request=request) from exc

    def server_version(self) -> dict[str, Any]:
        # lightkube has no /version helper; its underlying httpx client is the one honest way to ask.
        http = self._client._client._client

        def fetch() -> dict[str, Any]:
            response = http.get("/version")
            response.raise_for_status()
            return dict(response.json())

        return self._call("read server version", None, fetch)

    def get(self, kind: Kind, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        resource = _resource_class(kind)
        try:
            found = self._client.get(resource, name, namespace=_scope(kind, namespace))
        except Exception as exc:
            if is_not_found(exc):
                return None
            raise translate(
                exc,
                f"read {kind.kind}/{name}",
                server=self.server,
                namespace=namespace,
                request=_request("get", kind, namespace),
            ) from exc
        return _plain(found)

    def list(
        self,
        kind: Kind,
        namespace: str | None,
        *,
        labels: Mapping[str, str] | None = None,
        fields: Mapping[str, str] | None = None,
    ) -> list[dict[str, Any]]:
        """``namespace=None`` lists across all namespaces (for namespaced kinds)."""
        resource = _resource_class(kind)
        scope = "*" if namespace is None and kind not in CLUSTER_SCOPED else _scope(kind, namespace)
        return self._call(
            f"list {kind.kind}",
            namespace,
            lambda: [
                _plain(item)
                for item in self._client.list(
                    resource,
                    namespace=scope,
                    labels=dict(labels or {}) or None,
                    fields=dict(fields or {}) or None,
                )
            ],
            _request("list", kind, namespace),
        )

    def watch(
        self, kind: Kind, name: str, namespace: str, *, resource_version: str | None, timeout: float
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        """One watch request on one object: (event type, object) for each change after
        ``resource_version``, until the server ends the request after ``timeout`` seconds.
        An ``ERROR`` event carries the API's Status (410: that version is too old to watch from)."""
        import json

        import httpx2

        http = self._client._client._client
        prefix = f"/apis/{kind.api_version}" if kind.group else f"/api/{kind.api_version}"
        params = {
            "watch": "true",
            "fieldSelector": f"metadata.name={name}",
            "timeoutSeconds": str(max(int(timeout), 1)),
        }
        if resource_version:
            params["resourceVersion"] = resource_version
        url = f"{prefix}/namespaces/{namespace}/{plural(kind)}"
        # The server ends the request after timeoutSeconds; the client allows it that long and more.
        request = http.build_request("GET", url, params=params, timeout=httpx2.Timeout(timeout + 30.0))
        response = self._call(
            f"watch {kind.kind}/{name}",
            namespace,
            lambda: _raised(http.send(request, stream=True)),
            _request("watch", kind, namespace),
        )
        try:
            lines = response.iter_lines()
            while True:
                line = self._call(f"watch {kind.kind}/{name}", namespace, lambda: next(lines, None))
                if line is None:
                    return
                if line.strip():
                    event = json.loads(line)
                    yield str(event.get("type")), dict(event.get("object") or {})
        finally:
            response.close()

    def apply(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        """Server-side apply as field manager ``tntc`` (D6); tntc owns what it generates, so force."""
        from lightkube.codecs import from_dict

        namespace = obj.get("metadata", {}).get("namespace")
        _resource_class(kind_of(obj))  # registers a custom resource (HTTPRoute) for from_dict
        typed = from_dict(dict(obj))
        applied = self._call(
            f"apply {describe(obj)}",
            namespace,
            lambda: self._client.apply(typed, field_manager=FIELD_MANAGER, force=True),
            _request("patch", kind_of(obj), namespace),
        )
        return _plain(applied)

    def patch(
        self, kind: Kind, name: str, namespace: str | None, patch: Mapping[str, Any], *, field_manager: str
    ) -> dict[str, Any]:
        """A strategic merge patch (what ``kubectl rollout restart`` sends) for one small change."""
        from lightkube.types import PatchType

        return self._patch(kind, name, namespace, dict(patch), PatchType.STRATEGIC, field_manager)

    def json_patch(
        self, kind: Kind, name: str, namespace: str | None, operations: Sequence[Mapping[str, Any]]
    ) -> dict[str, Any]:
        """An RFC 6902 patch (``deploy --reclaim`` removes foreign fields by path, with a precondition)."""
        from lightkube.types import PatchType

        return self._patch(
            kind, name, namespace, [dict(op) for op in operations], PatchType.JSON, FIELD_MANAGER
        )

    def _patch(
        self, kind: Kind, name: str, namespace: str | None, body: Any, patch_type: Any, field_manager: str
    ) -> dict[str, Any]:
        resource = _resource_class(kind)
        patched = self._call(
            f"patch {kind.kind}/{name}",
            namespace,
            lambda: self._client.patch(
                resource,
                name,
                body,
                namespace=_scope(kind, namespace),
                patch_type=patch_type,
                field_manager=field_manager,
            ),
            _request("patch", kind, namespace),
        )
        return _plain(patched)

    def create(self, obj: Mapping[str, Any], *, dry_run: bool = False) -> dict[str, Any]:
        """Create one object; ``dry_run``: the server admits (or refuses) it and stores nothing."""
        from lightkube.codecs import from_dict

        namespace = obj.get("metadata", {}).get("namespace")
        typed = from_dict(dict(obj))
        label = describe(obj) if obj.get("metadata", {}).get("name") else obj["kind"]
        created = self._call(
            f"create {label}" + (" (dry run)" if dry_run else ""),
            namespace,
            lambda: self._client.create(typed, dry_run=dry_run),
            _request("create", kind_of(obj), namespace),
        )
        return _plain(created)

    def delete(self, kind: Kind, name: str, namespace: str | None = None) -> bool:
        """Delete one object; False when it was already gone."""
        from lightkube.types import CascadeType

        resource = _resource_class(kind)
        try:
            # Background: the object goes now and its pods follow, so an immediate redeploy never
            # meets an object stuck in foreground deletion.
            self._client.delete(
                resource, name, namespace=_scope(kind, namespace), cascade=CascadeType.BACKGROUND
            )
        except Exception as exc:
            if is_not_found(exc):
                return False
            raise translate(
                exc,
                f"delete {kind.kind}/{name}",
                server=self.server,
                namespace=namespace,
                request=_request("delete", kind, namespace),
            ) from exc
        return True

    def pod_log(
        self, name: str, namespace: str, *, tail: int | None = None, follow: bool = False
    ) -> Iterator[str]:
        action = f"read logs of Pod/{name}"
        try:
            lines = self._client.log(name, namespace=namespace, tail_lines=tail, follow=follow)
            yield from lines
        except Exception as exc:
            if is_kubelet_failure(exc):
                raise kubelet_unreachable(exc, action, name, self._node_of(name, namespace)) from exc
            raise translate(
                exc,
                action,
                server=self.server,
                namespace=namespace,
                request=Request("get", "pods/log", "", namespace),
            ) from exc

    def pod_proxy_get(
        self, pod: str, namespace: str, port: int, path: str, params: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """GET a JSON document from a pod's port through the API server's proxy (``pods/proxy``)."""
        http = self._client._client._client
        url = f"/api/v1/namespaces/{namespace}/pods/{pod}:{port}/proxy/{path.lstrip('/')}"

        def fetch() -> dict[str, Any]:
            response = http.get(url, params=params)
            response.raise_for_status()
            return dict(response.json())

        return self._call(
            f"read /{path.lstrip('/')} of Pod/{pod} through the API proxy",
            namespace,
            fetch,
            Request("get", "pods/proxy", "", namespace),
        )

    def _node_of(self, pod: str, namespace: str) -> str | None:
        try:
            found = self.get(POD, pod, namespace)
        except Exception:  # the node name only improves the message; never hide the real failure
            return None
        node = ((found or {}).get("spec") or {}).get("nodeName")
        return str(node) if node else None


def _raised(response: Any) -> Any:
    """A streamed response, or its failure as httpx raises it (read first, so the message shows)."""
    if response.is_error:
        response.read()
        response.close()
        response.raise_for_status()
    return response


def _scope(kind: Kind, namespace: str | None) -> str | None:
    return None if kind in CLUSTER_SCOPED else namespace


def connect(target: ClusterTarget, *, timeout: float = API_TIMEOUT_SECONDS) -> KubeClient:
    """Explicit kubeconfig (+context) > context in $KUBECONFIG/~/.kube/config > in-cluster > default file."""
    import httpx2
    from lightkube import Client, KubeConfig
    from lightkube.core.exceptions import ConfigError

    config: Any
    try:
        if target.kubeconfig is not None or target.context is not None:
            config = KubeConfig.from_file(_file_for(target)).get(target.context)
        else:
            try:
                config = KubeConfig.from_service_account().get()
            except ConfigError:
                config = KubeConfig.from_file(_file_for(target)).get()
    except ConfigError as exc:
        raise config_error(exc, target.context or "current context") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise config_error(f"{type(exc).__name__}: {exc}", str(target.kubeconfig or "kubeconfig")) from None
    try:
        client = Client(config, timeout=httpx2.Timeout(timeout), field_manager=FIELD_MANAGER)
    except (ConfigError, OSError, ValueError) as exc:
        raise config_error(exc, config.context_name) from None
    return KubeClient(
        client, server=str(config.cluster.server), context=config.context_name, user=config.context.user
    )


def _file_for(target: ClusterTarget) -> Path:
    """With a multi-file $KUBECONFIG, the first file that defines the wanted context."""
    files = kubeconfig_paths(target.kubeconfig, os.environ)
    if len(files) == 1 or target.context is None:
        return files[0]
    import yaml

    for path in files:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError):
            continue
        names = {entry.get("name") for entry in data.get("contexts") or [] if isinstance(entry, dict)}
        if target.context in names:
            return path
    return files[0]
