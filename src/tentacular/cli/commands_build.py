"""``tntc build`` (engine image) and ``tntc deploy`` (``--dry-run`` renders, else the cluster layer)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TextIO

import typer

from tentacular.cli.common import finish, options_of
from tentacular.cli.output import CommandResult, progress

if TYPE_CHECKING:
    pass

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
    from tentacular.deploy.builder import BuildRequest, build_image
    from tentacular.deploy.settings import cluster_target, environment_name, load_settings
    from tentacular.spec import load_workflow

    options = options_of(ctx)
    loaded = load_workflow(directory)
    settings = load_settings()
    env_name = environment_name(options.env)
    # Kind detection looks at the context the chosen environment deploys to (Q29).
    target = cluster_target(settings.environment(env_name) if env_name else None)
    request = BuildRequest(
        loaded=loaded,
        tag=tag,
        registry=registry or settings.text("registry"),
        push=push,
        platform=platform,
        kubeconfig=str(target.kubeconfig) if target.kubeconfig else None,
        kube_context=target.context,
    )
    outcome = build_image(request, lambda message: progress(options, message))

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
            hints=[*outcome.warnings, f"deploy with: tntc deploy {loaded.directory}"],
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
        float | None, typer.Option("--timeout", help="Seconds to wait for rollout/run.")
    ] = None,
    cluster_registry: Annotated[str | None, typer.Option("--cluster-registry", hidden=True)] = None,
) -> None:
    from tentacular.errors import UsageError

    if cluster_registry is not None:
        raise UsageError("--cluster-registry is deprecated; use --image instead")
    if not dry_run:
        request: dict[str, Any] = {
            "directory": directory,
            "image": image,
            "runtime_class": runtime_class,
            "image_pull_policy": image_pull_policy,
            "secrets_path": secrets,
            "omit_secrets": omit_secrets,
            "allow_missing_secrets": allow_missing_secrets,
            "force": force,
            "verify": verify,
            "warn": warn,
            "wait": wait,
        }
        if timeout is not None:
            request["timeout"] = timeout
        _deploy_to_cluster(ctx, **request)
        return
    from tentacular.cli.commands_cluster import workflow_target
    from tentacular.deploy._secrets_ops import require_secrets
    from tentacular.deploy.manifests import object_ref
    from tentacular.deploy.plan import local_secrets_for, render_objects
    from tentacular.deploy.render import mask_secrets, to_yaml
    from tentacular.spec import load_workflow

    options = options_of(ctx)
    loaded = load_workflow(directory)
    # The same cascades and rendering as the real deploy, so the reviewed output is what gets applied.
    target = workflow_target(
        ctx, loaded, image=image, runtime_class=runtime_class, pull_policy=image_pull_policy
    )
    local = None if omit_secrets else local_secrets_for(loaded, target, secrets)
    if local is not None:
        for warning in require_secrets(loaded, local, allow_missing=True):
            progress(options, f"⚠ {warning}")
    objects = mask_secrets(render_objects(loaded, target, local))
    namespace = target.namespace.value
    if loaded.workflow.contract is None:
        progress(options, "⚠ no contract: no NetworkPolicy is generated (legacy mode, unrestricted egress)")
    summary = f"rendered {len(objects)} objects for {loaded.workflow.name} in namespace {namespace}" + (
        " (secret values masked)" if any(o["kind"] == "Secret" for o in objects) else ""
    )
    data: dict[str, Any] = {
        "dryRun": True,
        "workflow": loaded.workflow.name,
        "namespace": namespace,
        "image": target.image.value,
        "objects": objects,
        "applyOrder": [object_ref(obj) for obj in objects],
        "secretSources": dict(local.provenance) if local is not None else {},
    }
    rendered = to_yaml(objects)

    def text(out: TextIO) -> None:
        out.write(rendered)

    if not options.json:
        progress(options, summary)
    finish(
        ctx,
        CommandResult("deploy", True, summary, data=data, text=text, show_status_line=False),
    )


def _deploy_to_cluster(ctx: typer.Context, **request: Any) -> None:
    """Hand over to the cluster layer, which owns config cascades, apply, prune and verify."""
    from tentacular.cli.commands_cluster import deploy_to_cluster

    deploy_to_cluster(ctx, **request)
