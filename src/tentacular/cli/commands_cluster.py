"""Cluster commands: deploy, undeploy, and the entry points other command modules call.

``deploy_to_cluster`` (used by ``tntc deploy``), ``run_deployed`` (``tntc run NAME``
without ``--local``) and ``run_live_test`` (``tntc test --live``) each render their
envelope and end the command. The read-only commands live in commands_cluster_ops.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TextIO

import typer

from tentacular.cli.common import finish, options_of, parse_input
from tentacular.cli.output import CommandResult, progress

if TYPE_CHECKING:
    from tentacular.deploy.kube.deploy import DeployRun
    from tentacular.deploy.settings import DeployTarget
    from tentacular.spec import LoadedWorkflow

LOGS_HINT = "check deployment logs with: tntc logs {name}"
FORCE_HINT = "use --force to skip pre-deploy live test"
DEFAULT_TIMEOUT = 120.0


def register(app: typer.Typer) -> None:
    from tentacular.cli import commands_cluster_ops

    # `tntc deploy` itself lives in commands_build (it also renders --dry-run); it calls deploy_to_cluster.
    app.command("undeploy", help="Remove a deployed workflow and everything it created.")(undeploy)
    commands_cluster_ops.register(app)


def target_for(
    ctx: typer.Context,
    *,
    env: str | None = None,
    workflow_namespace: str | None = None,
    workflow_dir: Path | None = None,
    image: str | None = None,
    runtime_class: str | None = None,
    warn: bool = False,
    use_namespace_flag: bool = True,
    pull_policy: str | None = None,
) -> DeployTarget:
    from tentacular.deploy.settings import environment_name, load_settings, resolve_deploy_target

    options = options_of(ctx)
    return resolve_deploy_target(
        load_settings(),
        env_name=env if env is not None else environment_name(options.env),
        namespace_flag=options.namespace if use_namespace_flag else None,
        image_flag=image,
        runtime_class_flag=runtime_class,
        workflow_namespace=workflow_namespace,
        workflow_dir=workflow_dir,
        warn_flag=warn,
        pull_policy_flag=pull_policy,
    )


def workflow_target(
    ctx: typer.Context,
    loaded: LoadedWorkflow,
    *,
    image: str | None,
    runtime_class: str | None,
    pull_policy: str | None,
    warn: bool = False,
) -> DeployTarget:
    """Where a deploy of ``loaded`` goes: the cascades of F-161…F-163 with the workflow's own defaults."""
    return target_for(
        ctx,
        workflow_namespace=loaded.workflow.deployment.namespace,
        workflow_dir=loaded.directory,
        image=image,
        runtime_class=runtime_class,
        warn=warn,
        pull_policy=pull_policy,
    )


def _say(ctx: typer.Context) -> Any:
    options = options_of(ctx)
    return lambda message: progress(options, message)


