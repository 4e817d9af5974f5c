"""`tntc run` (local runs on the embedded engine, or a deployed workflow) and `tntc dev` (hot reload)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, TextIO

import typer

from tentacular.cli.common import (
    event_printer,
    finish,
    options_of,
    parse_input,
    seconds_option,
    target_options,
)
from tentacular.cli.output import CommandResult, progress


def register(app: typer.Typer) -> None:
    app.command("run", help="Run a workflow: --local DIR on the embedded engine, or NAME on the cluster.")(
        run
    )
    app.command("dev", help="Serve a workflow locally with hot reload.")(dev)


def run(
    ctx: typer.Context,
    target: Annotated[
        str | None, typer.Argument(help="Workflow directory with --local; deployed workflow name otherwise.")
    ] = None,
    local: Annotated[bool, typer.Option("--local", help="Run on the embedded engine, no cluster.")] = False,
    input_: Annotated[
        str | None, typer.Option("--input", "-i", help="Root input as JSON, or @file.json.")
    ] = None,
    secrets: Annotated[
        Path | None, typer.Option("--secrets", help="Secrets file or directory (replaces the cascade).")
    ] = None,
    timeout: Annotated[
        str | None,
        typer.Option("--timeout", help="Give up on the run after 30s, 2m, … (deployed runs: default 30s)."),
    ] = None,
    no_guard: Annotated[  # D4 (guard engineer)
        bool, typer.Option("--no-guard", help="Local debugging only: disable the runtime permission guard.")
    ] = False,
    subject: Annotated[
        str | None,
        typer.Option("--subject", help="Deployed runs: request-reply on this NATS subject instead of HTTP."),
    ] = None,
    nats_url: Annotated[
        str | None,
        typer.Option(
            "--nats-url", envvar="TNTC_NATS_URL", help="With --subject: the NATS server (nats://host:4222)."
        ),
    ] = None,
) -> None:
    if subject is not None:
        _run_over_nats(ctx, target, subject, nats_url, input_, timeout, secrets)
        return
    if not local:
        _run_deployed(ctx, target, input_, timeout)
        return
    from tentacular import engine

    payload = parse_input(input_)
    outcome = engine.run_local(
        target or ".",
        input=payload,
        secrets_path=secrets,
        guard=not no_guard,
        secret_resolver=_secret_resolver(ctx, Path(target or "."), secrets),
        timeout=None if timeout is None else seconds_option(timeout, default=0.0),
        on_event=event_printer(ctx),
    )
    workflow, execution = outcome.workflow, outcome.to_dict()
    duration = execution["timing"]["durationMs"]
    if outcome.result.success:
        summary = f"{workflow.name}: {len(execution['outputs'])} node(s) succeeded in {duration} ms"
    else:
        summary = f"{workflow.name}: {len(execution['errors'])} node(s) failed"
        if execution["cancelled"]:
            summary += f", {len(execution['cancelled'])} cancelled"
    usage = execution.get("usage")
    if usage is not None:
        total = usage["total"]
        tokens = f"{total['totalTokens']} tokens ({total['inputTokens']} in, {total['outputTokens']} out)"
        if total["cost"] is not None:
            tokens += f", cost {total['cost']:g}"
        summary += f"; {tokens}"
        progress(options_of(ctx), f"Token usage: {tokens} in {total['calls']} LLM call(s)")
    hints = [f"{node}: {message}" for node, message in execution["errors"].items()]

    def text(out: TextIO) -> None:
        out.write(json.dumps(execution, indent=2, ensure_ascii=False) + "\n")

    finish(
        ctx,
        CommandResult(
            "run",
            outcome.result.success,
            summary,
            hints=hints,
            data={"workflow": workflow.name, "execution": execution},
            text=text,
        ),
    )


def _secret_resolver(ctx: typer.Context, directory: Path, secrets: Path | None) -> Any:
    """Missing or unused secret keys, once each, on stderr; the resolver the engine start uses."""
    from tentacular import deploy

    resolver, warnings = deploy.local_run_secrets(directory, env=options_of(ctx).env, explicit=secrets)
    for warning in warnings:
        progress(options_of(ctx), f"warning: {warning}")
    return resolver


def _run_over_nats(
    ctx: typer.Context,
    name: str | None,
    subject: str,
    nats_url: str | None,
    input_: str | None,
    timeout: str | None,
    secrets: Path | None,
) -> None:
    """``tntc run NAME --subject``: request-reply to a workflow's queue trigger; prints the result."""
    from tentacular import engine
    from tentacular.errors import UsageError

    if not nats_url:
        raise UsageError(
            "--subject needs a NATS server", hint="pass --nats-url nats://host:4222 or set TNTC_NATS_URL"
        )
    execution = engine.request_over_nats(
        nats_url,
        subject,
        parse_input(input_),
        timeout=seconds_option(timeout, default=30.0),
        secrets_path=secrets,
    )
    success = execution.get("success") is True
    label = name or subject
    summary = f"workflow {label} completed" if success else f"workflow {label} returned success=false"

    def text(out: TextIO) -> None:
        out.write(json.dumps(execution, indent=2, ensure_ascii=False) + "\n")

    finish(
        ctx,
        CommandResult(
            "run",
            success,
            summary,
            data={"name": name, "subject": subject, "execution": execution},
            text=text,
        ),
    )


