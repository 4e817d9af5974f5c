"""`tntc secrets check|init|sync|diff`: the lifecycle of a workflow's secrets (INVENTORY §6.5.14)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, TextIO

import typer

from tentacular.cli.common import finish, options_of, target_options
from tentacular.cli.output import CommandResult

DirArgument = Annotated[Path, typer.Argument(help="Workflow directory.")]
SecretsOption = Annotated[
    Path | None, typer.Option("--secrets", help="Secrets file or directory (replaces the cascade).")
]

secrets_app = typer.Typer(help="Check, create, sync and diff a workflow's secrets.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(secrets_app, name="secrets")
    secrets_app.command("check", help="Report every required secret as provisioned or missing.")(check)
    secrets_app.command("init", help="Write .secrets.yaml with every required key as a placeholder.")(init)
    secrets_app.command("sync", help="Push the local secrets to the cluster Secret; roll pods if changed.")(
        sync
    )
    secrets_app.command("diff", help="Compare local and cluster secrets per key (never values).")(diff)


def check(ctx: typer.Context, directory: DirArgument = Path(), secrets: SecretsOption = None) -> None:
    from tentacular.deploy import secrets_check

    report = secrets_check(directory, env=options_of(ctx).env, explicit=secrets)
    required, missing = report.required, report.missing
    if not required:
        summary = "no secrets required by the contract or node code"
    elif missing:
        summary = f"{len(missing)} of {len(required)} required secret(s) missing"
    else:
        summary = f"all {len(required)} required secret(s) provisioned"

    def text(out: TextIO) -> None:
        out.write(f"Secrets check for {report.workflow}:\n")
        width = max((len(k.ref) for k in report.keys), default=0)
        for key in report.keys:
            detail = {"provisioned": f"provisioned ({key.source})", "missing": "missing", "unused": "unused"}
            line = f"  {key.ref.ljust(width)}  {detail[key.status]}"
            if key.status == "unused":
                line += f" ({key.source}; nothing reads it)"
            if key.reason:
                line += f": {key.reason}"
            if key.suggestion:
                line += f"  (did you mean {key.suggestion}?)"
            out.write(line + "\n")

    hints = [f"run: tntc secrets init {directory}"] if missing else []
    finish(
        ctx, CommandResult("secrets check", report.ok, summary, hints=hints, data=report.to_dict(), text=text)
    )


def init(
    ctx: typer.Context,
    directory: DirArgument = Path(),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing .secrets.yaml.")] = False,
) -> None:
    from tentacular.deploy import secrets_init

    created = secrets_init(directory, force=force)

    def text(out: TextIO) -> None:
        out.write(f"Wrote {created.path} (mode 0600) with {len(created.keys)} placeholder(s)\n")
        for key in created.keys:
            out.write(f"  {key}\n")
        if created.gitignore:
            out.write(f"Added .secrets.yaml to {created.gitignore}\n")

    finish(
        ctx,
        CommandResult(
            "secrets init",
            True,
            f"wrote {created.path}",
            data=created.to_dict(),
            text=text,
            show_status_line=False,
        ),
    )


def _key_lines(keys: list[dict[str, str]], out: TextIO) -> None:
    width = max((len(k["ref"]) for k in keys), default=0)
    for key in keys:
        out.write(f"  {key['ref'].ljust(width)}  {key['status']}\n")


def diff(ctx: typer.Context, directory: DirArgument = Path(), secrets: SecretsOption = None) -> None:
    from tentacular.deploy import secrets_diff

    result = secrets_diff(directory, target=target_options(ctx), explicit=secrets)
    data = result.to_dict()
    changes = result.differences
    summary = (
        f"{result.secret} in {result.namespace}: {len(changes)} key(s) differ"
        if changes
        else f"{result.secret} in {result.namespace}: in sync ({len(result.keys)} key(s))"
    )

    def text(out: TextIO) -> None:
        out.write(f"Secrets diff for {result.workflow} (local vs {result.namespace}/{result.secret}):\n")
        if not result.in_cluster:
            out.write("  (no Secret in the cluster)\n")
        _key_lines(data["keys"], out)

    hints = [f"push them with: tntc secrets sync {directory}"] if changes else []
    finish(ctx, CommandResult("secrets diff", not changes, summary, hints=hints, data=data, text=text))


def sync(ctx: typer.Context, directory: DirArgument = Path(), secrets: SecretsOption = None) -> None:
    from tentacular.deploy import secrets_sync

    report = secrets_sync(directory, target=target_options(ctx), explicit=secrets)
    data = report.to_dict()
    secret = f"{report.diff.namespace}/{report.diff.secret}"
    if report.rolled:
        summary = f"synced {secret}; rolling deployment {report.diff.workflow}"
    elif report.changed:
        summary = f"updated the sources annotation of {secret}; values unchanged, no roll"
    else:
        summary = f"{secret} already in sync; nothing changed"

    def text(out: TextIO) -> None:
        _key_lines(data["keys"], out)
        for ref, label in sorted(report.sources.items()):
            out.write(f"  {ref} resolved from {label}\n")

    finish(ctx, CommandResult("secrets sync", True, summary, data=data, text=text))
