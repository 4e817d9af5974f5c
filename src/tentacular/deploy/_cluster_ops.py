"""The deploy face's cluster operations besides deploying: run, undeploy, status, list, logs,
audit and cluster check. Each resolves its target once and closes its client on every path."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tentacular.deploy._kube.audit import audit_workflow
from tentacular.deploy._kube.checks import Check, plan_for, run_checks
from tentacular.deploy._kube.client import connect
from tentacular.deploy._kube.deploy import needs_existing_secret
from tentacular.deploy._kube.inspect import list_workflows as _list_workflows
from tentacular.deploy._kube.inspect import pick_pod, workflow_status
from tentacular.deploy._kube.trigger import RunOutcome, trigger_workflow
from tentacular.deploy._kube.usage import deployed_usage
from tentacular.deploy._operations import resolve_target
from tentacular.deploy._options import DEFAULT_RUN_TIMEOUT, TargetOptions
from tentacular.deploy._plan import local_secrets_for, render_objects
from tentacular.deploy._settings import DeployTarget, load_settings
from tentacular.errors import ClusterForbiddenError, ClusterNotFoundError, InputError, WorkflowNotFoundError
from tentacular.events import Event, EventSink, ignore_events
from tentacular.spec import LoadedWorkflow, is_dns_label, load_workflow


def _target(options: TargetOptions) -> DeployTarget:
    return resolve_target(load_settings(), options)


def check_name(name: str) -> str:
    """A deployed workflow's name is a DNS-1123 label; say so before any API call is made."""
    if not is_dns_label(name):
        raise InputError(
            f'"{name}" is not a workflow name: deployed workflows are named by DNS-1123 labels '
            '(lower-case letters, digits and "-", at most 63 characters)',
            hint="the name is workflow.yaml's name; list deployed ones with: tntc list",
        )
    return name


@dataclass(frozen=True)
class RunReport:
    """``tntc run NAME``: one run of a deployed workflow; the body is kept even when it failed (Q13)."""

    name: str
    namespace: str
    outcome: RunOutcome

    @property
    def passed(self) -> bool:
        outcome = self.outcome
        return outcome.success or (outcome.execution is None and outcome.phase == "Succeeded")

    def to_dict(self) -> dict[str, Any]:
        execution = self.outcome.execution or {"raw": self.outcome.raw}
        return {"name": self.name, "namespace": self.namespace, "execution": execution}


def run_deployed(
    name: str, *, target: TargetOptions, input: Any, timeout: float = DEFAULT_RUN_TIMEOUT
) -> RunReport:
    check_name(name)
    resolved = _target(target)
    namespace = resolved.namespace.value
    with connect(resolved.cluster) as kube:
        outcome = trigger_workflow(kube, name, namespace, input, timeout=timeout)
    return RunReport(name, namespace, outcome)


@dataclass(frozen=True)
class UndeployReport:
    name: str
    namespace: str
    removed: list[str] = field(default_factory=list)
    cancelled: bool = False

    def to_dict(self) -> dict[str, Any]:
        if self.cancelled:
            return {"removed": []}
        return {"name": self.name, "namespace": self.namespace, "removed": self.removed}


Confirm = Callable[[str, str], bool]


def undeploy(
    name: str,
    *,
    target: TargetOptions,
    confirm: Confirm | None = None,
    on_event: EventSink = ignore_events,
) -> UndeployReport:
    """Remove everything the workflow created; ``confirm(name, namespace)`` may still say no."""
    check_name(name)
    resolved = _target(target)
    namespace = resolved.namespace.value
    if confirm is not None and not confirm(name, namespace):
        return UndeployReport(name, namespace, cancelled=True)
    from tentacular.deploy._kube.apply import remove_workflow

    with connect(resolved.cluster) as kube:
        removed = remove_workflow(
            kube, name, namespace, on_action=lambda a: on_event(Event(f"  deleted {a.ref}"))
        )
    return UndeployReport(name, namespace, [a.ref for a in removed])


def status(name: str, *, target: TargetOptions, detail: bool = False) -> dict[str, Any]:
    """Readiness; with ``detail`` also pods, service, limits, events and token usage since pod start."""
    check_name(name)
    resolved = _target(target)
    namespace = resolved.namespace.value
    with connect(resolved.cluster) as kube:
        view = workflow_status(kube, name, namespace, detail=detail)
        if detail:
            view["usage"] = deployed_usage(kube, name, namespace)
        return view


def usage(name: str, *, target: TargetOptions) -> dict[str, Any]:
    """``tntc logs --usage``: token usage of the deployed workflow from its pods' counters."""
    check_name(name)
    resolved = _target(target)
    namespace = resolved.namespace.value
    with connect(resolved.cluster) as kube:
        workflow_status(kube, name, namespace, detail=False)  # not deployed: a clear error
        return {"name": name, "namespace": namespace, **deployed_usage(kube, name, namespace)}


