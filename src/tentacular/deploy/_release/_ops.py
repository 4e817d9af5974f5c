"""Release unit operations of the deploy face: plan, apply, verify, promote, show (K-R2…K-R7, K-R10).

Every check that can refuse a unit (integrity, format, policy, digest, preflight) runs before
the first write to the cluster, so a refused unit leaves nothing half-applied. ``apply`` goes
through ``deploy._revision.roll_out``, the mechanism ``tntc rollback`` uses too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tentacular.deploy._kube.checks import plan_for, run_preflight
from tentacular.deploy._kube.client import KubeClient, connect
from tentacular.deploy._kube.live import Unread
from tentacular.deploy._options import DEFAULT_DEPLOY_TIMEOUT, TargetOptions
from tentacular.deploy._release._diff import plan_objects
from tentacular.deploy._release._image import check_digest
from tentacular.deploy._release._policy import Policy, choose_policy, enforce
from tentacular.deploy._release._retarget import retarget
from tentacular.deploy._release._unit import ReleaseUnit, read_unit
from tentacular.deploy._release._verify import verify_running
from tentacular.deploy._revision import roll_out, stamp_for
from tentacular.deploy._settings import DeployTarget, environment_name, load_settings, resolve_deploy_target
from tentacular.deploy._versions import keep_setting, now_rfc3339
from tentacular.errors import PreflightError, ReleaseVerifyError, TentacularError, UsageError
from tentacular.events import Event, EventSink, ignore_events


@dataclass(frozen=True, kw_only=True)
class ReleaseOptions(TargetOptions):
    policy: Path | None = None
    keep: int | None = None
    timeout: float = DEFAULT_DEPLOY_TIMEOUT
    run: bool = True  # verify: one verification run through the workflow's Service
    force: bool = False  # promote: even after a failed (or missing) verification


@dataclass
class Prepared:
    unit: ReleaseUnit
    target: DeployTarget
    objects: list[dict[str, Any]]
    policy: Policy | None
    warnings: list[str] = field(default_factory=list)

    @property
    def namespace(self) -> str:
        return self.target.namespace.value

    @property
    def environment(self) -> str | None:
        return self.target.environment.name if self.target.environment else None


def prepare(path: str | Path, options: ReleaseOptions, *, policy: bool = True) -> Prepared:
    """Load and verify the unit, resolve where it goes, re-target it and (by default) enforce the policy."""
    unit = read_unit(Path(path))
    settings = load_settings()
    bundled = unit.unit.get("bundled") or {}
    env_name = environment_name(options.env)
    if (
        env_name is None
        and options.namespace is None
        and settings.has_environment(bundled.get("environment") or "")
    ):
        env_name = bundled["environment"]
    namespace_flag = options.namespace
    if env_name is None and namespace_flag is None:
        namespace_flag = bundled.get("namespace")
    target = resolve_deploy_target(
        settings,
        env_name=env_name,
        namespace_flag=namespace_flag,
        workflow_namespace=unit.unit["workflow"].get("namespace"),
    )
    source = str(bundled.get("namespace") or target.namespace.value)
    objects = retarget(unit.objects, workflow=unit.workflow, source=source, target=target.namespace.value)
    fields = settings.environments.get(env_name, {}) if env_name else {}
    chosen = choose_policy(options.policy, fields) if policy else None
    enforce(chosen, objects, unit.unit)
    return Prepared(unit, target, objects, chosen)


def _entry(kube: KubeClient, prepared: Prepared, action: str, **extra: Any) -> dict[str, Any]:
    return {
        "action": action,
        "at": now_rfc3339(),
        "by": stamp_for(kube, prepared.unit.id).deployed_by,
        "environment": prepared.environment,
        "namespace": prepared.namespace,
        "context": kube.context,
        "server": kube.server,
        **extra,
    }


def _secret(prepared: Prepared) -> dict[str, Any]:
    derived = prepared.unit.unit.get("derived") or {}
    return {"name": derived.get("secretObject"), "keys": derived.get("secrets") or []}


def plan(path: str | Path, options: ReleaseOptions) -> dict[str, Any]:
    """The unit against the cluster of its environment; policy violations raise (exit 1)."""
    prepared = prepare(path, options)
    warning = check_digest(prepared.unit.unit["image"]["image"])
    with connect(prepared.target.cluster) as kube:
        result = plan_objects(
            kube,
            prepared.objects,
            workflow=prepared.unit.workflow,
            namespace=prepared.namespace,
            secret=_secret(prepared),
        )
    result.update(
        unit=prepared.unit.id,
        workflow=prepared.unit.workflow,
        environment=prepared.environment,
        policy=prepared.policy.to_dict() if prepared.policy else None,
        warnings=[warning] if warning else [],
    )
    return result


def _preflight(kube: KubeClient, prepared: Prepared) -> dict[str, Any] | Unread | None:
    # The same plan and checks as tntc deploy and tntc cluster check (deploy._kube.checks).
    plan = plan_for(
        prepared.namespace,
        prepared.unit.unit.get("runtimeClass"),
        workflow=prepared.unit.workflow,
        objects=prepared.objects,
    )
    checks, deployment = run_preflight(kube, plan)
    failed = [c for c in checks if not c.passed]
    if failed:
        raise PreflightError(
            "preflight checks failed -- nothing was applied: " + "; ".join(c.name for c in failed),
            hint=" | ".join(c.remediation for c in failed if c.remediation) or None,
            checks=[c.to_dict() for c in checks],
        )
    return deployment  # as the checks read it: the apply reuses it


def _apply_prepared(prepared: Prepared, options: ReleaseOptions, on_event: EventSink) -> dict[str, Any]:
    unit = prepared.unit
    warning = check_digest(unit.unit["image"]["image"])
    if warning:
        on_event(Event(warning, "warning"))
    settings = load_settings()
    fields = settings.environments.get(prepared.environment or "", {})
    keep = keep_setting(fields, options.keep)
    on_event(
        Event(f"Applying release {unit.short_id} of {unit.workflow} to namespace {prepared.namespace}...")
    )
    with connect(prepared.target.cluster) as kube:
        live_deployment = _preflight(kube, prepared)
        try:
            result = roll_out(
                kube,
                prepared.objects,
                workflow=unit.workflow,
                namespace=prepared.namespace,
                stamp=stamp_for(kube, unit.id),
                timeout=options.timeout,
                keep=keep,
                on_action=lambda a: on_event(Event(f"  {a.action} {a.ref}")),
                deployment=live_deployment,
            )
        except TentacularError as error:
            unit.record(_entry(kube, prepared, "apply", result="fail", error=error.to_dict()))
            raise
        entry = _entry(kube, prepared, "apply", result="pass", manifests=result.apply.to_list())
        unit.record(entry)
    return entry


def apply(
    path: str | Path, options: ReleaseOptions, *, on_event: EventSink = ignore_events
) -> dict[str, Any]:
    """Apply exactly the bundled objects (re-targeted), wait for the rollout, record it in the unit."""
    return _apply_prepared(prepare(path, options), options, on_event)


def verify(
    path: str | Path, options: ReleaseOptions, *, on_event: EventSink = ignore_events
) -> dict[str, Any]:
    """Running digest and code hash, readiness, no crash loops, one run; the result goes into the unit."""
    return _verify_prepared(prepare(path, options, policy=False), options, on_event)


def _verify_prepared(prepared: Prepared, options: ReleaseOptions, on_event: EventSink) -> dict[str, Any]:
    unit = prepared.unit
    on_event(Event(f"Verifying release {unit.short_id} of {unit.workflow} in {prepared.namespace}..."))
    with connect(prepared.target.cluster) as kube:
        checks, diagnostics = verify_running(
            kube, unit.unit, unit.workflow, prepared.namespace, run=options.run, timeout=options.timeout
        )
        passed = all(c["passed"] for c in checks)
        extra: dict[str, Any] = {"result": "pass" if passed else "fail", "checks": checks}
        if not passed:
            extra["diagnostics"] = diagnostics
        entry = _entry(kube, prepared, "verify", **extra)
        unit.record(entry)
    for check in checks:
        on_event(Event(f"  {'✓' if check['passed'] else '✗'} {check['name']}: {check['detail']}"))
    return entry


def _refusal(unit: ReleaseUnit, environment: str) -> str | None:
    """Why a promotion to ``environment`` must not go ahead without --force, or None."""
    verifications = [
        h for h in unit.history if h.get("action") == "verify" and h.get("environment") != environment
    ]
    if not verifications:
        return "the unit was never verified in another environment"
    last = verifications[-1]
    if last.get("result") != "pass":
        where = last.get("environment") or last.get("namespace")
        return f"the unit failed verification in {where} at {last.get('at')}"
    return None


def promote(
    path: str | Path, environment: str, options: ReleaseOptions, *, on_event: EventSink = ignore_events
) -> dict[str, Any]:
    """plan + apply + verify of the same unit in ``environment``."""
    settings = load_settings()
    if not settings.has_environment(environment):
        settings.environment(environment)  # raises the ConfigError naming the known ones
    unit = read_unit(Path(path))
    refusal = _refusal(unit, environment)
    if refusal and not options.force:
        raise ReleaseVerifyError(
            f"refusing to promote {unit.workflow} release {unit.short_id} to {environment}: {refusal}",
            hint="verify it first (tntc release verify), or promote anyway with --force",
        )
    scoped = ReleaseOptions(
        env=environment,
        policy=options.policy,
        keep=options.keep,
        timeout=options.timeout,
        run=options.run,
        force=options.force,
    )
    if options.namespace is not None:
        raise UsageError("promote targets an environment; its namespace comes from the environment, not -n")
    reviewed = plan(path, scoped)
    changes = reviewed["changes"]
    on_event(
        Event(f"Promoting {unit.workflow} release {unit.short_id} to {environment}: {changes} change(s)")
    )
    prepared = prepare(path, scoped)
    applied = _apply_prepared(prepared, scoped, on_event)
    verified = _verify_prepared(prepare(path, scoped, policy=False), scoped, on_event)
    return {"environment": environment, "plan": reviewed, "apply": applied, "verify": verified}


def show(path: str | Path) -> dict[str, Any]:
    """The unit, offline: what it holds, its objects with hashes, and its apply/verify history."""
    unit = read_unit(Path(path))
    content = unit.unit
    return {
        "id": unit.id,
        "workflow": content["workflow"],
        "image": content["image"],
        "runtimeClass": content.get("runtimeClass"),
        "source": content.get("source"),
        "bundled": content.get("bundled"),
        "config": content.get("config"),
        "contract": content.get("contract"),
        "derived": content.get("derived"),
        "files": [{k: f[k] for k in ("path", "sha256", "size")} for f in content["files"]],
        "objects": [{k: o[k] for k in ("ref", "hash")} for o in content["objects"]],
        "manifests": unit.objects,
        "history": unit.history,
    }
