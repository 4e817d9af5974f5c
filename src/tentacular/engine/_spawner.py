"""The pre-sandbox spawner: starts worker programs (the Deno worker) for a sandboxed engine.

The engine's seccomp filter forbids ``fork``/``execve`` for the rest of its life, yet a
TypeScript worker must be startable and restartable. So, during start-up and *before*
the kernel layer and the audit hooks are applied, the engine forks this small process.
It keeps running unfiltered by seccomp (it has to start programs), but puts itself under
the same Landlock file and port limits as the engine (plus the right to execute what the
engine may read), which every program it starts inherits. It only ever runs the requests
of its engine, arriving over a private ``socketpair``; node code cannot reach it (no
``ptrace``, no signals across the Landlock scope, no other way to the socket).

Interface (``tentacular.engine`` re-exports it)::

    worker = spawn_worker(argv, env={...}, cwd="/app/workflow")
    worker.pid                 # the program's process id (a child of the spawner)
    worker.stdin_fd            # write end of its stdin pipe   (the engine owns the fd)
    worker.stdout_fd           # read end of its stdout pipe
    worker.stderr_fd           # read end of its stderr pipe
    worker.poll()              # exit code, or None while it runs
    worker.wait(timeout=5.0)   # exit code; WorkerTimeout when still running
    worker.send_signal(signal.SIGTERM); worker.terminate(); worker.kill()

``spawn_worker`` needs no spawner when the engine runs without the guard (``--no-guard``,
or a process that never installed it): it then starts the program directly, with the same
interface. The wire protocol is one JSON object per ``SOCK_SEQPACKET`` message; the reply to
``spawn`` carries the three pipe ends as ``SCM_RIGHTS``. When the engine's end closes (the
engine exited), the spawner terminates its programs and exits.
"""

# ruff: noqa: PTH208  (descriptor numbers from /proc/self/fd)

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tentacular.errors import TentacularError

_MAX_MESSAGE = 1 << 20
_PR_SET_PDEATHSIG = 1


class WorkerTimeout(TentacularError):
    """The worker did not exit within the wait."""


@dataclass
class WorkerProcess:
    """A program started for the engine; its pipe ends belong to the caller."""

    pid: int
    stdin_fd: int
    stdout_fd: int
    stderr_fd: int
    _spawner: Spawner | None = field(default=None, repr=False)
    _direct: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            if self._direct is not None:
                self.returncode = self._direct.poll()
            elif self._spawner is not None:
                self.returncode = self._spawner.request({"op": "poll", "pid": self.pid})["returncode"]
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        delay = 0.002
        while (code := self.poll()) is None:
            if deadline is not None and time.monotonic() >= deadline:
                raise WorkerTimeout(f"worker {self.pid} still running after {timeout} s")
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
        return code

    def send_signal(self, signum: int) -> None:
        if self.poll() is not None:
            return
        if self._direct is not None:
            self._direct.send_signal(signum)
        elif self._spawner is not None:
            self._spawner.request({"op": "signal", "pid": self.pid, "signal": int(signum)})

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


class Spawner:
    """The engine's end of the connection to the spawner process."""

    def __init__(self, sock: socket.socket, pid: int) -> None:
        self._sock = sock
        self.pid = pid
        self._lock = threading.Lock()

    def request(self, message: Mapping[str, Any], *, fds: int = 0) -> dict[str, Any]:
        reply, _ = self._exchange(message, fds)
        return reply

    def _exchange(self, message: Mapping[str, Any], fds: int) -> tuple[dict[str, Any], list[int]]:
        with self._lock:
            self._sock.send(json.dumps(message).encode())
            data, received, _flags, _addr = socket.recv_fds(self._sock, _MAX_MESSAGE, max(fds, 1))
        if not data:
            raise TentacularError("the worker spawner has exited; restart the engine")
        reply: dict[str, Any] = json.loads(data)
        if "error" in reply:
            for fd in received:
                os.close(fd)
            raise TentacularError(f"cannot start worker: {reply['error']}")
        return reply, received

    def spawn(self, argv: Sequence[str], *, env: Mapping[str, str], cwd: str) -> WorkerProcess:
        request = {"op": "spawn", "argv": list(argv), "env": dict(env), "cwd": cwd}
        reply, fds = self._exchange(request, 3)
        stdin_fd, stdout_fd, stderr_fd = fds
        return WorkerProcess(int(reply["pid"]), stdin_fd, stdout_fd, stderr_fd, _spawner=self)

    def close(self) -> None:
        self._sock.close()