@dataclass(frozen=True)
class WorkflowList:
    namespace: str | None  # None: every namespace (or every readable one, see ``note``)
    workflows: list[dict[str, Any]]
    #: With ``-A`` when listing every namespace is not allowed: the namespaces that were listed.
    searched: list[str] | None = None
    note: str | None = None


def _known_namespaces(resolved: DeployTarget) -> list[str]:
    """Namespaces this user works in: the resolved one, the configured default, every environment's."""
    settings = load_settings()
    found = [resolved.namespace.value, settings.text("namespace") or ""]
    found += [str(env.get("namespace") or "") for env in settings.environments.values()]
    return sorted({ns for ns in found if ns})


def list_workflows(*, target: TargetOptions, all_namespaces: bool = False) -> WorkflowList:
    """``-A`` lists every namespace at once; an account that may not (``edit`` in one namespace)
    gets the namespaces it can read among those it works in, and is told so."""
    resolved = _target(target)
    if not all_namespaces:
        with connect(resolved.cluster) as kube:
            return WorkflowList(resolved.namespace.value, _list_workflows(kube, resolved.namespace.value))
    with connect(resolved.cluster) as kube:
        try:
            return WorkflowList(None, _list_workflows(kube, None))
        except ClusterForbiddenError:
            pass
        rows: list[dict[str, Any]] = []
        searched, denied = [], []
        for namespace in _known_namespaces(resolved):
            try:
                rows += _list_workflows(kube, namespace)
                searched.append(namespace)
            except (ClusterForbiddenError, ClusterNotFoundError):
                denied.append(namespace)
    note = (
        "this account may not list deployments in every namespace; listed the configured "
        f"namespaces it can read: {', '.join(searched) or '(none)'}"
        + (f" (not readable: {', '.join(denied)})" if denied else "")
    )
    return WorkflowList(None, rows, searched, note)


@dataclass(frozen=True)
class LogStream:
    pod: str
    namespace: str
    lines: Iterator[str]


@contextmanager
def logs(name: str, *, target: TargetOptions, tail: int = 100, follow: bool = False) -> Iterator[LogStream]:
    """The log lines of the workflow's pod; the connection lives as long as the ``with`` block."""
    check_name(name)
    resolved = _target(target)
    namespace = resolved.namespace.value
    with connect(resolved.cluster) as kube:
        pod = pick_pod(kube, name, namespace)
        yield LogStream(pod, namespace, kube.pod_log(pod, namespace, tail=tail, follow=follow))


@dataclass(frozen=True)
class AuditReport:
    workflow: str
    namespace: str
    audit: dict[str, Any]

    @property
    def passed(self) -> bool:
        return bool(self.audit["overall"] == "pass")


def audit(directory: str | Path, *, target: TargetOptions) -> AuditReport:
    """Compare what is deployed with what a deploy of ``directory`` would apply."""
    loaded = load_workflow(directory)
    if loaded.workflow.contract is None:
        raise InputError(
            "workflow has no contract section - audit requires contract", hint="add a contract block"
        )
    resolved = resolve_target(load_settings(), target, loaded=loaded)
    namespace = resolved.namespace.value
    expected = render_objects(loaded, resolved, local_secrets_for(loaded, resolved))
    with connect(resolved.cluster) as kube:
        report = audit_workflow(kube, loaded.workflow, expected, namespace)
    return AuditReport(loaded.workflow.name, namespace, report)


@dataclass(frozen=True)
class ClusterCheckReport:
    namespace: str
    checks: list[Check]
    workflow: str | None = None

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"namespace": self.namespace, "checks": [c.to_dict() for c in self.checks]}
        if self.workflow:
            data["workflow"] = self.workflow
        return data


def cluster_check(
    *,
    target: TargetOptions,
    directory: str | Path = ".",
    fix: bool = False,
    runtime_class: str | None = None,
) -> ClusterCheckReport:
    """The deploy preflight of the workflow in ``directory`` (same plan, same checks, same severity);
    without a workflow there, the checks every deploy needs."""
    try:
        loaded: LoadedWorkflow | None = load_workflow(directory)
    except WorkflowNotFoundError:  # no workflow here is normal for a cluster check
        loaded = None
    resolved = resolve_target(load_settings(), target, loaded=loaded, runtime_class=runtime_class)
    namespace = resolved.namespace.value
    if loaded is None:
        plan = plan_for(namespace, resolved.runtime_class.value)
    else:
        secrets = local_secrets_for(loaded, resolved)
        plan = plan_for(
            namespace,
            resolved.runtime_class.value,
            workflow=loaded.workflow.name,
            objects=render_objects(loaded, resolved, secrets),
            needs_existing_secret=needs_existing_secret(loaded, has_local_secrets=bool(secrets)),
        )
    with connect(resolved.cluster) as kube:
        checks = run_checks(kube, plan, fix=fix)
    for check in checks:
        if loaded is None and check.name == "Secret references":
            check.warning = "No workflow spec found; secret reference check skipped"
    return ClusterCheckReport(namespace, checks, loaded.workflow.name if loaded else None)
