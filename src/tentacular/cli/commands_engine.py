"""`tntc run` (local runs on the embedded engine) and `tntc dev` (engine with hot reload).

`tntc run NAME` without ``--local`` triggers a deployed workflow; that belongs to
the cluster commands (``commands_cluster.run_deployed``) when they are installed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, TextIO

import typer

from tentacular.cli.common import finish, options_of, parse_input
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
        float | None, typer.Option("--timeout", help="Deployed runs: seconds to wait for the result.")
    ] = None,
    no_guard: Annotated[  # D4 (guard engineer)
        bool, typer.Option("--no-guard", help="Local debugging only: disable the runtime permission guard.")
    ] = False,
) -> None:
    if not local:
        _run_deployed(ctx, target, input_, timeout)
        return
    payload = parse_input(input_)
    import asyncio

    from tentacular.engine.logs import LogSink
    from tentacular.engine.startup import boot

    log = LogSink()
    from tentacular.engine.guard import guard_for  # D4: the guard is on for local runs too

    resolver = _warn_secrets(ctx, Path(target or "."), secrets)
    engine, _ = boot(
        target or ".",
        secrets_path=secrets,
        log=log,
        install_guard=guard_for(enabled=not no_guard, log=log),
        secret_resolver=resolver,
    )
    workflow = engine.revision.workflow
    progress(options_of(ctx), f"Running {workflow.name} v{workflow.version} locally...")

    async def once() -> Any:
        try:
            return await engine.run(payload)
        finally:
            await engine.services.http.aclose()

    result = asyncio.run(once())
    execution = result.to_dict()
    duration = execution["timing"]["durationMs"]
    if result.success:
        summary = f"{workflow.name}: {len(execution['outputs'])} node(s) succeeded in {duration} ms"
    else:
        summary = f"{workflow.name}: {len(execution['errors'])} node(s) failed"
        if execution["cancelled"]:
            summary += f", {len(execution['cancelled'])} cancelled"
    hints = [f"{node}: {message}" for node, message in execution["errors"].items()]

    def text(out: TextIO) -> None:
        out.write(json.dumps(execution, indent=2, ensure_ascii=False) + "\n")

    finish(
        ctx,
        CommandResult(
            "run",
            result.success,
            summary,
            hints=hints,
            data={"workflow": workflow.name, "execution": execution},
            text=text,
        ),
    )


def _warn_secrets(ctx: typer.Context, directory: Path, secrets: Path | None) -> Any:
    """Missing or unused secret keys, once each, on stderr; the resolver the engine start uses."""
    from tentacular.deploy._secrets_ops import local_run_secrets

    resolver, warnings = local_run_secrets(directory, env=options_of(ctx).env, explicit=secrets)
    for warning in warnings:
        progress(options_of(ctx), f"warning: {warning}")
    return resolver


def _run_deployed(ctx: typer.Context, target: str | None, input_: str | None, timeout: float | None) -> None:
    from tentacular.cli.commands_cluster import run_deployed

    run_deployed(ctx, target, input_text=input_, timeout=timeout)


def dev(
    ctx: typer.Context,
    directory: Annotated[Path, typer.Argument(help="Workflow directory.")] = Path(),
    port: Annotated[int, typer.Option("-p", "--port", help="Listen port.")] = 8080,
    host: Annotated[str, typer.Option("--host", help="Listen address.")] = "127.0.0.1",
    secrets: Annotated[
        Path | None, typer.Option("--secrets", help="Secrets file or directory (replaces the cascade).")
    ] = None,
    no_guard: Annotated[  # D4 (guard engineer)
        bool, typer.Option("--no-guard", help="Local debugging only: disable the runtime permission guard.")
    ] = False,
) -> None:
    import asyncio

    from tentacular.engine.logs import LogSink
    from tentacular.engine.service import log_banner, serve
    from tentacular.engine.startup import boot

    log = LogSink()
    from tentacular.engine.guard import guard_for  # D4: the guard is on for tntc dev too

    resolver = _warn_secrets(ctx, directory, secrets)
    engine, prepared = boot(
        directory,
        secrets_path=secrets,
        secret_resolver=resolver,
        listen=(host, port),
        log=log,
        install_guard=guard_for(enabled=not no_guard, log=log, hot_reload=True),
    )
    assert prepared.listener is not None
    log_banner(engine, log, prepared.listener)
    asyncio.run(serve(engine, prepared.listener, watch=True, grace_period=5.0))
    finish(ctx, CommandResult("dev", True, "dev server stopped", show_status_line=False))
