"""Fixtures on the real control plane: the session cluster, a fresh restricted namespace per
test, an admin kubeconfig, an ``edit``-in-namespace deployer, and a small admin API for asserts.

How a test uses them (tntc finds the cluster the way a user's shell would: ``$KUBECONFIG`` and
the namespace in ~/.tentacular/config.yaml)::

    def test_x(admin_kubeconfig: Path, kube: Kube) -> None:
        main(["deploy", str(directory)])           # lands in kube.namespace, as cluster-admin
        assert kube.get("deployments", "word-counter")["status"]["readyReplicas"] == 1

    def test_y(edit_deployer: EditDeployer, kube: Kube) -> None:
        edit_deployer()                              # $KUBECONFIG now holds an SA token bound to
        main(["deploy", str(directory)])           # the built-in `edit` ClusterRole in the namespace
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit
from uuid import uuid4

import pytest
import yaml

from tentacular.deploy._kube.waiting import use_clock
from tests.cluster.control_plane import (
    ControlPlane,
    ControlPlaneError,
    ControlPlaneUnavailable,
    kube_binaries,
    start_control_plane,
)
from tests.cluster.fault_proxy import FaultProxy

REQUIRE_ENV = "TNTC_REQUIRE_KUBE"  # CI sets it: a missing control plane fails instead of skipping
RESTRICTED = {
    "pod-security.kubernetes.io/enforce": "restricted",
    "pod-security.kubernetes.io/enforce-version": "latest",
}
# resource plural -> API path prefix (namespaced unless listed in CLUSTER_SCOPED)
API_PATHS = {
    "namespaces": "/api/v1",
    "configmaps": "/api/v1",
    "secrets": "/api/v1",
    "services": "/api/v1",
    "pods": "/api/v1",
    "events": "/api/v1",
    "serviceaccounts": "/api/v1",
    "deployments": "/apis/apps/v1",
    "replicasets": "/apis/apps/v1",
    "cronjobs": "/apis/batch/v1",
    "jobs": "/apis/batch/v1",
    "networkpolicies": "/apis/networking.k8s.io/v1",
    "ingresses": "/apis/networking.k8s.io/v1",
    "runtimeclasses": "/apis/node.k8s.io/v1",
    "roles": "/apis/rbac.authorization.k8s.io/v1",
    "rolebindings": "/apis/rbac.authorization.k8s.io/v1",
    "clusterroles": "/apis/rbac.authorization.k8s.io/v1",
    "clusterrolebindings": "/apis/rbac.authorization.k8s.io/v1",
}
CLUSTER_SCOPED = {"namespaces", "runtimeclasses", "clusterroles", "clusterrolebindings"}
# A workflow of this name "fails" in every trigger pod: the pod exits 1 (kwok-stages.yaml).
FAILING_WORKFLOW = "engine-fails"
NEVER_READY_IMAGE = "registry.invalid/never-ready:1"  # kwok leaves its pods Pending (kwok-stages.yaml)
WRITE_VERBS = frozenset({"create", "patch", "update", "delete", "deletecollection"})
REVIEW_GROUPS = frozenset({"authorization.k8s.io", "authentication.k8s.io"})
SKIPPED: list[str] = []  # why the control plane was unavailable, for the one-line summary


def skip_summary(terminal: Any) -> None:
    """One line at the end of the run instead of a reason per skipped test."""
    if SKIPPED:
        terminal.write_line(f"real-cluster suite SKIPPED: {SKIPPED[0]}", yellow=True, bold=True)


class RealClock:
    """Real time with short sleeps: tntc's 1-2 s poll loops re-check every 50 ms on a real cluster."""

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(min(seconds, 0.05))


