"""How the engine starts its Deno worker: a pluggable launcher.

The engine's kernel layer forbids ``fork``/``execve`` once node code may run, so the
worker is started through the pre-sandbox spawner of ``engine._spawner`` (forked at
start-up, before the filter, when a workflow has non-Python nodes); without the
guard it starts the program directly. ``use_launcher()`` swaps the launcher in one
line (tests, or another process model).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol


class LaunchedWorker(Protocol):
    """A started worker program: its pid, our ends of its pipes, and how to stop it."""

    pid: int
    stdin_fd: int
    stdout_fd: int
    stderr_fd: int

    def kill(self) -> None: ...

    def wait(self, timeout: float | None = None) -> int: ...


class Launcher(Protocol):
    def __call__(self, argv: Sequence[str], *, env: Mapping[str, str], cwd: str) -> LaunchedWorker: ...


def spawner_launcher(argv: Sequence[str], *, env: Mapping[str, str], cwd: str) -> LaunchedWorker:
    from tentacular.engine._spawner import spawn_worker

    return spawn_worker(argv, env=env, cwd=cwd)


_launcher: Launcher = spawner_launcher


def use_launcher(launcher: Launcher) -> None:
    global _launcher
    _launcher = launcher


def current_launcher() -> Launcher:
    return _launcher
