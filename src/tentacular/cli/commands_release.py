"""``tntc release bundle|plan|apply|verify|promote|show``: release units (ktl K-R1…K-R7)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from tentacular.cli.common import event_printer, finish, seconds_option, target_options
from tentacular.cli.output import CommandResult
from tentacular.cli.render_release import plan_text, show_text, verify_text

release_app = typer.Typer(help="Bundle, plan, apply, verify and promote release units.", no_args_is_help=True)

UnitArgument = Annotated[Path, typer.Argument(help="Release unit file (from tntc release bundle).")]
PolicyOption = Annotated[
    Path | None, typer.Option("--policy", help="Policy file (default: the environment's policy).")
]
TimeoutOption = Annotated[
    str | None, typer.Option("--timeout", help="Rollout/run wait: 2m, 120s or seconds (default 120s).")
]
KeepOption = Annotated[
    int | None, typer.Option("--keep", help="Code versions to retain (default: environment's keep, 5).")
]
RunOption = Annotated[bool, typer.Option("--run/--no-run", help="Include one verification run.")]


def register(app: typer.Typer) -> None:
    release_app.command("bundle", help="Render a workflow once into a release unit file.")(bundle)
    release_app.command("plan", help="Diff a release unit against the cluster (and check policy).")(plan)
    release_app.command("apply", help="Apply exactly the unit's objects, wait, record the result.")(apply)
    release_app.command("verify", help="Check the running release matches the unit and works.")(verify)
    release_app.command("promote", help="Plan, apply and verify the same unit in another environment.")(
        promote
    )
    release_app.command("show", help="Render a release unit offline: objects, hashes, history.")(show)
    app.add_typer(release_app, name="release")


def _options(ctx: typer.Context, **fields: Any) -> Any:
    from tentacular import deploy

    target = target_options(ctx)
    return deploy.ReleaseOptions(env=target.env, namespace=target.namespace, **fields)


def bundle(
    ctx: typer.Context,
    directory: Annotated[Path, typer.Argument(help="Workflow directory.")] = Path(),
    output: Annotated[Path, typer.Option("-O", "--out", help="Unit file to write.")] = Path("unit.tntc"),
    image: Annotated[str | None, typer.Option("--image", help="Engine image (default: as deploy).")] = None,
    digest: Annotated[
        str | None,
        typer.Option("--digest", help="The image's digest (sha256:…) instead of asking the registry."),
    ] = None,
    allow_tag: Annotated[
        bool, typer.Option("--allow-tag", help="Bundle the tag unpinned when no digest can be had.")
    ] = False,
    runtime_class: Annotated[
        str | None, typer.Option("--runtime-class", help='RuntimeClass (default gvisor); "" disables.')
    ] = None,
    warn: Annotated[bool, typer.Option("--warn", help="Contract problems are warnings.")] = False,
) -> None:
    from tentacular import deploy

    target = target_options(ctx)
    options = deploy.BundleOptions(
        env=target.env,
        namespace=target.namespace,
        image=image,
        digest=digest,
        allow_tag=allow_tag,
        runtime_class=runtime_class,
        warn=warn,
    )
    unit = deploy.release_bundle(directory, output, options, on_event=event_printer(ctx))
    image_info = unit.unit["image"]
    summary = (
        f"bundled {unit.workflow} {unit.unit['workflow']['version']} as {output} "
        f"(release {unit.short_id}, {len(unit.objects)} objects, image {image_info['image']})"
    )
    data = {"unit": str(output), "id": unit.id, "image": image_info, "objects": len(unit.objects)}
    finish(ctx, CommandResult("release bundle", True, summary, data=data, show_status_line=False))


def plan(ctx: typer.Context, unit: UnitArgument, policy: PolicyOption = None) -> None:
    from tentacular import deploy

    result = deploy.release_plan(unit, _options(ctx, policy=policy))
    summary = f"{result['changes']} change(s) to {result['workflow']} in {result['namespace']}"
    finish(
        ctx,
        CommandResult(
            "release plan",
            True,
            summary,
            hints=result["warnings"],
            data=result,
            text=lambda out: plan_text(result, out),
            show_status_line=False,
        ),
    )


def apply(
    ctx: typer.Context,
    unit: UnitArgument,
    policy: PolicyOption = None,
    keep: KeepOption = None,
    timeout: TimeoutOption = None,
) -> None:
    from tentacular import deploy

    options = _options(
        ctx, policy=policy, keep=keep, timeout=seconds_option(timeout, default=deploy.DEFAULT_DEPLOY_TIMEOUT)
    )
    entry = deploy.release_apply(unit, options, on_event=event_printer(ctx))
    changed = [m for m in entry["manifests"] if m["action"] != "unchanged"]
    summary = f"applied {unit} to {entry['namespace']}: {len(changed)} of {len(entry['manifests'])} changed"
    finish(ctx, CommandResult("release apply", True, summary, data=entry, show_status_line=False))


def verify(
    ctx: typer.Context, unit: UnitArgument, run: RunOption = True, timeout: TimeoutOption = None
) -> None:
    from tentacular import deploy

    options = _options(ctx, run=run, timeout=seconds_option(timeout, default=deploy.DEFAULT_DEPLOY_TIMEOUT))
    entry = deploy.release_verify(unit, options, on_event=event_printer(ctx))
    passed = entry["result"] == "pass"
    summary = f"release {'verified' if passed else 'failed verification'} in {entry['namespace']}"
    finish(
        ctx,
        CommandResult(
            "release verify",
            passed,
            summary,
            data=entry,
            text=lambda out: verify_text(entry, out),
            show_status_line=not passed,
        ),
    )


def promote(
    ctx: typer.Context,
    unit: UnitArgument,
    to: Annotated[str, typer.Option("--to", help="Environment to promote to.")],
    force: Annotated[bool, typer.Option("--force", help="Promote even if verification failed.")] = False,
    policy: PolicyOption = None,
    keep: KeepOption = None,
    run: RunOption = True,
    timeout: TimeoutOption = None,
) -> None:
    from tentacular import deploy

    target = target_options(ctx)
    options = deploy.ReleaseOptions(
        namespace=target.namespace,
        policy=policy,
        keep=keep,
        run=run,
        force=force,
        timeout=seconds_option(timeout, default=deploy.DEFAULT_DEPLOY_TIMEOUT),
    )
    result = deploy.release_promote(unit, to, options, on_event=event_printer(ctx))
    passed = result["verify"]["result"] == "pass"
    summary = f"promoted {unit} to {to}" + ("" if passed else " but verification failed")
    finish(
        ctx,
        CommandResult(
            "release promote",
            passed,
            summary,
            data=result,
            text=lambda out: verify_text(result["verify"], out),
            show_status_line=not passed,
        ),
    )


def show(
    ctx: typer.Context,
    unit: UnitArgument,
    objects: Annotated[bool, typer.Option("--objects", help="Print every object as YAML.")] = False,
) -> None:
    from tentacular import deploy

    view = deploy.release_show(unit)
    summary = f"{view['workflow']['name']} {view['workflow']['version']}: release {view['id']}"
    finish(
        ctx,
        CommandResult(
            "release show",
            True,
            summary,
            data=view,
            text=lambda out: show_text(view, out, objects=objects),
            show_status_line=False,
        ),
    )
