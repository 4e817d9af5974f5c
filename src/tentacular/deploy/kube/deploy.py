"""The deploy routine shared by ``tntc deploy``, the dev-environment gate and ``tntc test --live``.

contract gate → manifests → preflight → apply (+prune) → wait → optional run. Each
step is a phase with its duration, so the envelope can say how far a deploy got.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from tentacular.deploy.kube.apply import ApplyReport, ObjectAction, apply_objects, remove_workflow
from tentacular.deploy.kube.checks import Check, run_checks
from tentacular.deploy.kube.client import KubeClient, connect
from tentacular.deploy.kube.trigger import RunOutcome, trigger_workflow
from tentacular.deploy.kube.waiting import wait_for_rollout
from tentacular.deploy.plan import local_secrets_for, render_objects
from tentacular.deploy.settings import DeployTarget, Settings, environment_name
from tentacular.errors import PreflightError, SpecError, TentacularError
from tentacular.spec import LoadedWorkflow

Say = Callable[[str], None]


@dataclass
class Phase:
    name: str
    status: str = "pass"
    duration_ms: int = 0
    detail: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "status": self.status, "durationMs": self.duration_ms}
        if self.detail:
            data["detail"] = self.detail
        return data


@dataclass
class DeployRun:
    """What happened so far; filled in as the phases complete, kept when a later one fails."""

    phases: list[Phase] = field(default_factory=list)
    report: ApplyReport = field(default_factory=ApplyReport)
    checks: list[Check] = field(default_factory=list)
    execution: RunOutcome | None = None
    warnings: list[str] = field(default_factory=list)

    @contextmanager
    def phase(self, name: str) -> Iterator[Phase]:
        current = Phase(name)
        started = time.perf_counter()
        self.phases.append(current)
        try:
            yield current
        except BaseException as exc:
            current.status = "fail"
            current.detail = current.detail or getattr(exc, "message", None) or str(exc)
            raise
        finally:
            current.duration_ms = int((time.perf_counter() - started) * 1000)


def contract_gate(loaded: LoadedWorkflow, *, strict: bool, say: Say) -> list[str]:
    """Contract findings the parser only warns about fail a strict deploy (F-192, Q11)."""
    findings = [issue for issue in loaded.warnings if issue.path.startswith("contract")]
    notes: list[str] = []
    if loaded.workflow.contract is None:
        notes.append("no contract: deploying without a NetworkPolicy (legacy mode, unrestricted network)")
    if findings and strict:
        raise SpecError(
            "deploy aborted: contract validation failed (use --warn for audit mode)",
            [dataclasses.replace(issue, severity="error") for issue in findings],
            hint="fix the contract, or deploy with --warn (or enforcement: audit) to report only",
        )
    notes.extend(f"contract: {issue.render()}" for issue in findings)
    for note in notes:
        say(f"⚠️  WARNING: {note}")
    return notes


def preflight(
    client: KubeClient, loaded: LoadedWorkflow, target: DeployTarget, *, has_local_secrets: bool
) -> list[Check]:
    workflow = loaded.workflow
    needs_secret = bool(workflow.contract and any(d.auth for d in workflow.contract.dependencies.values()))
    checks = run_checks(
        client,
        target.namespace.value,
        runtime_class=target.runtime_class.value or None,
        runtime_class_required=True,
        # With local secrets the Secret is provisioned by this very deploy (F-194).
        secret_names=[f"{workflow.name}-secrets"] if needs_secret and not has_local_secrets else [],
        secrets_optional=True,
    )
    failed = [c for c in checks if not c.passed]
    if failed:
        raise PreflightError(
            "preflight checks failed -- nothing was applied: " + "; ".join(c.name for c in failed),
            hint=" | ".join(c.remediation for c in failed if c.remediation) or None,
            checks=[c.to_dict() for c in checks],
        )
    return checks


def deploy_workflow(
    loaded: LoadedWorkflow,
    target: DeployTarget,
    *,
    secrets: dict[str, dict[str, Any]] | None,
    run: DeployRun,
    say: Say,
    wait: bool = True,
    timeout: float = 120.0,
    verify_input: Any = None,
    verify: bool = False,
    client: KubeClient | None = None,
) -> KubeClient:
    """Preflight, apply, wait and (optionally) run once; the caller owns the returned client."""
    name, namespace = loaded.workflow.name, target.namespace.value
    with run.phase("render"):
        objects = render_objects(loaded, target, secrets)
    if target.kind is not None:
        say(f"Detected kind cluster '{target.kind.name}', adjusted: no gVisor, imagePullPolicy=IfNotPresent")
    say(f"Deploying {name} to namespace {namespace}...")
    if secrets:
        say(f"  Found local secrets -- will provision {name}-secrets")
    kube = client or connect(target.cluster)
    with run.phase("preflight") as phase:
        run.checks = preflight(kube, loaded, target, has_local_secrets=bool(secrets))
        warnings = [c.warning for c in run.checks if c.warning]
        run.warnings.extend(warnings)
        for warning in warnings:
            say(f"  ⚠ {warning}")
        phase.detail = f"{len(run.checks)} checks passed"
        say("  Preflight checks passed")

    def show(action: ObjectAction) -> None:
        say(f"  {action.action} {action.ref}")

    with run.phase("apply") as phase:
        run.report = ApplyReport()
        run.report = apply_objects(kube, objects, workflow=name, namespace=namespace, on_action=show)
        phase.detail = f"{len(run.report.changed)} of {len(run.report.actions)} objects changed"
    if wait or verify:
        with run.phase("wait"):
            wait_for_rollout(kube, name, namespace, timeout=timeout)
    if verify:
        with run.phase("verify") as phase:
            run.execution = trigger_workflow(kube, name, namespace, verify_input or {}, timeout=timeout)
            if not run.execution.success:
                phase.status = "fail"
                phase.detail = "workflow returned success=false"
    return kube


def live_test(
    loaded: LoadedWorkflow,
    target: DeployTarget,
    *,
    secrets: dict[str, dict[str, Any]] | None,
    run: DeployRun,
    say: Say,
    timeout: float,
    keep: bool = False,
    body: Any = None,
) -> RunOutcome | None:
    """Deploy, wait, run once, and (unless ``keep``) always remove the deployment again (F-138…F-142)."""
    kube: KubeClient | None = None
    try:
        kube = connect(target.cluster)
        deploy_workflow(
            loaded,
            target,
            secrets=secrets,
            run=run,
            say=say,
            timeout=timeout,
            verify=True,
            verify_input=body,
            client=kube,
        )
        return run.execution
    finally:
        if kube is not None:
            if not keep:
                cleanup(kube, loaded.workflow.name, target.namespace.value, run, say)
            kube.close()


def cleanup(kube: KubeClient, name: str, namespace: str, run: DeployRun, say: Say) -> None:
    with run.phase("cleanup") as phase:
        try:
            removed = remove_workflow(kube, name, namespace, on_action=lambda a: say(f"  deleted {a.ref}"))
        except TentacularError as error:
            phase.status = "fail"
            phase.detail = error.message
            say(f"  ⚠ cleanup failed: {error.message}")
            return
        phase.detail = f"{len(removed)} objects removed"


DEV_ENVIRONMENT = "dev"


def wants_dev_gate(settings: Settings, target: DeployTarget, *, force: bool) -> bool:
    """The deploy gate (F-191): a live test in ``dev`` first, unless forced or deploying to dev."""
    deploying_to = target.environment.name if target.environment else environment_name(None)
    return not force and settings.has_environment(DEV_ENVIRONMENT) and deploying_to != DEV_ENVIRONMENT


def dev_gate(
    loaded: LoadedWorkflow, dev: DeployTarget, *, run: DeployRun, say: Say, timeout: float
) -> str | None:
    """Deploy to dev, run once, remove it again: None when it passed, else why it did not.

    A gate that cannot run at all raises, its message saying it was the pre-deploy test.
    """
    say(f"Pre-deploy live test in environment dev (namespace {dev.namespace.value})...")
    gate = DeployRun()
    try:
        outcome = live_test(
            loaded, dev, secrets=local_secrets_for(loaded, dev), run=gate, say=say, timeout=timeout
        )
    except TentacularError as error:
        run.phases.append(_gate_phase(gate, error.message))
        error.message = f"pre-deploy live test failed (use --force to skip): {error.message}"
        raise
    passed = outcome is not None and outcome.success
    run.phases.append(_gate_phase(gate, None if passed else "success=false"))
    if not passed:
        run.execution = outcome
        return "pre-deploy live test: workflow returned success=false (use --force to skip)"
    say("  Pre-deploy live test passed")
    return None


def _gate_phase(gate: DeployRun, failure: str | None) -> Phase:
    total = sum(p.duration_ms for p in gate.phases)
    return Phase("live-test", "fail" if failure else "pass", total, failure)