def deploy_to_cluster(
    ctx: typer.Context,
    directory: Path,
    *,
    image: str | None = None,
    runtime_class: str | None = None,
    force: bool = False,
    verify: bool = False,
    warn: bool = False,
    wait: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
    image_pull_policy: str | None = None,
    secrets_path: Path | None = None,
    omit_secrets: bool = False,
    allow_missing_secrets: bool = False,
) -> None:
    """The real deploy: contract gate, dev gate, preflight, apply, wait, verify; renders the envelope."""
    from tentacular.deploy._secrets_ops import require_secrets
    from tentacular.deploy.kube.deploy import (
        DEV_ENVIRONMENT,
        DeployRun,
        contract_gate,
        deploy_workflow,
        dev_gate,
        wants_dev_gate,
    )
    from tentacular.deploy.plan import local_secrets_for
    from tentacular.deploy.settings import load_settings
    from tentacular.errors import TentacularError
    from tentacular.spec import load_workflow

    say = _say(ctx)
    run = DeployRun()
    loaded = load_workflow(directory)
    name = loaded.workflow.name
    target = workflow_target(
        ctx, loaded, image=image, runtime_class=runtime_class, pull_policy=image_pull_policy, warn=warn
    )
    hints = [FORCE_HINT, LOGS_HINT.format(name=name)]
    try:
        with run.phase("contract"):
            run.warnings.extend(contract_gate(loaded, strict=target.enforcement == "strict", say=say))
        # Secrets are resolved and checked before anything is applied anywhere (dev gate included).
        provisioned = None if omit_secrets else local_secrets_for(loaded, target, secrets_path)
        if provisioned is not None:
            run.warnings.extend(require_secrets(loaded, provisioned, allow_missing=allow_missing_secrets))
            for ref, label in sorted(provisioned.from_providers().items()):
                say(f"  secret {ref} resolved from {label}")
        if wants_dev_gate(load_settings(), target, force=force):
            dev = target_for(
                ctx,
                env=DEV_ENVIRONMENT,
                workflow_namespace=loaded.workflow.deployment.namespace,
                workflow_dir=loaded.directory,
                image=image or target.image.value,
                use_namespace_flag=False,
            )
            failure = dev_gate(loaded, dev, run=run, say=say, timeout=timeout)
            if failure is not None:
                _deploy_failed(ctx, run, failure, hints)
                return
        kube = deploy_workflow(
            loaded,
            target,
            secrets=provisioned,
            run=run,
            say=say,
            wait=wait,
            timeout=timeout,
            verify=verify,
        )
        kube.close()
    except TentacularError as error:
        _deploy_failed(ctx, run, error.message, [h for h in (error.hint, *hints) if h], error)
        return
    if verify and run.execution is not None and not run.execution.success:
        _deploy_failed(ctx, run, "verification: workflow returned success=false", hints)
        return
    namespace = target.namespace.value
    if verify:
        say("  Verification passed")

    def text(out: TextIO) -> None:
        out.write(f"Deployed {name} to {namespace}\n")

    finish(
        ctx,
        CommandResult(
            "deploy",
            True,
            f"deployed {name} to {namespace}",
            data=_deploy_data(run, target),
            text=text,
        ),
    )


def _deploy_data(run: DeployRun, target: DeployTarget | None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "phases": [p.to_dict() for p in run.phases],
        "manifests": run.report.to_list(),
        "warnings": run.warnings,
    }
    if target is not None:
        data["target"] = target.to_dict()
    if run.checks:
        data["checks"] = [c.to_dict() for c in run.checks]
    if run.execution is not None:
        data["execution"] = run.execution.execution or {"raw": run.execution.raw}
    return data


def _deploy_failed(
    ctx: typer.Context, run: DeployRun, message: str, hints: list[str], error: Any = None
) -> None:
    data = _deploy_data(run, None)
    exit_code = None
    if error is not None:
        data["error"] = error.to_dict()
        exit_code = error.exit_code
    finish(
        ctx,
        CommandResult(
            "deploy",
            False,
            f"deploy failed: {message}",
            hints=list(dict.fromkeys(hints)),
            data=data,
            exit_code=exit_code,
        ),
    )


def run_deployed(
    ctx: typer.Context,
    name: str | None,
    input: Any = None,
    timeout: float | str | None = 30.0,
    *,
    input_text: str | None = None,
) -> None:
    """``tntc run NAME``: trigger the deployed workflow once; the body is printed even when it fails (Q13)."""
    from tentacular.deploy.kube.client import connect
    from tentacular.deploy.kube.trigger import trigger_workflow
    from tentacular.errors import UsageError
    from tentacular.spec.model import duration_seconds

    if not name:
        raise UsageError("tntc run needs a workflow name (or --local DIR)", hint="e.g. tntc run my-workflow")
    if timeout is None:
        timeout = 30.0
    seconds = duration_seconds(timeout) if isinstance(timeout, str) else float(timeout)
    body = parse_input(input_text if input is None else input)
    target = target_for(ctx)
    namespace = target.namespace.value
    with connect(target.cluster) as kube:
        outcome = trigger_workflow(kube, name, namespace, body, timeout=seconds)
    execution = outcome.execution or {"raw": outcome.raw}
    passed = outcome.success or (outcome.execution is None and outcome.phase == "Succeeded")

    def text(out: TextIO) -> None:
        out.write(
            (json.dumps(outcome.execution, indent=2) if outcome.execution else outcome.raw.rstrip()) + "\n"
        )

    summary = f"workflow {name} completed" if passed else f"workflow {name} returned success=false"
    finish(
        ctx,
        CommandResult(
            "run",
            passed,
            summary,
            hints=[] if passed else [LOGS_HINT.format(name=name)],
            data={"name": name, "namespace": namespace, "execution": execution},
            text=text,
            show_status_line=False,
        ),
    )


