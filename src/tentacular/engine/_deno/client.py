"""The engine's side of one Deno worker: requests, replies, logs and the mock bridge.

A run sends the node's input and a reference to its services (config, secrets and
contract dependencies, sent once per services object). The worker answers with
``done`` or ``fail``; ``log`` frames go to ``ctx.log`` (the redacting sink); in mock
mode ``ev`` frames record accesses on the mock context and ``call`` frames ask it to
answer a request from the fixture's mocks.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import contextvars
import itertools
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from tentacular.engine._deno.launcher import Launcher
from tentacular.engine._deno.process import Frame, WorkerGone, WorkerProcess
from tentacular.engine._deno.refusals import node_failure
from tentacular.engine._deno.spans import ClientSpans
from tentacular.engine._dependency import connection_for
from tentacular.errors import TypeScriptNodeError

CANCEL_GRACE = 2.0  # seconds a cancelled node has to let go before the worker is restarted
LOAD_TIMEOUT = 30.0  # seconds for the worker to start, or to import one node (top-level code)
LOG_LEVELS = frozenset({"debug", "info", "warning", "error"})


@dataclass
class _Invocation:
    ctx: Any
    node: str
    future: asyncio.Future[Any]
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    usage: list[dict[str, Any]] = field(default_factory=list)
    spans: ClientSpans | None = None
    context: contextvars.Context = field(default_factory=contextvars.copy_context)  # the node task's


class DenoClient:
    """Talks to one worker process; unusable once ``alive`` is False (a new client restarts)."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        cwd: str,
        launcher: Launcher,
        engine_log: Callable[[str, str], None],
        workflow_dir: str,
        start_timeout: float | None = None,
    ) -> None:
        self._engine_log = engine_log
        self._workflow_dir = workflow_dir
        self._process = WorkerProcess(
            argv, env=env, cwd=cwd, launcher=launcher, on_frame=self._frame, on_exit=self._exited
        )
        self._start_timeout = LOAD_TIMEOUT if start_timeout is None else start_timeout
        self._ids = itertools.count(1)
        self._runs: dict[int, _Invocation] = {}
        self._acks: dict[int, asyncio.Event] = {}
        self._services: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()
        self._service_ids = itertools.count(1)
        self.exit_reason: str | None = None

    # --- life cycle ------------------------------------------------------------------

    def start(self) -> None:
        self._process.start(timeout=self._start_timeout)

    @property
    def alive(self) -> bool:
        return self._process.alive

    @property
    def busy(self) -> bool:
        return bool(self._runs)

    @property
    def cold_start(self) -> float | None:
        return self._process.cold_start

    @property
    def pid(self) -> int | None:
        return self._process.pid

    def close(self) -> None:
        self._process.close()

    def kill(self) -> None:
        self._process.kill()

    def _exited(self, reason: str) -> None:
        self.exit_reason = reason
        for invocation in list(self._runs.values()):
            if not invocation.future.done():
                invocation.future.set_exception(
                    TypeScriptNodeError(
                        f'{reason} while node "{invocation.node}" was running; '
                        "it is restarted for the next run",
                        hint="a node that calls Deno.exit() or crashes the runtime takes its worker down",
                    )
                )
        for event in self._acks.values():
            event.set()

    # --- node loading (synchronous, before the worker serves runs) -------------------

    def load(self, file: str) -> Frame:
        """Import ``file`` in the worker; the reply frame (``done`` or ``fail``)."""
        request = next(self._ids)
        self._process.send({"t": "load", "id": request, "file": file})
        while True:
            frame = self._process.receive_sync(timeout=self._start_timeout)
            if frame.get("id") == request and frame.get("t") in ("done", "fail"):
                return frame
            self._frame(frame)  # pragma: no cover - log lines of top-level node code

    # --- runs --------------------------------------------------------------------------

    async def run(self, ctx: Any, node: str, file: str, value: Any) -> Any:
        process = self._process
        process.attach()
        loop = asyncio.get_running_loop()
        request = next(self._ids)
        services = ctx._services
        mock = bool(getattr(ctx, "proxied_io", False))
        traceparent = None if mock else _traceparent(services)
        invocation = _Invocation(ctx, node, loop.create_future())
        if traceparent is not None:
            invocation.spans = ClientSpans(services)
        self._runs[request] = invocation
        try:
            key = self._services_key(services, mock)
            process.send(
                {
                    "t": "run",
                    "id": request,
                    "file": file,
                    "svc": key,
                    "node": node,
                    "run": getattr(ctx, "run_id", ""),
                    "input": value,
                    "traceparent": traceparent,
                }
            )
            return await invocation.future
        except WorkerGone:
            raise TypeScriptNodeError(
                f'the Deno worker is not running ({self.exit_reason or "stopped"}); node "{node}" did not run'
            ) from None
        except asyncio.CancelledError:
            if process.alive:
                self._cancel(request, node)
            raise
        finally:
            self._runs.pop(request, None)
            for task in invocation.tasks:
                task.cancel()
            report_usage(ctx, invocation.usage)
            if invocation.spans is not None:
                invocation.context.run(invocation.spans.close)
            if mock:
                self._drop_services(services)

    def _services_key(self, services: Any, mock: bool) -> str:
        key = self._services.get(services)
        if key is None:
            key = f"s{next(self._service_ids)}"
            self._process.send({"t": "svc", "key": key, "services": services_payload(services, mock=mock)})
            self._services[services] = key
        return key

    def _drop_services(self, services: Any) -> None:
        key = self._services.pop(services, None)
        if key is not None and self._process.alive:
            with contextlib.suppress(WorkerGone):
                self._process.send({"t": "drop", "key": key})

    def _cancel(self, request: int, node: str) -> None:
        """The attempt is really cancelled: the worker aborts it, or it is killed."""
        event = asyncio.Event()
        self._acks[request] = event
        with contextlib.suppress(WorkerGone):
            self._process.send({"t": "cancel", "id": request})

        async def watchdog() -> None:
            try:
                await asyncio.wait_for(event.wait(), CANCEL_GRACE)
            except TimeoutError:
                self._engine_log(
                    "warning",
                    f'TypeScript node "{node}" did not give up the Deno worker within {CANCEL_GRACE:.0f}s '
                    "after being cancelled (a busy loop?); restarting the worker",
                )
                self._process.kill()
            finally:
                self._acks.pop(request, None)

        task = asyncio.get_running_loop().create_task(watchdog())
        _BACKGROUND.add(task)
        task.add_done_callback(_BACKGROUND.discard)

    # --- frames ------------------------------------------------------------------------

    def _frame(self, frame: Frame) -> None:
        kind = frame.get("t")
        invocation = self._runs.get(frame.get("id")) if frame.get("id") is not None else None  # type: ignore[arg-type]
        if kind == "done":
            if invocation is not None and not invocation.future.done():
                invocation.future.set_result(frame.get("output"))
        elif kind == "fail":
            if invocation is not None and not invocation.future.done():
                invocation.future.set_exception(node_failure(frame, invocation.ctx, self._workflow_dir))
        elif kind == "log":
            self._log(invocation, frame)
        elif kind == "ev" and invocation is not None:
            if frame.get("op") == "usage":
                invocation.usage.append(dict(frame.get("fields") or {}))
            elif frame.get("op") == "spanEnd":
                if invocation.spans is not None:
                    invocation.context.run(invocation.spans.end, frame)
            else:
                record_event(invocation.ctx, frame)
        elif kind == "call" and invocation is not None and frame.get("op") == "spanStart":
            spans = invocation.spans
            value = invocation.context.run(spans.start, frame) if spans is not None else {}
            with contextlib.suppress(WorkerGone):
                self._process.send({"t": "reply", "cid": frame["cid"], "value": value})
        elif kind == "call" and invocation is not None:
            task = asyncio.get_running_loop().create_task(self._answer(invocation, frame))
            invocation.tasks.add(task)
            task.add_done_callback(invocation.tasks.discard)
        elif kind == "cancelled":
            event = self._acks.get(frame.get("id"))  # type: ignore[arg-type]
            if event is not None:
                event.set()

    def _log(self, invocation: _Invocation | None, frame: Frame) -> None:
        level = str(frame.get("level", "info"))
        level = level if level in LOG_LEVELS else "info"
        message = str(frame.get("msg", ""))
        if invocation is None:
            self._engine_log(level, f"[deno] {message}")
            return
        getattr(invocation.ctx.log, level)(message)

    async def _answer(self, invocation: _Invocation, frame: Frame) -> None:
        reply: Frame = {"t": "reply", "cid": frame["cid"]}
        try:
            reply["value"] = await mock_request(invocation.ctx, frame)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
            reply["error"] = message
        with contextlib.suppress(WorkerGone):
            self._process.send(reply)


