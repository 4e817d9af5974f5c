"""Turn lightkube/httpx failures into the ClusterError family, each with a hint (D6)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from tentacular.errors import (
    ClusterAuthError,
    ClusterConflictError,
    ClusterError,
    ClusterForbiddenError,
    ClusterInvalidError,
    ClusterKubeletUnreachableError,
    ClusterNotFoundError,
    ClusterUnreachableError,
)

# The RBAC authorizer's wording: ... cannot list resource "x" in API group "g" at the cluster scope
_RBAC_DENIAL = re.compile(
    r'cannot (?P<verb>[\w-]+) resource "(?P<resource>[^"]+)" in API group "(?P<group>[^"]*)"'
    r'(?: in the namespace "(?P<namespace>[^"]+)"| at the cluster scope)?'
)
# How the API server words a failed proxy to a node's kubelet (logs, exec, attach, port-forward).
_KUBELET_PROXY = re.compile(
    r"dial tcp|:10250|error dialing backend|error trying to reach|no agent available|"
    r"connection refused|no route to host|i/o timeout|tls: |x509: |connection reset",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Request:
    """What a call asked for, so a 403 can name it even when the message does not."""

    verb: str
    resource: str
    group: str = ""
    namespace: str | None = None  # None: cluster scope

    @property
    def qualified(self) -> str:
        return f"{self.resource}.{self.group}" if self.group else self.resource

    @property
    def where(self) -> str:
        return f"in namespace {self.namespace}" if self.namespace else "at the cluster scope"

    def to_dict(self) -> dict[str, str]:
        data = {"verb": self.verb, "resource": self.resource, "group": self.group}
        data["scope"] = "namespace" if self.namespace else "cluster"
        if self.namespace:
            data["namespace"] = self.namespace
        return data


def _status_of(exc: BaseException) -> tuple[int | None, str]:
    """HTTP status and the API's own message, from an ApiError or a plain HTTPStatusError."""
    status = getattr(exc, "status", None)
    if status is not None and getattr(status, "code", None) is not None:
        return int(status.code), str(getattr(status, "message", "") or exc)
    response = getattr(exc, "response", None)
    if response is not None:
        try:
            message = response.json().get("message")
        except Exception:  # not a Status document (a proxy's HTML page, say)
            message = None
        return int(response.status_code), str(message or response.reason_phrase or exc)
    return None, str(exc)


def translate(
    exc: BaseException,
    action: str,
    *,
    server: str | None = None,
    namespace: str | None = None,
    request: Request | None = None,
) -> ClusterError:
    """Map one failure of ``action`` (e.g. "apply Deployment/x") to a ClusterError with a hint."""
    import httpx2

    where = f" at {server}" if server else ""
    if isinstance(exc, ClusterError):
        return exc
    foreign = foreign_response(exc)
    if foreign is not None:
        return _not_kubernetes(foreign, action, server)
    if isinstance(exc, httpx2.HTTPStatusError):
        code, message = _status_of(exc)
        return _by_status(code or 0, message, action, namespace, request)
    from lightkube.core.exceptions import ConfigError as LightkubeConfigError

    if isinstance(exc, LightkubeConfigError):
        # Raised mid-request when an exec credential plugin fails: usually expired cloud credentials.
        return ClusterAuthError(
            f"{action}: cannot obtain credentials: {exc}",
            hint="your cluster credentials could not be refreshed; log in to your cluster provider again",
        )
    if isinstance(exc, httpx2.TimeoutException):
        return ClusterUnreachableError(
            f"{action}: the Kubernetes API{where} did not answer in time",
            hint="check the cluster is up and reachable: kubectl cluster-info",
        )
    if isinstance(exc, httpx2.TransportError):
        return ClusterUnreachableError(
            f"{action}: cannot reach the Kubernetes API{where} ({type(exc).__name__})",
            hint="is the cluster running and the context right? check: kubectl cluster-info",
        )
    return ClusterError(f"{action}: {exc}", hint="re-run with --debug for details")


def _by_status(
    code: int, message: str, action: str, namespace: str | None, request: Request | None = None
) -> ClusterError:
    detail = f"{action}: {message} (HTTP {code})"
    if code == 401:
        return ClusterAuthError(
            detail,
            hint="your credentials were rejected or have expired; refresh them (re-login to your cluster "
            "provider) and check with: kubectl auth whoami",
        )
    if code == 403:
        return forbidden(message, action, namespace, request)
    if code == 404:
        lowered = message.lower()
        hint = (
            f"create the namespace first: tntc cluster check --fix -n {namespace}"
            if "namespace" in lowered and namespace
            else "the object does not exist (yet); check the name and namespace"
        )
        return ClusterNotFoundError(detail, hint=hint)
    if code == 409:
        return ClusterConflictError(
            detail,
            hint="another client changed the object at the same time, or it is still being deleted; "
            "wait a moment and re-run",
        )
    if code in (400, 415, 422):
        return ClusterInvalidError(
            detail, hint="the API server rejected the object; check the cluster version (needs ≥ 1.28)"
        )
    if code == 429 or code >= 500:
        return ClusterError(
            detail, hint="the API server is overloaded or failing; re-run in a moment (deploys converge)"
        )
    return ClusterError(detail, hint="re-run with --debug for details")


