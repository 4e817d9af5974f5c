"""Code versions of a deployed workflow: ``tntc versions`` (and ``--diff``), ``tntc rollback``."""

from __future__ import annotations

from typing import Annotated, TextIO

import typer

from tentacular.cli.common import event_printer, finish, seconds_option, target_options
from tentacular.cli.output import CommandResult


def register(app: typer.Typer) -> None:
    app.command("versions", help="List a workflow's retained code versions (or diff two of them).")(versions)
    app.command("rollback", help="Repoint a workflow to a retained code version and wait for it.")(rollback)


def versions(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Workflow name.")],
    diff: Annotated[
        tuple[str, str] | None,
        typer.Option("--diff", help="Unified diff of code and workflow.yaml between versions A and B."),
    ] = None,
) -> None:
    from tentacular import deploy

    target = target_options(ctx)
    if diff is not None:
        change = deploy.version_diff(name, diff[0], diff[1], target=target)
        summary = f"{change.old.name} → {change.new.name}: " + (
            "no differences" if not change.diff else f"{change.diff.count(chr(10))} diff line(s)"
        )
        result = CommandResult(
            "versions",
            True,
            summary,
            data=change.to_dict(),
            text=lambda out: print(change.diff or "no differences\n", file=out, end=""),
            show_status_line=False,
        )
        finish(ctx, result)
        return
    report = deploy.versions(name, target=target)

    def text(out: TextIO) -> None:
        out.write(
            f"{'':2}{'VERSION':<9}{'CODE HASH':<12}{'DEPLOYED AT':<22}{'DEPLOYED BY':<18}"
            f"{'GIT SHA':<10}{'SIZE':>8}  NAME\n"
        )
        for v in report.versions:
            code_hash = (v.code_hash or "").removeprefix("sha256:")[:10]
            out.write(
                f"{'*' if v.live else '':2}{v.version or '?':<9}{code_hash:<12}{v.deployed_at or '':<22}"
                f"{(v.deployed_by or '')[:17]:<18}{(v.git_sha or '')[:8]:<10}{v.size:>8}  {v.name}\n"
            )

    live = report.live
    summary = f"{len(report.versions)} version(s) of {name}; live: {live.name if live else 'none'}"
    finish(
        ctx,
        CommandResult("versions", True, summary, data=report.to_dict(), text=text, show_status_line=False),
    )


def rollback(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Workflow name.")],
    to: Annotated[
        str | None,
        typer.Option("--to", help="Version, code-hash prefix or ConfigMap name (default: the previous one)."),
    ] = None,
    timeout: Annotated[
        str | None, typer.Option("--timeout", help="Rollout wait: 2m, 120s or seconds (default 120s).")
    ] = None,
) -> None:
    from tentacular import deploy

    report = deploy.rollback(
        name,
        target=target_options(ctx),
        to=to,
        timeout=seconds_option(timeout, default=deploy.DEFAULT_DEPLOY_TIMEOUT),
        on_event=event_printer(ctx),
    )
    target = report.target
    summary = f"rolled back {name} in {report.namespace} to {target.version} ({target.name})"
    finish(
        ctx,
        CommandResult(
            "rollback",
            True,
            summary,
            hints=report.warnings,
            data=report.to_dict(),
            text=lambda out: print(summary, file=out),
            show_status_line=False,
        ),
    )