_BACKGROUND: set[asyncio.Task[None]] = set()


def _traceparent(services: Any) -> str | None:
    """W3C traceparent of the node span (this task's), for the worker's dependency requests."""
    telemetry = getattr(services, "telemetry", None)
    ids = telemetry.current_ids() if telemetry is not None else None
    return f"00-{ids[0]}-{ids[1]}-01" if ids else None


def report_usage(ctx: Any, reports: list[dict[str, Any]]) -> None:
    """``ctx.usage`` of a TypeScript node, applied in the node attempt's own task and context."""
    usage = getattr(ctx, "usage", None)
    if usage is None:
        return
    for fields in reports:
        with contextlib.suppress(Exception):  # validated in the worker already
            usage(**fields)


def services_payload(services: Any, *, mock: bool) -> dict[str, Any]:
    """What the worker needs to build ``ctx``: config, secrets and the contract's dependencies."""
    secrets = {
        str(s): {str(k): str(v) for k, v in dict(keys).items()} for s, keys in services.secrets.items()
    }
    deps: dict[str, Any] = {}
    contract = services.contract
    if contract is not None:
        for name, dependency in contract.dependencies.items():
            conn = connection_for(name, dependency, services.secrets, None)
            shown = {
                "protocol": conn.protocol,
                "host": conn.host,
                "port": conn.port,
                "authType": conn.auth_type,
                "secret": conn.secret,
                "database": conn.database,
                "user": conn.user,
                "subject": conn.subject,
                "container": conn.container,
            }
            deps[name] = {k: v for k, v in shown.items() if v is not None}
    return {
        "config": _plain(services.config),
        "secrets": secrets,
        "deps": deps,
        "mock": mock,
        # tntc test without a contract and without "mocks": any name is a mock https service.
        "anyDependency": bool(getattr(services, "default_dependencies", False)),
    }


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def record_event(ctx: Any, frame: Frame) -> None:
    """Mock mode: the access happened in TypeScript; record it on the Python mock context."""
    op = frame.get("op")
    if op == "dependency":
        with contextlib.suppress(Exception):  # recorded before validation, like the mock does
            ctx.dependency(str(frame.get("name")))
    elif op == "secret":
        with contextlib.suppress(Exception):
            ctx.secrets.get(str(frame.get("service")))


async def mock_request(ctx: Any, frame: Frame) -> dict[str, Any]:
    """Answer a TypeScript request through the mock context's real httpx request path."""
    parts = urlsplit(str(frame["url"]))
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    method = str(frame.get("method", "GET"))
    headers = {str(k): str(v) for k, v in dict(frame.get("headers") or {}).items()}
    body = base64.b64decode(str(frame.get("body") or ""))
    content = body or None
    if frame.get("op") == "legacyFetch":
        path = str(frame.get("path", target))
        response = await ctx.fetch(
            str(frame["service"]), path, method=method, headers=headers, content=content
        )
    else:
        connection = ctx.dependency(str(frame["dependency"]))
        response = await connection.fetch(target, method=method, headers=headers, content=content)
    return {
        "status": response.status_code,
        "headers": dict(response.headers),
        "body": base64.b64encode(response.content).decode(),
    }