def is_not_found(exc: BaseException) -> bool:
    code, _ = _status_of(exc)
    return code == 404 and _is_http_error(exc) and foreign_response(exc) is None


def foreign_response(exc: BaseException) -> Any:
    """The HTTP response behind ``exc`` when no Kubernetes API sent it, else None.

    The API server answers every error with a JSON ``Status``. A response without a content
    type (lightkube then fails with ``KeyError: 'Content-Type'``), or a 404 that is not JSON,
    comes from something else at that URL: a proxy, a web server, a wrong port.
    """
    import httpx2

    current: BaseException | None = exc
    for _ in range(5):  # the HTTP error is the exception itself or what lightkube was handling
        if current is None:
            return None
        if isinstance(current, httpx2.HTTPStatusError):
            response = current.response
            content_type = response.headers.get("content-type", "")
            if not content_type or (response.status_code == 404 and "json" not in content_type):
                return response
            return None
        current = current.__context__
    return None


def _not_kubernetes(response: Any, action: str, server: str | None) -> ClusterError:
    url = server or str(response.request.url.copy_with(path="/", query=None))
    content_type = response.headers.get("content-type") or "no content type"
    return ClusterUnreachableError(
        f"{action}: not a Kubernetes API server at {url} (HTTP {response.status_code}, {content_type})",
        hint="check the server URL of the context (kubectl config view --minify); something else "
        "(a proxy, a web server, a wrong port) answered; re-run with --debug for the response",
    )


def _is_http_error(exc: BaseException) -> bool:
    import httpx2

    return isinstance(exc, httpx2.HTTPStatusError)


def config_error(exc: Any, where: str) -> ClusterError:
    return ClusterUnreachableError(
        f"cannot load Kubernetes configuration ({where}): {exc}",
        hint="set KUBECONFIG, or give the environment a context: tntc configure --env NAME --context CTX",
    )


def forbidden(message: str, action: str, namespace: str | None, request: Request | None) -> ClusterError:
    """An RBAC denial names the verb, resource and scope; anything else forbidden is admission."""
    match = _RBAC_DENIAL.search(message)
    if match is not None:
        denied = Request(
            match["verb"],
            match["resource"],
            match["group"],
            match["namespace"] if match["namespace"] else None,
        )
    elif request is not None and "cannot" in message:
        denied = request
    else:
        return ClusterForbiddenError(
            f"{action}: rejected by the cluster's admission control: {message} (HTTP 403)",
            hint="an admission policy (Pod Security, a quota or a webhook) refused the object; "
            "the message above says which",
        )
    scope = denied.namespace or namespace
    check = f"tntc cluster check -n {scope}" if scope else "tntc cluster check"
    return ClusterForbiddenError(
        f"{action}: forbidden: this account may not {denied.verb} {denied.qualified} "
        f"{denied.where} (HTTP 403)",
        hint=f"ask a cluster admin to allow {denied.verb} on {denied.qualified} {denied.where} "
        f"(docs/operations.md lists what each command needs); {check} shows everything missing",
        denied=denied.to_dict(),
    )


def is_kubelet_failure(exc: BaseException) -> bool:
    """A pods/log or exec call the API server could not proxy to the node's kubelet."""
    code, message = _status_of(exc)
    return _is_http_error(exc) and code in (500, 502, 503, 504) and bool(_KUBELET_PROXY.search(message))


def kubelet_unreachable(exc: BaseException, action: str, pod: str, node: str | None) -> ClusterError:
    _, message = _status_of(exc)
    where = f"node {node}" if node else "the pod's node"
    return ClusterKubeletUnreachableError(
        f"{action}: the API server cannot reach the kubelet on {where}: {message}",
        hint=f"the kubelet on {where} is down or unreachable from the control plane (firewall on port "
        f"10250, node not ready); check: kubectl get node {node}"
        if node
        else "the pod is not scheduled on a node yet, or its node's kubelet is unreachable; "
        f"check: kubectl get pod {pod} -o wide",
        node=node,
    )
