"""Local runs on the embedded engine: ``tntc run --local`` (once) and ``tntc dev`` (serve, reload).

Both start the engine exactly like the pod does (``_startup.boot``), runtime guard
included (D4), so every limit a node is under holds locally too.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tentacular.engine._executor import ExecutionResult
from tentacular.engine._guard import guard_for
from tentacular.engine._logs import LogSink
from tentacular.engine._output import redacting_output_first
from tentacular.engine._secret_providers import SecretResolver
from tentacular.engine._service import log_banner, serve
from tentacular.engine._startup import boot
from tentacular.errors import RunTimeoutError
from tentacular.events import Event, EventSink, ignore_events

if TYPE_CHECKING:
    from tentacular.spec import Workflow

DEV_GRACE_PERIOD = 0.5  # sandbox: Ctrl-C ends tntc dev within a second, even with a run in flight


@dataclass(frozen=True)
class LocalRun:
    """One finished local run: the workflow that ran and its execution result."""

    workflow: Workflow
    result: ExecutionResult

    def to_dict(self) -> dict[str, Any]:
        return self.result.to_dict()


def run_local(
    workflow: str | Path,
    *,
    input: Any,
    secrets_path: Path | None = None,
    guard: bool = True,
    secret_resolver: SecretResolver | None = None,
    timeout: float | None = None,
    on_event: EventSink = ignore_events,
) -> LocalRun:
    """Boot the engine for ``workflow`` (guard on unless ``guard=False``), run it once, shut down.

    ``secret_resolver`` fetches ``secret://`` references at start (the deploy face builds it from
    the settings: ``tentacular.deploy.local_run_secrets``)."""
    log = LogSink()
    engine, _ = boot(
        workflow,
        secrets_path=secrets_path,
        log=log,
        install_guard=redacting_output_first(guard_for(enabled=guard, log=log)),
        secret_resolver=secret_resolver,
    )
    spec = engine.revision.workflow
    on_event(Event(f"Running {spec.name} v{spec.version} locally..."))

    async def once() -> ExecutionResult:
        try:
            if timeout is None:
                return await engine.run(input)
            try:
                return await asyncio.wait_for(engine.run(input), timeout)
            except TimeoutError:
                raise RunTimeoutError(
                    f"{spec.name} did not finish within {timeout:g}s (--timeout); its nodes were cancelled",
                    hint="raise --timeout, or find the node that hangs with: tntc test",
                ) from None
        finally:
            await engine.services.http.aclose()
            await asyncio.to_thread(engine.services.telemetry.shutdown)  # flush spans (bounded)

    return LocalRun(spec, asyncio.run(once()))


def serve_dev(
    directory: str | Path,
    *,
    host: str,
    port: int,
    secrets_path: Path | None = None,
    guard: bool = True,
    secret_resolver: SecretResolver | None = None,
    cron: bool = False,
) -> None:
    """Serve ``directory`` with hot reload until interrupted (``tntc dev``); ``cron`` runs cron triggers."""
    log = LogSink()
    engine, prepared = boot(
        directory,
        secrets_path=secrets_path,
        secret_resolver=secret_resolver,
        listen=(host, port),
        log=log,
        install_guard=redacting_output_first(guard_for(enabled=guard, log=log, hot_reload=True)),
    )
    assert prepared.listener is not None
    log_banner(engine, log, prepared.listener)
    asyncio.run(serve(engine, prepared.listener, watch=True, grace_period=DEV_GRACE_PERIOD, cron=cron))
