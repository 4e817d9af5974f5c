"""The DAG executor (D3): dependency-driven, per-attempt timeouts, retries, fail-fast.

A node starts the moment its last parent finishes, so a run takes the DAG's
critical path rather than the sum of its slowest stage members. Stages
(``Dag.stages``) are kept for display only. Results are what the stage model of
the original would produce (F-061…F-074) with two deliberate differences: a
timed-out attempt is really cancelled (Q33) and the first failure cancels the
nodes still running instead of letting the stage settle; those are reported in
``cancelled``, never in ``errors``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import Awaitable, Callable
from types import CoroutineType
from typing import Any, Protocol

from tentacular.engine._eager import resume, start_eager
from tentacular.engine._secrets import Redactor
from tentacular.engine._survival import describe_node_exit, still_running_note
from tentacular.errors import GuardViolation, TentacularError
from tentacular.spec import Dag

RunNode = Callable[[str, Any], Awaitable[Any]]
Sleep = Callable[[float], Awaitable[Any]]
Clock = Callable[[], float]
DescribeError = Callable[[str, BaseException], str]


class AttemptProbe(Protocol):
    def end(self, outcome: str, error: BaseException | None, message: str | None) -> None: ...


class ExecutionObserver(Protocol):
    """Telemetry hook (engine/_telemetry): one probe per node attempt, ended with its outcome.

    Outcomes: ``ok``, ``error``, ``timeout`` and ``cancelled`` (fail-fast or shutdown).
    """

    def attempt(self, node: str, attempt: int) -> AttemptProbe: ...


RETRY_BASE_DELAY = 0.1  # seconds before the 2nd attempt; doubles each time (F-072)


def retry_delay(attempt: int) -> float:
    """Delay after failed attempt ``attempt`` (0-based): 100 ms × 2^attempt."""
    return RETRY_BASE_DELAY * float(2**attempt)


def describe_exception(node: str, error: BaseException) -> str:
    if isinstance(error, TentacularError):
        return error.message
    text = str(error)
    # D4 (guard engineer): client libraries wrap guard refusals ("All connection attempts failed");
    # the run's error must still name the refused resource and the contract change, as the log does.
    refusal = wrapped_guard_refusal(error)
    if refusal is not None and refusal not in text:
        text = f"{text}: {refusal}" if text else refusal
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def wrapped_guard_refusal(error: BaseException) -> str | None:
    """The message of a GuardViolation in ``error``'s cause/context chain or exception group."""
    pending: list[BaseException] = [error]
    seen: set[int] = set()
    while pending and len(seen) < 50:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, GuardViolation):
            return str(current)
        pending.extend(e for e in (current.__cause__, current.__context__) if e is not None)
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)
    return None


def current_task_cancelling() -> int:
    task = asyncio.current_task()
    return task.cancelling() if task is not None else 0


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


class ExecutionResult:
    """The outcome of one run; ``to_dict()`` is the original wire shape plus ``cancelled``.

    Not a dataclass: a pod's start defines none (tests/engine/test_startup_imports.py).
    """

    __slots__ = (
        "cancelled",
        "completed_at",
        "errors",
        "node_timings",
        "outputs",
        "redactor",
        "started_at",
        "usage",
    )

    def __init__(
        self,
        *,
        outputs: dict[str, Any],
        errors: dict[str, str],
        cancelled: list[str],
        started_at: float,
        completed_at: float,
        node_timings: dict[str, tuple[float, float]] | None = None,
        redactor: Redactor | None = None,
        usage: dict[str, Any] | None = None,
    ) -> None:
        self.outputs = outputs
        self.errors = errors
        self.cancelled = cancelled
        self.started_at = started_at
        self.completed_at = completed_at
        self.node_timings: dict[str, tuple[float, float]] = {} if node_timings is None else node_timings
        self.redactor = redactor
        self.usage = usage

    def __repr__(self) -> str:
        failed, cancelled = sorted(self.errors), self.cancelled
        return f"ExecutionResult(success={self.success}, errors={failed}, cancelled={cancelled})"

    @property
    def success(self) -> bool:
        return not self.errors

    @property
    def duration(self) -> float:
        return self.completed_at - self.started_at

    def to_dict(self) -> dict[str, Any]:
        """``{success, outputs, errors, cancelled, timing}`` with epoch-ms numbers, secrets redacted."""
        redact = self.redactor
        outputs = redact.data(self.outputs) if redact is not None else self.outputs
        errors = {n: redact.text(m) for n, m in self.errors.items()} if redact is not None else self.errors
        data: dict[str, Any] = {
            "success": self.success,
            "outputs": outputs,
            "errors": errors,
            "cancelled": list(self.cancelled),
            "timing": {
                "startedAt": _ms(self.started_at),
                "completedAt": _ms(self.completed_at),
                "durationMs": _ms(self.completed_at - self.started_at),
                # round(x * 1000) written out, not _ms(): one call fewer per number, 3 per node (wide: 156)
                "nodeTimings": {
                    node: {
                        "startedAt": round(start * 1000),
                        "completedAt": round(end * 1000),
                        "durationMs": round((end - start) * 1000),
                    }
                    for node, (start, end) in self.node_timings.items()
                },
            },
        }
        if self.usage is not None:
            data["usage"] = self.usage
        return data

    def to_json(self, *, indent: int | None = None) -> str:
        separators = (",", ": ") if indent else (",", ":")
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent, separators=separators)