def run_live_test(
    ctx: typer.Context,
    directory: Path | str,
    *,
    env: str | None = None,
    keep: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    warn: bool = False,
    input: Any = None,
) -> None:
    """``tntc test --live``: deploy to an environment (default dev), run once, clean up (F-138…F-142)."""
    from tentacular.deploy.kube.deploy import DeployRun, contract_gate, live_test
    from tentacular.deploy.plan import local_secrets_for
    from tentacular.deploy.settings import environment_name
    from tentacular.errors import TentacularError
    from tentacular.spec import load_workflow

    say = _say(ctx)
    loaded = load_workflow(directory)
    name = loaded.workflow.name
    env_name = env or environment_name(options_of(ctx).env) or "dev"
    target = target_for(
        ctx,
        env=env_name,
        workflow_namespace=loaded.workflow.deployment.namespace,
        workflow_dir=loaded.directory,
    )
    say(f"Live test: environment={env_name}, namespace={target.namespace.value}")
    run = DeployRun()
    hints = [LOGS_HINT.format(name=name)]
    try:
        contract_gate(loaded, strict=target.enforcement == "strict", say=say)
        outcome = live_test(
            loaded,
            target,
            secrets=local_secrets_for(loaded, target),
            run=run,
            say=say,
            timeout=timeout,
            keep=keep,
            body=parse_input(input),
        )
    except TentacularError as error:
        data = {**_deploy_data(run, target), "error": error.to_dict()}
        stage = next((p.name for p in run.phases if p.status == "fail"), "deploy")
        label = {"wait": "deployment not ready", "verify": "workflow run failed"}.get(stage, "deploy failed")
        finish(
            ctx,
            CommandResult(
                "test",
                False,
                f"{label}: {error.message}",
                hints=[h for h in (error.hint, *hints) if h],
                data=data,
                exit_code=error.exit_code,
            ),
        )
        return
    passed = outcome is not None and (outcome.success or outcome.execution is None)
    summary = (
        "workflow completed successfully"
        if outcome is not None and outcome.success
        else "workflow completed (raw output)"
        if passed
        else "workflow returned success=false"
    )
    finish(
        ctx,
        CommandResult("test", passed, summary, hints=[] if passed else hints, data=_deploy_data(run, target)),
    )


def undeploy(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Workflow name.")],
    yes: Annotated[bool, typer.Option("-y", "--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    from tentacular.deploy.kube.apply import remove_workflow
    from tentacular.deploy.kube.client import connect

    options = options_of(ctx)
    target = target_for(ctx)
    namespace = target.namespace.value
    if not yes:
        if options.json:
            from tentacular.errors import UsageError

            raise UsageError("undeploy needs --yes with -o json (no prompt when output is machine-read)")
        answer = typer.prompt(
            f"Remove workflow {name} from namespace {namespace}? [y/N]", default="", show_default=False
        )
        if answer.strip().lower() not in ("y", "yes"):
            progress(options, "Cancelled.")
            finish(
                ctx,
                CommandResult("undeploy", True, "cancelled", data={"removed": []}, show_status_line=False),
            )
            return
    with connect(target.cluster) as kube:
        removed = remove_workflow(
            kube, name, namespace, on_action=lambda a: progress(options, f"  deleted {a.ref}")
        )
    summary = (
        f"removed {name} from {namespace}" if removed else f"No resources found for {name} in {namespace}"
    )

    def text(out: TextIO) -> None:
        out.write(summary + "\n")

    finish(
        ctx,
        CommandResult(
            "undeploy",
            True,
            summary,
            data={"name": name, "namespace": namespace, "removed": [a.ref for a in removed]},
            text=text,
            show_status_line=False,
        ),
    )
