"""The deploy face's main operations: ``plan`` (dry run), ``deploy`` and ``live_test``.

Each resolves the settings once, resolves its targets (the dev gate's too), runs the
contract and dev gates, owns every Kubernetes client it opens (closed on every path)
and reports progress through one ``on_event`` callback.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tentacular.deploy._kube.client import connect
from tentacular.deploy._kube.deploy import contract_gate, deploy_workflow, dev_gate
from tentacular.deploy._kube.deploy import live_test as run_live_test
from tentacular.deploy._manifests import object_ref
from tentacular.deploy._options import DeployOptions, LiveTestOptions, TargetOptions
from tentacular.deploy._plan import local_secrets_for, render_objects
from tentacular.deploy._release._policy import choose_policy, enforce, raw_contract
from tentacular.deploy._render import mask_secrets, to_yaml
from tentacular.deploy._report import DeployReport
from tentacular.deploy._secrets_ops import require_secrets
from tentacular.deploy._settings import DeployTarget, Settings, environment_name, load_settings
from tentacular.deploy._settings import resolve_deploy_target as _resolve
from tentacular.deploy._target_checks import target_warnings
from tentacular.deploy._versions import keep_setting
from tentacular.errors import TentacularError
from tentacular.events import Event, EventSink, ignore_events
from tentacular.spec import LoadedWorkflow, load_workflow

DEV_ENVIRONMENT = "dev"


def resolve_target(
    settings: Settings,
    options: TargetOptions,
    *,
    loaded: LoadedWorkflow | None = None,
    env_name: str | None = None,
    use_namespace_flag: bool = True,
    image: str | None = None,
    runtime_class: str | None = None,
    pull_policy: str | None = None,
    warn: bool = False,
) -> DeployTarget:
    """The cascades of F-161…F-163 for one command, with the workflow's own defaults when given."""
    return _resolve(
        settings,
        env_name=env_name if env_name is not None else environment_name(options.env),
        namespace_flag=options.namespace if use_namespace_flag else None,
        image_flag=image,
        runtime_class_flag=runtime_class,
        workflow_namespace=loaded.workflow.deployment.namespace if loaded else None,
        workflow_dir=loaded.directory if loaded else None,
        warn_flag=warn,
        pull_policy_flag=pull_policy,
    )


def _deploy_target(settings: Settings, loaded: LoadedWorkflow, options: DeployOptions) -> DeployTarget:
    return resolve_target(
        settings,
        options,
        loaded=loaded,
        image=options.image,
        runtime_class=options.runtime_class,
        pull_policy=options.image_pull_policy,
        warn=options.warn,
    )


@dataclass(frozen=True)
class DeployPlan:
    """``tntc deploy --dry-run``: every object in apply order, Secret values masked (D5)."""

    workflow: str
    target: DeployTarget
    objects: list[dict[str, Any]]
    warnings: list[str] = field(default_factory=list)
    secret_sources: dict[str, str] = field(default_factory=dict)

    @property
    def apply_order(self) -> list[str]:
        return [object_ref(obj) for obj in self.objects]

    def to_yaml(self) -> str:
        return to_yaml(self.objects)

    def to_dict(self) -> dict[str, Any]:
        return {
            "dryRun": True,
            "workflow": self.workflow,
            "namespace": self.target.namespace.value,
            "image": self.target.image.value,
            "objects": self.objects,
            "applyOrder": self.apply_order,
            "secretSources": self.secret_sources,
            "warnings": list(self.warnings),
        }


def plan(directory: str | Path, options: DeployOptions) -> DeployPlan:
    """The same cascades and rendering as ``deploy``, so the reviewed output is what gets applied."""
    loaded = load_workflow(directory)
    settings = load_settings()
    target = _deploy_target(settings, loaded, options)
    local = None if options.omit_secrets else local_secrets_for(loaded, target, options.secrets_path)
    warnings = [] if local is None else require_secrets(loaded, local, allow_missing=True)
    warnings.extend(target_warnings(loaded, target, settings))
    if loaded.workflow.contract is None:
        warnings.append("no contract: no NetworkPolicy is generated (legacy mode, unrestricted egress)")
    objects = mask_secrets(render_objects(loaded, target, local))
    sources = dict(local.provenance) if local is not None else {}
    return DeployPlan(loaded.workflow.name, target, objects, warnings, sources)


def _environment_fields(settings: Settings, target: DeployTarget) -> dict[str, Any]:
    return settings.environments.get(target.environment.name, {}) if target.environment else {}