class _NotJson(Exception):
    pass


_check_encoder = json.JSONEncoder(allow_nan=False, check_circular=True, separators=(",", ":"))


_PLAIN_SCALARS = frozenset({str, int, bool, type(None)})


def _ensure_json(node: str, output: Any) -> None:
    """Outputs travel over HTTP and NATS, so they must encode as strict JSON (D3)."""
    kind = type(output)
    if kind in _PLAIN_SCALARS:
        return
    if kind is dict and len(output) <= 16:
        # Small flat dicts are the common case; checking them here is cheaper than encoding.
        for key, item in output.items():
            if type(key) is not str or type(item) not in _PLAIN_SCALARS:
                break
        else:
            return
    try:
        _check_encoder.encode(output)
    except (TypeError, ValueError, RecursionError) as exc:
        raise _NotJson(not_json_message(node, output, exc)) from None


def not_json_message(node: str, output: Any, exc: BaseException) -> str:
    """Names the JSON path of the offending value (``$.names: set``), not just the output's type."""
    from tentacular.engine._jsonpath import non_json_path

    where = non_json_path(output) or type(output).__name__
    return (
        f'Node "{node}" returned a value that is not JSON-serialisable ({where}): {exc}. '
        "Return dicts, lists, strings, numbers, booleans or None."
    )


def _roots(dag: Dag) -> tuple[str, ...]:
    """``dag.roots``, computed once per compiled DAG (a revision runs the same DAG every time)."""
    cached = _ROOTS.get(id(dag))
    if cached is not None and cached[0] is dag:
        return cached[1]
    if len(_ROOTS) > 64:
        _ROOTS.clear()
    roots = dag.roots
    _ROOTS[id(dag)] = (dag, roots)
    return roots


_ROOTS: dict[int, tuple[Dag, tuple[str, ...]]] = {}