def _run_deployed(ctx: typer.Context, name: str | None, input_: str | None, timeout: str | None) -> None:
    """``tntc run NAME``: trigger the deployed workflow once; the body is printed even when it fails (Q13)."""
    from tentacular import deploy
    from tentacular.errors import UsageError

    if not name:
        raise UsageError("tntc run needs a workflow name (or --local DIR)", hint="e.g. tntc run my-workflow")
    if "/" in name or name in (".", "..") or name.endswith(".yaml") or Path(name).is_dir():
        raise UsageError(
            f'"{name}" is a path, but tntc run without --local runs a deployed workflow by name',
            hint=f"to run it on the embedded engine: tntc run --local {name}",
        )
    report = deploy.run_deployed(
        name,
        target=target_options(ctx),
        input=parse_input(input_),
        timeout=seconds_option(timeout, default=deploy.DEFAULT_RUN_TIMEOUT),
    )
    outcome = report.outcome

    def text(out: TextIO) -> None:
        out.write(
            (json.dumps(outcome.execution, indent=2) if outcome.execution else outcome.raw.rstrip()) + "\n"
        )

    passed = report.passed
    summary = f"workflow {name} completed" if passed else f"workflow {name} returned success=false"
    finish(
        ctx,
        CommandResult(
            "run",
            passed,
            summary,
            hints=[] if passed else [f"check deployment logs with: tntc logs {name}"],
            data=report.to_dict(),
            text=text,
            show_status_line=False,
        ),
    )


def dev(
    ctx: typer.Context,
    directory: Annotated[Path, typer.Argument(help="Workflow directory.")] = Path(),
    port: Annotated[
        int, typer.Option("-p", "--port", help="Listen port (0: any free one).", min=0, max=65535)
    ] = 8080,
    host: Annotated[str, typer.Option("--host", help="Listen address.")] = "127.0.0.1",
    secrets: Annotated[
        Path | None, typer.Option("--secrets", help="Secrets file or directory (replaces the cascade).")
    ] = None,
    no_guard: Annotated[  # D4 (guard engineer)
        bool, typer.Option("--no-guard", help="Local debugging only: disable the runtime permission guard.")
    ] = False,
    cron: Annotated[
        bool,
        typer.Option("--cron", help="Also run cron triggers on their schedule (UTC), as the CronJobs would."),
    ] = False,
) -> None:
    from tentacular import engine

    engine.serve_dev(
        directory,
        host=host,
        port=port,
        secrets_path=secrets,
        guard=not no_guard,
        secret_resolver=_secret_resolver(ctx, directory, secrets),
        cron=cron,
    )
    finish(ctx, CommandResult("dev", True, "dev server stopped", show_status_line=False))
