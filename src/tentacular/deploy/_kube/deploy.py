"""The deploy routine shared by ``tntc deploy``, the dev-environment gate and ``tntc test --live``.

contract gate → manifests → preflight → apply (+prune) → wait → optional run. Each
step is a phase of the DeployReport. The caller owns the Kubernetes client; nothing
here prints: progress leaves as events.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from tentacular.deploy._kube.apply import ApplyReport, ObjectAction, remove_workflow
from tentacular.deploy._kube.checks import Check, plan_for, refusals, run_preflight
from tentacular.deploy._kube.client import KubeClient, connect, kind_of
from tentacular.deploy._kube.drift import DriftField, drift_of, drift_of_all, reclaim_patch
from tentacular.deploy._kube.live import Unread
from tentacular.deploy._kube.trigger import RunOutcome, trigger_workflow
from tentacular.deploy._kube.waiting import wait_for_rollout
from tentacular.deploy._plan import render_objects
from tentacular.deploy._report import LIVE_TEST_PHASE, DeployReport, Phase
from tentacular.deploy._revision import applied_deployment, apply_revision, prune_versions, stamp_for
from tentacular.deploy._settings import DeployTarget
from tentacular.deploy._versions import release_id
from tentacular.errors import PreflightError, SpecError, TentacularError
from tentacular.events import Event, EventSink
from tentacular.spec import LoadedWorkflow

Secrets = dict[str, dict[str, Any]]


def contract_gate(loaded: LoadedWorkflow, *, strict: bool, on_event: EventSink) -> list[str]:
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
        on_event(Event(note, "warning"))
    return notes


def needs_existing_secret(loaded: LoadedWorkflow, *, has_local_secrets: bool) -> bool:
    """The contract needs secrets this deploy does not provision (F-194): they must already exist."""
    contract = loaded.workflow.contract
    return bool(contract and any(d.auth for d in contract.dependencies.values())) and not has_local_secrets


def preflight(
    client: KubeClient,
    loaded: LoadedWorkflow,
    target: DeployTarget,
    objects: Sequence[Mapping[str, Any]],
    *,
    has_local_secrets: bool,
    verify: bool = False,
) -> tuple[list[Check], dict[str, Any] | Unread | None]:
    """The same checks as ``tntc cluster check --dir`` for this workflow; any failure applies nothing.
    Also returns the live Deployment the checks read (the apply reuses it)."""
    plan = plan_for(
        target.namespace.value,
        target.runtime_class.value,
        workflow=loaded.workflow.name,
        objects=objects,
        needs_existing_secret=needs_existing_secret(loaded, has_local_secrets=has_local_secrets),
        verify=verify,
    )
    checks, deployment = run_preflight(client, plan)
    failed = refusals(checks)
    if failed:
        raise PreflightError(
            "preflight checks failed -- nothing was applied: " + "; ".join(c.name for c in failed),
            hint=" | ".join(c.remediation for c in failed if c.remediation) or None,
            checks=[c.to_dict() for c in checks],
        )
    return checks, deployment


def report_drift(
    kube: KubeClient, applied: ApplyReport, *, reclaim: bool, on_event: EventSink
) -> list[DriftField]:
    """Foreign fields found before the apply: taken back by the forced apply, kept, or (``reclaim``)
    removed. Returns what is still there afterwards."""
    before = {f.object + " " + f.path: f for f in drift_of_all(applied.before)}
    remaining: list[DriftField] = []
    reclaimed: set[str] = set()
    for index, live in enumerate(applied.after):
        fields = drift_of(live)
        if reclaim and fields:
            operations = reclaim_patch(live, fields)
            if operations:
                meta = live["metadata"]
                applied.after[index] = kube.json_patch(
                    kind_of(live), meta["name"], meta.get("namespace"), operations
                )
                applied.actions.append(ObjectAction(fields[0].object, "reclaimed"))
                for field in fields:
                    reclaimed.add(field.object + " " + field.path)
                    on_event(Event(f"  reclaimed {field.object} {field.path} (was owned by {field.manager})"))
                fields = drift_of(applied.after[index])
        remaining.extend(fields)
    still = {f.object + " " + f.path for f in remaining}
    for key, field in before.items():
        if key not in still and key not in reclaimed:
            on_event(Event(f"  drift taken back: {field.object} {field.path} (was owned by {field.manager})"))
    for field in remaining:
        on_event(
            Event(
                f"drift: {field.render()}; kept — `tntc deploy --reclaim` removes it",
                "warning",
            )
        )
    return remaining


def deploy_workflow(
    kube: KubeClient,
    loaded: LoadedWorkflow,
    target: DeployTarget,
    *,
    secrets: Secrets | None,
    report: DeployReport,
    on_event: EventSink,
    wait: bool = True,
    timeout: float,
    verify_input: Any = None,
    verify: bool = False,
    keep: int | None = None,
    reclaim: bool = False,
) -> None:
    """Render, preflight, apply, wait and (optionally) run once, recording each phase in ``report``.

    With ``keep``, code versions beyond the newest ``keep`` are pruned once the rollout succeeded."""
    name, namespace = loaded.workflow.name, target.namespace.value

    def say(message: str) -> None:
        on_event(Event(message))

    with report.phase("render"):
        objects = render_objects(loaded, target, secrets)
    if target.kind is not None:
        say(f"Detected kind cluster '{target.kind.name}', adjusted: no gVisor, imagePullPolicy=IfNotPresent")
    say(f"Deploying {name} to namespace {namespace}...")
    if secrets:
        say(f"  Found local secrets -- will provision {name}-secrets")
    with report.phase("preflight") as phase:
        report.checks, live_deployment = preflight(
            kube, loaded, target, objects, has_local_secrets=bool(secrets), verify=verify
        )
        warnings = [c.warning for c in report.checks if c.warning]
        report.warnings.extend(warnings)
        for warning in warnings:
            on_event(Event(warning, "warning"))
        phase.detail = f"{len(report.checks)} checks passed"
        say("  Preflight checks passed")

    def show(action: ObjectAction) -> None:
        say(f"  {action.action} {action.ref}")

    with report.phase("apply") as phase:
        report.apply = ApplyReport()
        stamp = stamp_for(kube, release_id(objects))
        report.apply = apply_revision(
            kube,
            objects,
            workflow=name,
            namespace=namespace,
            stamp=stamp,
            on_action=show,
            deployment=live_deployment,
        )
        report.drift = report_drift(kube, report.apply, reclaim=reclaim, on_event=on_event)
        report.warnings.extend(f"drift: {f.render()}" for f in report.drift)
        phase.detail = f"{len(report.apply.changed)} of {len(report.apply.actions)} objects changed"
    if wait or verify:
        with report.phase("wait"):
            rolled = wait_for_rollout(
                kube, name, namespace, timeout=timeout, deployment=applied_deployment(report.apply, name)
            )
        if keep is not None:
            pruned = prune_versions(
                kube,
                name,
                namespace,
                keep=keep,
                on_action=show,
                deployment=rolled,
                live_state=report.apply.live,
            )
            report.apply.actions.extend(pruned)
    if verify:
        with report.phase("verify") as phase:
            report.execution = trigger_workflow(kube, name, namespace, verify_input or {}, timeout=timeout)
            if not report.execution.success:
                phase.status = "fail"
                phase.detail = "workflow returned success=false"


def live_test(
    loaded: LoadedWorkflow,
    target: DeployTarget,
    *,
    secrets: Secrets | None,
    report: DeployReport,
    on_event: EventSink,
    timeout: float,
    keep: bool = False,
    body: Any = None,
) -> RunOutcome | None:
    """Deploy, wait, run once, and (unless ``keep``) always remove the deployment again (F-138…F-142)."""
    with connect(target.cluster) as kube:
        try:
            deploy_workflow(
                kube,
                loaded,
                target,
                secrets=secrets,
                report=report,
                on_event=on_event,
                timeout=timeout,
                verify=True,
                verify_input=body,
            )
            return report.execution
        finally:
            if not keep:
                cleanup(kube, loaded.workflow.name, target.namespace.value, report, on_event)


def cleanup(kube: KubeClient, name: str, namespace: str, report: DeployReport, on_event: EventSink) -> None:
    with report.phase("cleanup") as phase:
        try:
            removed = remove_workflow(
                kube, name, namespace, on_action=lambda a: on_event(Event(f"  deleted {a.ref}"))
            )
        except TentacularError as error:
            phase.status = "fail"
            phase.detail = error.message
            on_event(Event(f"cleanup failed: {error.message}", "warning"))
            return
        phase.detail = f"{len(removed)} objects removed"


def dev_gate(
    loaded: LoadedWorkflow,
    dev: DeployTarget,
    *,
    secrets: Secrets | None,
    report: DeployReport,
    on_event: EventSink,
    timeout: float,
) -> str | None:
    """Deploy to dev, run once, remove it again: None when it passed, else why it did not.

    A gate that cannot run at all raises, its message saying it was the pre-deploy test.
    """
    on_event(Event(f"Pre-deploy live test in environment dev (namespace {dev.namespace.value})..."))
    gate = DeployReport(loaded.workflow.name, dev)
    try:
        outcome = live_test(loaded, dev, secrets=secrets, report=gate, on_event=on_event, timeout=timeout)
    except TentacularError as error:
        report.phases.append(_gate_phase(gate, error.message))
        error.message = f"pre-deploy live test failed (use --force to skip): {error.message}"
        raise
    passed = outcome is not None and outcome.success
    report.phases.append(_gate_phase(gate, None if passed else "success=false"))
    if not passed:
        report.execution = outcome
        return "pre-deploy live test: workflow returned success=false (use --force to skip)"
    on_event(Event("  Pre-deploy live test passed"))
    return None


def _gate_phase(gate: DeployReport, failure: str | None) -> Phase:
    total = sum(p.duration_ms for p in gate.phases)
    return Phase(LIVE_TEST_PHASE, "fail" if failure else "pass", total, failure)