async def execute(
    dag: Dag,
    run_node: RunNode,
    root_input: Any,
    *,
    timeout: float,  # noqa: ASYNC109 - per node attempt, not for this call
    retries: int,
    sleep: Sleep = asyncio.sleep,
    clock: Clock = time.time,
    redactor: Redactor | None = None,
    describe_error: DescribeError = describe_exception,
    observer: ExecutionObserver | None = None,
) -> ExecutionResult:
    """Run every node of ``dag`` once its parents have finished; see the module docstring.

    Each node runs in its own eager task (``_eager``): a node that returns without
    suspending costs no event-loop iteration and no timer; its attempt timer is armed
    only when it first suspends, at the deadline it would have had from its start.
    """
    loop = asyncio.get_running_loop()
    parents = dag.parents
    children = dag.children
    outputs: dict[str, Any] = {}
    errors: dict[str, str] = {}
    cancelled: list[str] = []
    timings: dict[str, tuple[float, float]] = {}
    waiting = {node: len(parents[node]) for node in dag.nodes}
    running: dict[str, asyncio.Future[Any]] = {}  # nodes whose task is suspended
    ready: deque[str] = deque(_roots(dag))  # parents done, task not created yet
    expired: set[str] = set()
    stopped: set[str] = set()  # cancelled by this executor (fail-fast, shutdown), not by the node
    all_done: asyncio.Future[None] | None = None
    timeout_ms = _ms(timeout)
    failed = False
    pumping = False
    active = 0  # tasks created and not finished

    def pump() -> None:
        # A queue instead of starting children from inside their parent's step: a long chain
        # of nodes that finish at once must not nest one Python frame per node.
        nonlocal pumping, active
        pumping = True
        try:
            while ready:
                node = ready.popleft()
                node_parents = parents[node]
                if not node_parents:
                    value = root_input
                elif len(node_parents) == 1:
                    value = outputs[node_parents[0]]
                else:
                    value = {parent: outputs[parent] for parent in node_parents}  # edge order (F-063)
                active += 1
                task = start_eager(loop, run_one(node, value))
                if not task.done():
                    running[node] = task
        finally:
            pumping = False

    def expire(node: str) -> None:
        expired.add(node)
        running[node].cancel()

    async def attempt_once(node: str, value: Any) -> Any:
        deadline = loop.time() + timeout
        awaitable = run_node(node, value)
        if type(awaitable) is CoroutineType:
            try:
                pending = awaitable.send(None)
            except StopIteration as stop:
                return stop.value  # finished without suspending: it cannot have timed out
            timer = loop.call_at(deadline, expire, node)
            try:
                return await resume(awaitable, pending)
            finally:
                timer.cancel()
        timer = loop.call_at(deadline, expire, node)
        try:
            return await awaitable
        finally:
            timer.cancel()

    async def run_one(node: str, value: Any) -> None:
        nonlocal failed
        began = clock()
        output: Any = None
        message: str | None = None
        try:
            attempt = 0
            while True:
                probe = observer.attempt(node, attempt) if observer is not None else None
                outcome = "error"
                failure: BaseException | None = None
                try:
                    output = await attempt_once(node, value)
                    _ensure_json(node, output)
                    message = None
                    outcome = "ok"
                    break
                except asyncio.CancelledError:
                    outcome = "cancelled"
                    task = asyncio.current_task()
                    assert task is not None
                    if node not in expired:
                        if node in stopped:
                            raise
                        # The node's own code cancelled something (even its own task) and let it
                        # escape: a failure, not a cancelled run.
                        while task.uncancel() > 0:
                            pass
                        message = f'Node "{node}" was cancelled from inside its own code'
                        outcome = "error"
                    else:
                        expired.discard(node)
                        if task.uncancel() > 0:  # fail-fast or shutdown also asked: stop
                            raise
                        message = f'Node "{node}" timed out after {timeout_ms}ms' + still_running_note(task)
                        outcome = "timeout"
                except _NotJson as exc:
                    message = str(exc)
                except Exception as exc:
                    message = describe_error(node, exc)
                    failure = exc
                except BaseException as exc:  # SystemExit, KeyboardInterrupt, LoopBlocked…: the node's
                    message = describe_node_exit(node, exc)
                    failure = exc
                finally:
                    if probe is not None:
                        shown = message if redactor is None or message is None else redactor.text(message)
                        probe.end(outcome, failure, shown)
                if attempt >= retries:
                    break
                await sleep(retry_delay(attempt))
                attempt += 1
        except asyncio.CancelledError:
            timings[node] = (began, clock())
            cancelled.append(node)
            finish(node)
            return
        timings[node] = (began, clock())
        if message is not None:
            errors[node] = redactor.text(message) if redactor is not None else message
            if not failed:
                failed = True
                ready.clear()  # queued, never started: neither failed nor cancelled
                for other, other_task in list(running.items()):
                    if other != node:
                        stopped.add(other)
                        other_task.cancel()
        else:
            outputs[node] = output
            if not failed:
                for child in children[node]:
                    waiting[child] -= 1
                    if waiting[child] == 0:
                        ready.append(child)
        finish(node)

    def finish(node: str) -> None:
        nonlocal active
        running.pop(node, None)
        active -= 1
        if not pumping:
            pump()
        if not active and all_done is not None and not all_done.done():
            all_done.set_result(None)

    started_at = clock()
    pump()
    if active:
        all_done = loop.create_future()
        try:
            await all_done
        except asyncio.CancelledError:
            stopped.update(running)
            for task in list(running.values()):
                task.cancel()
            if running:
                await asyncio.wait(list(running.values()))
            raise
    return ExecutionResult(
        outputs=outputs,
        errors=errors,
        cancelled=sorted(cancelled),
        started_at=started_at,
        completed_at=clock(),
        node_timings=timings,
        redactor=redactor,
    )
