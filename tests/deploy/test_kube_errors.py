"""API failures become errors whose hints are filled in and name what was denied (issue 13, Build 5, 7)."""

from __future__ import annotations

import re

import httpx2
import pytest

from tentacular.deploy._kube.errors import Request, is_kubelet_failure, kubelet_unreachable, translate
from tentacular.errors import ClusterError

PLACEHOLDER = re.compile(r"<[A-Za-z_][\w-]*>")
RBAC_MESSAGE = (
    'clusterrolebindings.rbac.authorization.k8s.io is forbidden: User "system:serviceaccount:team:deployer" '
    'cannot list resource "clusterrolebindings" in API group "rbac.authorization.k8s.io" at the cluster scope'
)


def status_error(code: int, message: str, path: str = "/apis/x") -> httpx2.HTTPStatusError:
    request = httpx2.Request("GET", f"https://api.test{path}")
    response = httpx2.Response(
        code, json={"kind": "Status", "code": code, "message": message}, request=request
    )
    return httpx2.HTTPStatusError(message, request=request, response=response)


def filled(error: ClusterError) -> str:
    text = f"{error.message} {error.hint}"
    assert not PLACEHOLDER.search(text), text
    return text


def test_rbac_denial_names_verb_resource_and_scope() -> None:
    error = translate(status_error(403, RBAC_MESSAGE), "list ClusterRoleBinding", namespace=None)
    assert error.code == "cluster_forbidden"
    assert "may not list clusterrolebindings.rbac.authorization.k8s.io at the cluster scope" in error.message
    assert error.details["denied"] == {
        "verb": "list",
        "resource": "clusterrolebindings",
        "group": "rbac.authorization.k8s.io",
        "scope": "cluster",
    }
    assert filled(error).endswith("tntc cluster check shows everything missing")


def test_namespaced_denial_points_at_that_namespace() -> None:
    message = (
        'deployments.apps is forbidden: User "u" cannot get resource "deployments" in API group "apps" '
        'in the namespace "prod"'
    )
    error = translate(status_error(403, message), "read Deployment/wf", namespace="prod")
    assert "may not get deployments.apps in namespace prod" in error.message
    assert "tntc cluster check -n prod" in filled(error)


def test_a_denial_without_the_rbac_wording_uses_what_the_call_asked_for() -> None:
    request = Request("create", "configmaps", "", "team")
    error = translate(status_error(403, "configmaps is forbidden: User cannot"), "create", request=request)
    assert "may not create configmaps in namespace team" in filled(error)


def test_admission_refusal_is_not_called_an_rbac_problem() -> None:
    message = 'pods "x" is forbidden: violates PodSecurity "restricted:latest": runAsNonRoot != true'
    error = translate(status_error(403, message), "create Pod/x", namespace="team")
    assert error.code == "cluster_forbidden" and "admission" in filled(error)
    assert "denied" not in error.details


@pytest.mark.parametrize("code", [401, 404, 409, 422, 500, 503, 418])
def test_no_hint_has_a_placeholder_even_without_a_namespace(code: int) -> None:
    for namespace in (None, "team"):
        filled(translate(status_error(code, 'namespaces "team" not found'), "read X/y", namespace=namespace))


@pytest.mark.parametrize(
    "message",
    [
        'Get "https://10.0.0.7:10250/containerLogs/team/wf-1/engine?tailLines=100": '
        "dial tcp 10.0.0.7:10250: connect: connection refused",
        "error dialing backend: dial tcp 10.0.0.7:10250: i/o timeout",
        "No agent available",
    ],
)
def test_kubelet_proxy_failures_name_the_node(message: str) -> None:
    exc = status_error(500, message)
    assert is_kubelet_failure(exc)
    error = kubelet_unreachable(exc, "read logs of Pod/wf-1", "wf-1", "node-7")
    assert error.code == "cluster_kubelet_unreachable" and error.details["node"] == "node-7"
    assert "kubelet on node node-7" in error.message and "kubectl get node node-7" in filled(error)
    assert "wf-1" in filled(kubelet_unreachable(exc, "read logs of Pod/wf-1", "wf-1", None))


def test_an_overloaded_api_server_is_not_a_kubelet_failure() -> None:
    assert not is_kubelet_failure(status_error(500, "etcdserver: request timed out"))
    assert not is_kubelet_failure(status_error(429, "too many requests"))