@pytest.fixture(scope="session")
def control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    try:
        plane = start_control_plane(kube_binaries())
    except ControlPlaneUnavailable as exc:
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{REQUIRE_ENV}=1 but the Kubernetes control plane is unavailable: {exc}")
        SKIPPED.append(str(exc))
        pytest.skip(f"real-cluster suite skipped: {exc}")
    except ControlPlaneError as exc:
        pytest.fail(f"the Kubernetes control plane did not start:\n{exc}", pytrace=False)
    try:
        yield plane
    finally:
        plane.stop()
        shutil.rmtree(plane.workdir, ignore_errors=True)


@dataclass(frozen=True)
class Write:
    """One request the API server audited (see cluster_files.write_audit_policy)."""

    verb: str  # create, patch, update, delete, deletecollection; get, list, watch (requests())
    resource: str  # plural, with subresource: "pods", "deployments", "serviceaccounts/token"
    namespace: str
    name: str
    user: str
    query: dict[str, str]
    code: int
    body: dict[str, Any] | None = None  # the request object: pod creations, ConfigMap applies
    group: str = ""  # the API group ("" for the core group)


class Kube:
    """cluster-admin's view of the test's namespace, for setting up and asserting (never for tntc)."""

    def __init__(self, plane: ControlPlane, namespace: str) -> None:
        self.plane = plane
        self.namespace = namespace
        self.namespaces = {namespace}  # extra ones from make_namespace() join
        self.cluster_objects: list[tuple[str, str]] = []  # cluster-scoped ones create() made
        self.api = plane.client()
        self._audit_mark = plane.audit_log.stat().st_size

    def path(self, resource: str, name: str | None = None, namespace: str | None = None) -> str:
        prefix = API_PATHS[resource]
        if resource not in CLUSTER_SCOPED:
            prefix += f"/namespaces/{namespace or self.namespace}"
        return f"{prefix}/{resource}" + (f"/{name}" if name else "")

    def get(self, resource: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        response = self.api.get(self.path(resource, name, namespace))
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return dict(response.json())

    def objects(
        self, resource: str, namespace: str | None = None, **labels: str
    ) -> dict[str, dict[str, Any]]:
        """Live objects by name; ones being deleted (deletionTimestamp set) count as gone."""
        params = {"labelSelector": ",".join(f"{k}={v}" for k, v in labels.items())} if labels else None
        response = self.api.get(self.path(resource, namespace=namespace), params=params)
        response.raise_for_status()
        return {
            item["metadata"]["name"]: item
            for item in response.json()["items"]
            if not item["metadata"].get("deletionTimestamp")
        }

    def create(self, resource: str, body: dict[str, Any], namespace: str | None = None) -> dict[str, Any]:
        response = self.api.post(self.path(resource, namespace=namespace), json=body)
        if response.status_code >= 300:
            raise AssertionError(f"create {resource}: HTTP {response.status_code}: {response.text[:800]}")
        if resource in CLUSTER_SCOPED:
            self.cluster_objects.append((resource, body["metadata"]["name"]))
        return dict(response.json())

    def patch(
        self,
        resource: str,
        name: str,
        patch: dict[str, Any] | list[dict[str, Any]],
        *,
        namespace: str | None = None,
        content_type: str = "application/merge-patch+json",
        field_manager: str = "test-admin",
    ) -> dict[str, Any]:
        """A change by someone other than tntc (kubectl edit / set env), as its own field manager."""
        response = self.api.patch(
            self.path(resource, name, namespace),
            content=yaml.safe_dump(patch) if "yaml" in content_type else json.dumps(patch),
            headers={"Content-Type": content_type},
            params={"fieldManager": field_manager},
        )
        if response.status_code >= 300:
            raise AssertionError(f"patch {resource}/{name}: {response.status_code}: {response.text[:800]}")
        return dict(response.json())

    def delete(self, resource: str, name: str, namespace: str | None = None) -> None:
        response = self.api.delete(self.path(resource, name, namespace))
        if response.status_code not in (200, 202, 404):
            response.raise_for_status()

    def wait_for(self, what: str, condition: Callable[[], Any], timeout: float = 60.0) -> Any:
        """Poll ``condition`` until it returns something truthy (controllers act asynchronously)."""
        deadline = time.monotonic() + timeout
        while True:
            value = condition()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
            time.sleep(0.05)

    def make_namespace(self, prefix: str, *, create: bool = True) -> str:
        """Another namespace for this test (``<prefix>-<random>``), deleted with it; with
        ``create=False`` only the name is reserved (for a test whose tntc command creates it)."""
        name = f"{prefix}-{uuid4().hex[:6]}"
        if create:
            create_namespace(self.plane, name)
        self.namespaces.add(name)
        return name

    def clear_writes(self) -> None:
        """Later ``writes()`` only report requests made from now on."""
        self._audit_mark = self.plane.audit_log.stat().st_size

    def writes(self, verb: str | None = None, resource: str | None = None) -> list[Write]:
        """Write requests into this test's namespaces (and cluster scope) by tntc's identities, oldest
        first, as the real API server recorded them (access reviews are questions, not writes)."""
        return [
            w
            for w in self.requests(verb, resource)
            if w.verb in WRITE_VERBS
            and w.group not in REVIEW_GROUPS
            # admitted or refused, but nothing was stored: not a write
            and "dryRun" not in w.query
        ]

    def requests(self, verb: str | None = None, resource: str | None = None) -> list[Write]:
        """Every request (reads, watches and access reviews too) by tntc's identities into this
        test's namespaces and cluster scope, oldest first, once each."""
        with self.plane.audit_log.open("rb") as log:
            log.seek(self._audit_mark)
            lines = log.read().splitlines()
        found = []
        seen: set[str] = set()
        for line in lines:
            event = json.loads(line)
            ref = event.get("objectRef") or {}
            namespace = ref.get("namespace", "")
            # A watch is logged when it starts and again when it ends (maybe after a later mark):
            # it counts where it started.
            started_earlier = event["verb"] == "watch" and event.get("stage") == "ResponseComplete"
            if started_earlier or event.get("auditID") in seen:
                continue
            if namespace and namespace not in self.namespaces:
                continue
            seen.add(event.get("auditID"))
            plural = ref.get("resource", "") + (f"/{ref['subresource']}" if ref.get("subresource") else "")
            if (verb and event["verb"] != verb) or (resource and plural != resource):
                continue
            query = dict(parse_qsl(urlsplit(event["requestURI"]).query))
            status = (event.get("responseStatus") or {}).get("code", 0)
            user = event["user"]["username"]
            name = ref.get("name") or (event.get("requestObject") or {}).get("metadata", {}).get("name", "")
            body = event.get("requestObject")
            found.append(
                Write(
                    event["verb"], plural, namespace, name, user, query, status, body, ref.get("apiGroup", "")
                )
            )
        return found

    def close(self) -> None:
        self.api.close()


def create_namespace(plane: ControlPlane, name: str, labels: dict[str, str] | None = None) -> None:
    """A namespace enforcing the restricted Pod Security profile, usable once its default SA exists."""
    with plane.client() as api:
        metadata = {"name": name, "labels": {**RESTRICTED, **(labels or {})}}
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": metadata}
        response = api.post("/api/v1/namespaces", json=body)
        if response.status_code >= 300:
            raise AssertionError(f"create namespace {name}: {response.status_code}: {response.text[:500]}")
        # The ServiceAccount admission plugin rejects pods until the controller made `default`.
        deadline = time.monotonic() + 30
        while api.get(f"/api/v1/namespaces/{name}/serviceaccounts/default").status_code != 200:
            if time.monotonic() > deadline:
                raise AssertionError(f"namespace {name}: no default ServiceAccount after 30s")
            time.sleep(0.02)


def delete_namespace(plane: ControlPlane, name: str) -> None:
    """Fire and forget: the namespace controller empties it in the background; nobody waits."""
    with plane.client() as api:
        api.delete(f"/api/v1/namespaces/{name}")


@pytest.fixture
def kube(control_plane: ControlPlane) -> Iterator[Kube]:
    """A fresh namespace (``t-<random>``, restricted Pod Security) and an admin client on it."""
    name = f"t-{uuid4().hex[:10]}"
    create_namespace(control_plane, name)
    view = Kube(control_plane, name)
    try:
        with use_clock(RealClock()):
            yield view
    finally:
        for resource, object_name in view.cluster_objects:
            view.delete(resource, object_name)
        view.close()
        for each in view.namespaces:
            delete_namespace(control_plane, each)


@pytest.fixture
def namespace(kube: Kube) -> str:
    return kube.namespace


def _point_tntc_at(kubeconfig: Path, namespace: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The user's own mechanism: $KUBECONFIG, and the namespace in ~/.tentacular/config.yaml."""
    from tentacular.deploy._settings import user_config_path

    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    config = user_config_path()
    config.parent.mkdir(parents=True, exist_ok=True)
    current = yaml.safe_load(config.read_text()) if config.is_file() else None
    config.write_text(yaml.safe_dump({**(current or {}), "namespace": namespace}), encoding="utf-8")


@pytest.fixture
def admin_kubeconfig(
    control_plane: ControlPlane, kube: Kube, isolated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """cluster-admin (system:masters) kubeconfig; tntc commands now target ``kube.namespace``."""
    path = control_plane.kubeconfig(tmp_path / "admin.kubeconfig")
    _point_tntc_at(path, kube.namespace, monkeypatch)
    return path


class EditDeployer(Protocol):
    def __call__(self, name: str = "deployer", *, activate: bool = True) -> Path: ...


def service_account_token(plane: ControlPlane, namespace: str, account: str, seconds: int = 3600) -> str:
    """A bound token from the TokenRequest API, as `kubectl create token` gets one."""
    with plane.client() as api:
        response = api.post(
            f"/api/v1/namespaces/{namespace}/serviceaccounts/{account}/token",
            json={
                "apiVersion": "authentication.k8s.io/v1",
                "kind": "TokenRequest",
                "spec": {"expirationSeconds": seconds},
            },
        )
        if response.status_code >= 300:
            raise AssertionError(
                f"TokenRequest {namespace}/{account}: {response.status_code}: {response.text}"
            )
        return str(response.json()["status"]["token"])


@pytest.fixture
def edit_deployer(
    control_plane: ControlPlane, kube: Kube, isolated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> EditDeployer:
    """Factory: a ServiceAccount bound to the built-in ``edit`` ClusterRole in the test's namespace
    only (the usual team setup), its kubeconfig returned and, with ``activate``, made tntc's."""

    def make(name: str = "deployer", *, activate: bool = True) -> Path:
        account = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name}}
        kube.create("serviceaccounts", account)
        kube.create(
            "rolebindings",
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": {"name": f"{name}-edit"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
                "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": kube.namespace}],
            },
        )
        token = service_account_token(control_plane, kube.namespace, name)
        path = control_plane.kubeconfig(tmp_path / f"{name}.kubeconfig", token=token, user=name)
        if activate:
            _point_tntc_at(path, kube.namespace, monkeypatch)
        return path

    return make


@pytest.fixture
def pod_logs(control_plane: ControlPlane) -> Iterator[Callable[[list[str]], None]]:
    """Set what every container's log says (kwok serves one file for all pods)."""
    yield control_plane.write_pod_log
    control_plane.write_pod_log(["tentacular engine listening on :8080"])


@pytest.fixture
def fault_proxy(
    control_plane: ControlPlane, kube: Kube, isolated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FaultProxy]:
    """cluster-admin through a fault-injecting proxy (tests/cluster/fault_proxy.py); tntc uses it."""
    proxy = FaultProxy(control_plane).start()
    try:
        _point_tntc_at(proxy.kubeconfig(tmp_path / "proxied.kubeconfig"), kube.namespace, monkeypatch)
        yield proxy
    finally:
        proxy.stop()
