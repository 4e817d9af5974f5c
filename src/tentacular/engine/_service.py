"""The engine process: `python -m tentacular.engine --workflow ... [--port 8080]` (F-065, F-066).

Start-up order is in ``startup.boot``; this module adds the HTTP server, hot
reload and graceful shutdown: on SIGTERM/SIGINT the listener closes, runs in
flight get ``--grace-period`` seconds to finish and answer, then the process
exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tentacular.engine._core import WorkflowEngine
from tentacular.engine._httpd import DEFAULT_HEAD_TIMEOUT
from tentacular.engine._logs import LogSink
from tentacular.engine._server import DEFAULT_MAX_BODY, EngineApp

DEFAULT_PORT = 8080
DEFAULT_HOST = "0.0.0.0"  # a pod must be reachable through its Service
DEFAULT_GRACE_PERIOD = 25.0  # below Kubernetes' default 30 s terminationGracePeriodSeconds


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tentacular.engine", description="Run a workflow engine.")
    parser.add_argument("--workflow", required=True, help="workflow.yaml or its directory")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="listen port (default 8080)")
    parser.add_argument("--host", default=DEFAULT_HOST, help="listen address (default 0.0.0.0)")
    parser.add_argument(
        "--secrets", type=Path, default=None, help="secrets file or directory (replaces the cascade)"
    )
    parser.add_argument("--watch", action="store_true", help="hot reload on file changes")
    parser.add_argument(
        "--grace-period",
        type=float,
        default=DEFAULT_GRACE_PERIOD,
        help="seconds in-flight runs get on SIGTERM",
    )
    parser.add_argument(
        "--head-timeout",
        type=float,
        default=DEFAULT_HEAD_TIMEOUT,
        help="seconds a client has to send a complete request head (default 10)",
    )
    parser.add_argument("--max-body", type=int, default=DEFAULT_MAX_BODY, help="largest /run body in bytes")
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes sharing the port (default 1; --watch forces 1)",
    )
    # D4 (guard engineer): the runtime permission guard is on unless this local-debugging switch is given.
    parser.add_argument(
        "--no-guard", action="store_true", help="local debugging only: disable the runtime permission guard"
    )
    return parser.parse_args(list(argv))


def log_banner(engine: WorkflowEngine, log: LogSink, listener: socket.socket | None) -> None:
    revision = engine.revision
    workflow = revision.workflow
    dag = revision.dag
    log.engine("info", f"Workflow: {workflow.name} v{workflow.version}")
    log.engine("info", f"DAG compiled: {len(dag.stages)} stage(s), {len(dag.nodes)} node(s)")
    for index, stage in enumerate(dag.stages):
        log.engine("info", f"  Stage {index}: [{', '.join(stage)}]")
    if listener is not None:
        host, port = listener.getsockname()[:2]
        log.engine("info", f"Listening on http://{host}:{port}")
        log.engine("info", "  POST /run — trigger workflow execution (GET /run: input {})")
        log.engine("info", "  GET /health — health check (?detail=1: telemetry)")
        log.engine("info", "  GET /metrics — Prometheus metrics")
        for line in trigger_banner(workflow, host=str(host), port=int(port)):
            log.engine("info", line)


def trigger_banner(workflow: Any, *, host: str, port: int) -> list[str]:
    """What else starts runs: webhook URLs to paste into the sender, subjects, schedules."""
    shown = "localhost" if host in ("0.0.0.0", "::", "127.0.0.1") else host
    lines = []
    for trigger in workflow.triggers_of("webhook"):
        if trigger.provider:
            lines.append(
                f"  POST http://{shown}:{port}/webhook/{trigger.provider} — webhook ({trigger.label})"
            )
    for trigger in workflow.triggers_of("queue"):
        mode = "JetStream" if trigger.uses_jetstream else "NATS"
        lines.append(f"  {mode} subject {trigger.subject} — queue trigger ({trigger.label})")
    return lines


async def serve(
    engine: WorkflowEngine,
    listener: socket.socket,
    *,
    grace_period: float = DEFAULT_GRACE_PERIOD,
    max_body: int = DEFAULT_MAX_BODY,
    watch: bool = False,
    head_timeout: float = DEFAULT_HEAD_TIMEOUT,
    cron: bool = False,
) -> None:
    """Serve until SIGTERM/SIGINT, then drain in-flight runs within the grace period.

    ``cron`` (``tntc dev --cron``) also runs cron triggers on their schedule.
    """
    import gc

    from tentacular.engine._httpd import HttpServer

    log = engine.services.log
    app = EngineApp(engine, max_body=max_body)
    server = HttpServer(
        app,
        head_timeout=head_timeout,  # sandbox: slowloris (Build 6)
        keep_alive=30.0,
        grace_period=grace_period,
        max_body=max_body,
        log=log.engine,
    )
    triggers = await start_triggers(engine, app, server, cron=cron)
    stop_watch = asyncio.Event()
    watcher = None
    if watch:
        from tentacular.engine._reload import watch_and_reload

        watcher = asyncio.create_task(watch_and_reload(engine, log, stop=stop_watch))
        log.engine("info", f"Watching {engine.revision.directory} for changes")

    # Everything loaded so far lives as long as the process: keep it out of every collection.
    if not watch:  # hot reload replaces modules: frozen ones would never be freed
        gc.freeze()
    try:
        await server.serve(sockets=[listener])
    finally:
        if triggers is not None:
            await triggers.stop(grace_period)
        stop_watch.set()
        if watcher is not None:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await watcher
        await engine.services.http.aclose()
        # Flush spans and metrics still queued; bounded, so an absent collector delays exit by seconds.
        await asyncio.to_thread(engine.services.telemetry.shutdown)
        log.engine("info", "Stopped")


async def start_triggers(engine: WorkflowEngine, app: EngineApp, server: Any, *, cron: bool = False) -> Any:
    """Queue and webhook triggers (D9), only when the workflow has them; SIGTERM stops their intake."""
    from tentacular.engine._triggers import wants_triggers

    if not wants_triggers(engine.revision.workflow, cron=cron):
        return None
    from tentacular.engine._triggers import TriggerHost  # the machinery only when it is needed

    host = TriggerHost(engine, telemetry=app.telemetry, cron=cron)
    app.triggers = host
    server_exit = server.handle_exit

    def handle_exit(sig: int, frame: Any) -> None:
        server_exit(sig, frame)
        host.begin_stop()

    server.handle_exit = handle_exit
    await host.start()
    return host


def main(argv: Sequence[str] | None = None) -> int:
    from tentacular.engine._guard import guard_for  # D4: start-up step 4
    from tentacular.engine._startup import complete_boot, prepare, worker_listener
    from tentacular.errors import TentacularError

    args = parse_args(sys.argv[1:] if argv is None else argv)
    log = LogSink()
    workers = 1 if args.watch else max(1, args.workers)

    def fail(exc: TentacularError) -> int:
        log.engine("error", f"Engine failed to start: {exc.message}")
        for issue in getattr(exc, "issues", []):
            log.engine("error", f"  {issue.render()}")
        if exc.hint:
            log.engine("error", f"  hint: {exc.hint}")
        return 1

    try:
        prepared = prepare(
            args.workflow,
            secrets_path=args.secrets,
            listen=(args.host, args.port),
            log=log,
            reuse_port=workers > 1,
            # the server as a pod runs it reads the compiled form; --watch (tntc dev) always validates
            deployed=not args.watch,
        )
    except TentacularError as exc:
        return fail(exc)
    listener = prepared.listener
    assert listener is not None
    from tentacular.engine._output import install_output_redaction

    install_output_redaction(prepared.services.redactor)  # sandbox: node prints, logging, tracebacks

    def boot_and_serve(first: bool) -> int:
        try:
            if workers > 1:  # before the guard: it derives the allowed ports from this socket
                prepared.listener = worker_listener(listener)
            engine = complete_boot(
                prepared, install_guard=guard_for(enabled=not args.no_guard, log=log, hot_reload=args.watch)
            )
        except TentacularError as exc:
            return fail(exc)
        if first:
            log_banner(engine, log, prepared.listener)
        assert prepared.listener is not None
        try:
            asyncio.run(
                serve(
                    engine,
                    prepared.listener,
                    grace_period=args.grace_period,
                    max_body=args.max_body,
                    watch=args.watch,
                    head_timeout=args.head_timeout,
                )
            )
        except TentacularError as exc:  # e.g. queue triggers without a NATS URL
            return fail(exc)
        return 0

    if workers == 1:
        return boot_and_serve(first=True)
    from tentacular.engine._workers import run_workers

    # Fork before the guard (which forbids fork); each worker installs it and imports the nodes.
    log.engine("info", f"Starting {workers} worker processes")
    return run_workers(workers, boot_and_serve, listener)
