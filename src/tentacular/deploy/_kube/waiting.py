"""Waiting for a rollout (one watch) with an injectable clock, and a progress display on stderr (F-143).

Tests swap the clock for one whose ``sleep`` only advances virtual time, so a
two-minute timeout takes microseconds and never flakes.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from tentacular.deploy._kube.client import DEPLOYMENT, POD, KubeClient
from tentacular.errors import ClusterError, ClusterForbiddenError, ClusterNotFoundError, RolloutTimeoutError

POLL_SECONDS = 2.0


class Clock(Protocol):
    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


_clock: list[Clock] = [SystemClock()]


def default_clock() -> Clock:
    return _clock[0]


@contextmanager
def use_clock(clock: Clock) -> Iterator[Clock]:
    """Run a block (e.g. a whole CLI invocation in a test) on another clock."""
    _clock.insert(0, clock)
    try:
        yield clock
    finally:
        _clock.remove(clock)


class Progress:
    """One changing status line: a Rich spinner on a terminal, plain lines otherwise."""

    def __init__(self, message: str) -> None:
        from rich.console import Console

        self._console = Console(stderr=True, highlight=False)
        self._status: Any = None
        self._last = ""
        if self._console.is_terminal:
            self._status = self._console.status(message)
            self._status.start()
        else:
            self._write(message)

    def update(self, message: str) -> None:
        if self._status is not None:
            self._status.update(message)
        elif message != self._last:
            self._write(message)

    def stop(self, message: str | None = None) -> None:
        if self._status is not None:
            self._status.stop()
        if message:
            self._write(message)

    def _write(self, message: str) -> None:
        self._last = message
        sys.stderr.write(message + "\n")
        sys.stderr.flush()


def rollout_state(deployment: dict[str, Any]) -> tuple[bool, int, int]:
    """(complete, ready, desired): the controller saw the latest spec and every replica is new and ready."""
    spec = deployment.get("spec") or {}
    status = deployment.get("status") or {}
    desired = int(spec.get("replicas", 1))
    ready = int(status.get("readyReplicas") or 0)
    observed = int(status.get("observedGeneration") or 0)
    generation = int((deployment.get("metadata") or {}).get("generation") or 0)
    updated = int(status.get("updatedReplicas") or 0)
    available = int(status.get("availableReplicas") or 0)
    complete = observed >= generation and updated >= desired and ready >= desired and available >= desired
    return complete, ready, desired


def _gone(name: str, namespace: str) -> ClusterNotFoundError:
    return ClusterNotFoundError(
        f"deployment {name} not found in namespace {namespace}",
        hint=f"it was removed while waiting (tntc undeploy {name}, or kubectl); see what is "
        f"deployed: tntc list -n {namespace}",
    )


def _watched(
    client: KubeClient, current: dict[str, Any], remaining: float, progress: Progress
) -> dict[str, Any] | None:
    """The Deployment as one watch from ``current``'s version last saw it (complete, or when the
    watch ended); None when that version is too old to watch from (re-read it)."""
    meta = current.get("metadata") or {}
    name, namespace = str(meta.get("name")), str(meta.get("namespace"))
    for kind, obj in client.watch(
        DEPLOYMENT, name, namespace, resource_version=meta.get("resourceVersion"), timeout=remaining
    ):
        if kind == "DELETED":
            raise _gone(name, namespace)
        if kind == "ERROR":
            if obj.get("code") == 410:
                return None
            raise ClusterError(f"watching deployment {name} failed: {obj.get('message', 'unknown error')}")
        if kind in ("ADDED", "MODIFIED"):
            current = obj
            complete, ready, desired = rollout_state(current)
            if complete:
                break
            progress.update(f"Waiting for {name}: {ready}/{desired} ready")
    return current


def wait_for_rollout(
    client: KubeClient,
    name: str,
    namespace: str,
    *,
    timeout: float,
    clock: Clock | None = None,
    deployment: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Until the Deployment's rollout is complete, or raise RolloutTimeoutError.

    ``deployment``: the Deployment as the apply just returned it; when that is already complete
    (an unchanged redeploy) nothing is asked. Otherwise one watch on it (from that version)
    reports each change, instead of a GET every 2 s; a deployer who may not watch polls."""
    clock = clock or default_clock()
    deadline = clock.monotonic() + timeout
    progress = Progress(f"Waiting for {name} to become ready (timeout: {timeout:.0f}s)...")
    ready = desired = 0
    current = deployment
    watch = True
    try:
        while True:
            if current is None:
                current = client.get(DEPLOYMENT, name, namespace)
                if current is None:
                    raise _gone(name, namespace)
            complete, ready, desired = rollout_state(current)
            if complete:
                progress.stop(f"  Deployment ready ({ready}/{desired})")
                return current
            progress.update(f"Waiting for {name}: {ready}/{desired} ready")
            remaining = deadline - clock.monotonic()
            if remaining <= 0:
                break
            if watch:
                started = clock.monotonic()
                try:
                    current = _watched(client, current, remaining, progress)
                except ClusterForbiddenError:
                    watch, current = False, None
                if current is not None and not rollout_state(current)[0] and clock.monotonic() - started < 1:
                    # The server ended the watch early (or reported nothing): pause before the next.
                    clock.sleep(min(POLL_SECONDS, max(deadline - clock.monotonic(), 0.0)))
            else:
                clock.sleep(min(POLL_SECONDS, max(remaining, 0.0)))
                current = None
    except BaseException:
        progress.stop()
        raise
    progress.stop()
    reasons = pod_problems(client, name, namespace)
    raise RolloutTimeoutError(
        f"timed out waiting for deployment {name} to become ready (ready: {ready}/{desired})"
        + (f": {'; '.join(reasons)}" if reasons else ""),
        hint=f"inspect it: tntc status {name} -n {namespace} --detail; tntc logs {name} -n {namespace}",
    )


def pod_problems(client: KubeClient, name: str, namespace: str) -> list[str]:
    """Why pods are not ready (ImagePullBackOff, CrashLoopBackOff...), for the timeout message."""
    problems: list[str] = []
    for pod in client.list(POD, namespace, labels={"app.kubernetes.io/name": name}):
        for status in (pod.get("status") or {}).get("containerStatuses") or []:
            waiting = (status.get("state") or {}).get("waiting") or {}
            if waiting.get("reason"):
                problems.append(f"{pod['metadata']['name']}: {waiting['reason']}")
    return problems