_spawner: Spawner | None = None


def active_spawner() -> Spawner | None:
    return _spawner


def spawn_worker(argv: Sequence[str], *, env: Mapping[str, str], cwd: str) -> WorkerProcess:
    """Start ``argv`` with exactly ``env`` in ``cwd``; pipes for stdin, stdout and stderr."""
    if _spawner is not None:
        return _spawner.spawn(argv, env=env, cwd=cwd)
    direct = subprocess.Popen(
        list(argv),
        env=dict(env),
        cwd=cwd,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert direct.stdin is not None and direct.stdout is not None and direct.stderr is not None
    fds = [os.dup(stream.fileno()) for stream in (direct.stdin, direct.stdout, direct.stderr)]
    for stream in (direct.stdin, direct.stdout, direct.stderr):
        stream.close()
    return WorkerProcess(direct.pid, fds[0], fds[1], fds[2], _direct=direct)


def start_spawner(confine: Any = None) -> Spawner:
    """Fork the spawner; ``confine()`` runs in the child first (the Landlock limits)."""
    global _spawner
    if _spawner is not None:
        return _spawner
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the spawner process (tested through its behaviour)
        code = 1
        try:
            ours.close()
            _serve(theirs, confine)
            code = 0
        finally:
            os._exit(code)
    theirs.close()
    ours.set_inheritable(False)
    _spawner = Spawner(ours, pid)
    return _spawner


def _serve(sock: socket.socket, confine: Any) -> None:  # pragma: no cover - runs in the spawner
    import ctypes

    ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    keep = sock.fileno()
    for fd in os.listdir("/proc/self/fd"):
        number = int(fd)
        if number > 2 and number != keep:
            with contextlib.suppress(OSError):
                os.close(number)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)  # the engine decides; Ctrl-C reaches the group
    if confine is not None:
        confine()
    children: dict[int, subprocess.Popen[bytes]] = {}
    try:
        while True:
            data = sock.recv(_MAX_MESSAGE)
            if not data:
                return
            try:
                reply, fds = _handle(json.loads(data), children)
            except Exception as exc:
                reply, fds = {"error": f"{type(exc).__name__}: {exc}"}, []
            socket.send_fds(sock, [json.dumps(reply).encode()], fds)
            for sent in fds:
                os.close(sent)
    finally:
        for child in children.values():
            with contextlib.suppress(OSError):
                child.terminate()


def _handle(
    request: dict[str, Any], children: dict[int, subprocess.Popen[bytes]]
) -> tuple[dict[str, Any], list[int]]:  # pragma: no cover - runs in the spawner
    op = request.get("op")
    if op == "spawn":
        child = subprocess.Popen(
            [str(a) for a in request["argv"]],
            env={str(k): str(v) for k, v in request["env"].items()},
            cwd=str(request["cwd"]),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            close_fds=True,
        )
        children[child.pid] = child
        assert child.stdin is not None and child.stdout is not None and child.stderr is not None
        fds = [os.dup(s.fileno()) for s in (child.stdin, child.stdout, child.stderr)]
        for stream in (child.stdin, child.stdout, child.stderr):
            stream.close()
        return {"pid": child.pid}, fds
    known = children.get(int(request.get("pid", -1)))
    if known is None:
        return {"error": f"no worker {request.get('pid')} was started here"}, []
    if op == "poll":
        return {"returncode": known.poll()}, []
    if op == "signal":
        if known.poll() is None:
            known.send_signal(int(request["signal"]))
        return {"ok": True}, []
    return {"error": f"unknown request {op!r}"}, []
