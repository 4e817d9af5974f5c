"""``tntc build`` (engine image) and ``tntc deploy`` (``--dry-run`` renders, else the cluster layer)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, TextIO

import typer

from tentacular.cli.common import event_printer, finish, options_of, seconds_option, target_options
from tentacular.cli.output import CommandResult, progress

DirArgument = Annotated[Path, typer.Argument(help="Workflow directory (or its workflow.yaml).")]


def register(app: typer.Typer) -> None:
    app.command("build", help="Build the engine image (plus the workflow's hash-pinned packages).")(build)
    app.command("deploy", help="Deploy a workflow; --dry-run prints the manifests instead.")(deploy)


def build(
    ctx: typer.Context,
    directory: DirArgument = Path(),
    tag: Annotated[
        str | None,
        typer.Option(
            "-t",
            "--tag",
            help="Image tag. Default: tentacular-engine:<tntc version>, or "
            "tentacular-<workflow>:<workflow version> when the workflow declares Python packages.",
        ),
    ] = None,
    registry: Annotated[
        str | None,
        typer.Option(
            "-r", "--registry", help="Registry prefix host[:port][/path] (default: config `registry`)."
        ),
    ] = None,
    push: Annotated[bool, typer.Option("--push", help="Push after building (needs a registry).")] = False,
    platform: Annotated[
        str | None,
        typer.Option("--platform", help="Target platform, e.g. linux/amd64 (default: the host's)."),
    ] = None,
) -> None:
    from tentacular import deploy

    report = deploy.build(
        directory,
        target=target_options(ctx),
        tag=tag,
        registry=registry,
        push=push,
        platform=platform,
        on_event=event_printer(ctx),
    )
    outcome = report.outcome

    def text(out: TextIO) -> None:
        out.write(f"{outcome.image}\n")

    summary = f"built {outcome.image}" + (" and pushed it" if outcome.pushed else "")
    if outcome.kind_loaded:
        summary += f" (loaded into kind cluster '{outcome.kind_cluster}')"
    finish(
        ctx,
        CommandResult(
            "build",
            True,
            summary,
            hints=[*outcome.warnings, f"deploy with: tntc deploy {report.directory}"],
            data=outcome.to_dict(),
            text=text,
        ),
    )


def deploy(
    ctx: typer.Context,
    directory: DirArgument = Path(),
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Print every object in apply order (secret values masked); no cluster."
        ),
    ] = False,
    image: Annotated[
        str | None,
        typer.Option(
            "--image",
            help="Engine image (default: environment, .tentacular/base-image.txt, "
            "tentacular-engine:<version>).",
        ),
    ] = None,
    runtime_class: Annotated[
        str | None, typer.Option("--runtime-class", help='RuntimeClass (default gvisor); "" disables.')
    ] = None,
    image_pull_policy: Annotated[
        str | None, typer.Option("--image-pull-policy", help="Always, IfNotPresent or Never.")
    ] = None,
    secrets: Annotated[
        Path | None, typer.Option("--secrets", help="Secrets file or directory, replacing the local cascade.")
    ] = None,
    omit_secrets: Annotated[
        bool,
        typer.Option(
            "--omit-secrets", help="Leave the Secret out (it is managed elsewhere, e.g. in GitOps)."
        ),
    ] = False,
    allow_missing_secrets: Annotated[
        bool,
        typer.Option(
            "--allow-missing-secrets", help="Deploy even when required secrets are not provisioned."
        ),
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", "--skip-live-test", help="Skip the pre-deploy live test.")
    ] = False,
    verify: Annotated[bool, typer.Option("--verify", help="Run the workflow once after deploying.")] = False,
    warn: Annotated[
        bool, typer.Option("--warn", help="Contract problems are warnings (audit mode).")
    ] = False,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Wait for the rollout.")] = True,
    timeout: Annotated[
        str | None, typer.Option("--timeout", help="Rollout/run wait: 2m, 120s or seconds (default 120s).")
    ] = None,
    keep: Annotated[
        int | None,
        typer.Option("--keep", help="Code versions to retain for rollback (default: environment's keep, 5)."),
    ] = None,
    policy: Annotated[
        Path | None, typer.Option("--policy", help="Release policy file (default: the environment's policy).")
    ] = None,
    reclaim: Annotated[
        bool,
        typer.Option(
            "--reclaim", help="Remove fields other field managers added to the workflow's objects (drift)."
        ),
    ] = False,
    cluster_registry: Annotated[str | None, typer.Option("--cluster-registry", hidden=True)] = None,
) -> None:
    from tentacular import deploy as face
    from tentacular.cli.render_deploy import deploy_result
    from tentacular.errors import UsageError

    if cluster_registry is not None:
        raise UsageError("--cluster-registry is deprecated; use --image instead")
    target = target_options(ctx)
    request = face.DeployOptions(
        env=target.env,
        namespace=target.namespace,
        image=image,
        runtime_class=runtime_class,
        image_pull_policy=image_pull_policy,
        secrets_path=secrets,
        omit_secrets=omit_secrets,
        allow_missing_secrets=allow_missing_secrets,
        force=force,
        verify=verify,
        warn=warn,
        wait=wait,
        timeout=seconds_option(timeout, default=face.DEFAULT_DEPLOY_TIMEOUT),
        keep=keep,
        policy=policy,
        reclaim=reclaim,
    )
    if not dry_run:
        finish(ctx, deploy_result(face.deploy(directory, request, on_event=event_printer(ctx))))
        return
    plan = face.plan(directory, request)
    options = options_of(ctx)
    for warning in plan.warnings:
        progress(options, f"⚠ {warning}")
    objects = plan.objects
    summary = (
        f"rendered {len(objects)} objects for {plan.workflow} in namespace {plan.target.namespace.value}"
        + (" (secret values masked)" if any(o["kind"] == "Secret" for o in objects) else "")
    )
    rendered = plan.to_yaml()

    def text(out: TextIO) -> None:
        out.write(rendered)

    if options.output == "text":
        progress(options, summary)
    finish(
        ctx, CommandResult("deploy", True, summary, data=plan.to_dict(), text=text, show_status_line=False)
    )