def _warn(report: DeployReport, warnings: list[str], on_event: EventSink) -> None:
    for warning in warnings:
        report.warnings.append(warning)
        on_event(Event(warning, level="warning"))


def wants_dev_gate(settings: Settings, target: DeployTarget, *, force: bool) -> bool:
    """The deploy gate (F-191): a live test in ``dev`` first, unless forced or deploying to dev."""
    deploying_to = target.environment.name if target.environment else None
    return not force and settings.has_environment(DEV_ENVIRONMENT) and deploying_to != DEV_ENVIRONMENT


def deploy(
    directory: str | Path, options: DeployOptions, *, on_event: EventSink = ignore_events
) -> DeployReport:
    """Contract gate, dev gate, preflight, apply, wait, verify. Failures are in the report, not raised,
    so the caller sees how far the deploy got; only bad input (no workflow, bad config) raises."""
    settings = load_settings()
    loaded = load_workflow(directory)
    target = _deploy_target(settings, loaded, options)
    keep = keep_setting(_environment_fields(settings, target), options.keep)
    policy = choose_policy(options.policy, _environment_fields(settings, target))
    report = DeployReport(loaded.workflow.name, target)
    _warn(report, target_warnings(loaded, target, settings), on_event)
    try:
        with report.phase("contract"):
            report.warnings.extend(
                contract_gate(loaded, strict=target.enforcement == "strict", on_event=on_event)
            )
        if policy is not None:  # the environment's release policy holds for the one-step path too
            with report.phase("policy"):
                enforce(policy, render_objects(loaded, target, None), {"contract": raw_contract(loaded)})
        # Secrets are resolved and checked before anything is applied anywhere (dev gate included).
        secrets = None if options.omit_secrets else local_secrets_for(loaded, target, options.secrets_path)
        if secrets is not None:
            report.warnings.extend(
                require_secrets(loaded, secrets, allow_missing=options.allow_missing_secrets)
            )
            report.secret_sources = dict(secrets.provenance)
            for ref, label in sorted(secrets.from_providers().items()):
                on_event(Event(f"  secret {ref} resolved from {label}"))
        if wants_dev_gate(settings, target, force=options.force):
            dev = resolve_target(
                settings,
                options,
                loaded=loaded,
                env_name=DEV_ENVIRONMENT,
                use_namespace_flag=False,
                image=options.image or target.image.value,
            )
            failure = dev_gate(
                loaded,
                dev,
                secrets=local_secrets_for(loaded, dev),
                report=report,
                on_event=on_event,
                timeout=options.timeout,
            )
            if failure is not None:
                return report.fail(failure)
        with connect(target.cluster) as kube:
            deploy_workflow(
                kube,
                loaded,
                target,
                secrets=secrets,
                report=report,
                on_event=on_event,
                wait=options.wait,
                timeout=options.timeout,
                verify=options.verify,
                keep=keep,
                reclaim=options.reclaim,
            )
    except TentacularError as error:
        return report.fail(error.message, error)
    if options.verify and report.execution is not None and not report.execution.success:
        return report.fail("verification: workflow returned success=false")
    if options.verify:
        on_event(Event("  Verification passed"))
    return report


def live_test(
    directory: str | Path, options: LiveTestOptions, *, on_event: EventSink = ignore_events
) -> DeployReport:
    """Deploy to an environment (default dev), run once, clean up (F-138…F-142)."""
    settings = load_settings()
    loaded = load_workflow(directory)
    env_name = environment_name(options.env) or DEV_ENVIRONMENT
    target = resolve_target(settings, options, loaded=loaded, env_name=env_name, warn=options.warn)
    on_event(Event(f"Live test: environment={env_name}, namespace={target.namespace.value}"))
    report = DeployReport(loaded.workflow.name, target)
    _warn(report, target_warnings(loaded, target, settings), on_event)
    try:
        contract_gate(loaded, strict=target.enforcement == "strict", on_event=on_event)
        run_live_test(
            loaded,
            target,
            secrets=local_secrets_for(loaded, target),
            report=report,
            on_event=on_event,
            timeout=options.timeout,
            keep=options.keep,
            body=options.input,
        )
    except TentacularError as error:
        return report.fail(error.message, error)
    outcome = report.execution
    if outcome is None or (not outcome.success and outcome.execution is not None):
        report.fail("workflow returned success=false")
    return report
