"""How the engine starts its Deno worker: a pluggable launcher.

The runtime permission guard forbids creating processes once node code may run,
so the worker cannot simply be ``subprocess.Popen``-ed from a guarded engine.
``PreForkSpawner`` is a tiny helper process forked *before* the guard is installed;
the engine asks it over a socketpair to start the worker and receives the pid and
the worker's stdin/stdout pipe ends (SCM_RIGHTS). It starts only the Deno binary
with our worker script and refuses flags that would lift Deno's permissions
(``-A``, ``--allow-all``, ``--allow-run``, ``--allow-ffi``).

``use_launcher()`` switches the launcher in one line (e.g. to the kernel layer's
pre-sandbox spawner, whose ``spawn_worker(argv, *, env, cwd)`` has this signature).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import struct
import subprocess
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from tentacular.errors import TentacularError

FORBIDDEN_FLAGS = ("-A", "--allow-all", "--allow-run", "--allow-ffi", "--allow-sys")


@dataclass(frozen=True)
class SpawnedWorker:
    pid: int
    stdin_fd: int  # we write requests here
    stdout_fd: int  # we read replies here


class Launcher(Protocol):
    def __call__(self, argv: Sequence[str], *, env: Mapping[str, str], cwd: str) -> SpawnedWorker: ...


def check_argv(argv: Sequence[str], program: str, script: str) -> None:
    """Only ``<deno> run ... <worker.ts> ...`` without permission-lifting flags."""
    if not argv or argv[0] != program or script not in argv:
        raise TentacularError("the worker spawner starts only the Deno worker of the engine")
    for flag in argv:
        if flag.split("=", 1)[0] in FORBIDDEN_FLAGS:
            raise TentacularError(f"the worker spawner refuses {flag}: nodes may not run programs or FFI")


def popen_launcher(argv: Sequence[str], *, env: Mapping[str, str], cwd: str) -> SpawnedWorker:
    """Without a guard (tntc test, --no-guard): a plain child process."""
    process = subprocess.Popen(  # argv is built by the engine, never a shell
        list(argv), stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=dict(env), cwd=cwd
    )
    assert process.stdin is not None and process.stdout is not None
    stdin_fd, stdout_fd = os.dup(process.stdin.fileno()), os.dup(process.stdout.fileno())
    process.stdin.close()
    process.stdout.close()
    _REAPERS[process.pid] = process
    return SpawnedWorker(process.pid, stdin_fd, stdout_fd)


_REAPERS: dict[int, subprocess.Popen[bytes]] = {}


def reap(pid: int) -> None:
    """Collect a worker started by ``popen_launcher`` (the pre-fork spawner reaps its own)."""
    process = _REAPERS.pop(pid, None)
    if process is not None:
        with contextlib.suppress(Exception):
            process.wait(timeout=5)


class PreForkSpawner:
    """A helper forked before the guard; it starts Deno workers on the engine's behalf."""

    def __init__(self, program: str, script: str) -> None:
        self.program = program
        self.script = script
        self._sock: socket.socket | None = None
        self._pid = 0
        self._lock = threading.Lock()

    def start(self) -> None:
        engine_end, helper_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the helper process
            code = 0
            try:
                engine_end.close()
                self._serve(helper_end)
            except BaseException:
                code = 1
            os._exit(code)
        helper_end.close()
        self._sock = engine_end
        self._pid = pid

    def _serve(self, sock: socket.socket) -> None:  # pragma: no cover - helper process
        signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps finished workers
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        while True:
            request = _recv_message(sock)
            if request is None:
                return  # the engine is gone
            try:
                argv, env, cwd = request["argv"], request["env"], request["cwd"]
                check_argv(argv, self.program, self.script)
                worker = popen_launcher(argv, env=env, cwd=cwd)
                _REAPERS.pop(worker.pid, None)
                payload = json.dumps({"pid": worker.pid}).encode()
                socket.send_fds(
                    sock, [struct.pack(">I", len(payload)) + payload], [worker.stdin_fd, worker.stdout_fd]
                )
                os.close(worker.stdin_fd)
                os.close(worker.stdout_fd)
            except Exception as exc:
                _send_message(sock, {"error": str(exc)})

    def __call__(self, argv: Sequence[str], *, env: Mapping[str, str], cwd: str) -> SpawnedWorker:
        return self.spawn_worker(argv, env=env, cwd=cwd)

    def spawn_worker(self, argv: Sequence[str], *, env: Mapping[str, str], cwd: str) -> SpawnedWorker:
        sock = self._sock
        if sock is None:
            raise TentacularError("the Deno worker spawner is not running")
        with self._lock:
            _send_message(sock, {"argv": list(argv), "env": dict(env), "cwd": cwd})
            data, fds, _flags, _addr = socket.recv_fds(sock, 1 << 16, 2)
            if not data:
                raise TentacularError("the Deno worker spawner exited")
            size = struct.unpack(">I", data[:4])[0]
            while len(data) < 4 + size:
                more = sock.recv(4 + size - len(data))
                if not more:
                    raise TentacularError("the Deno worker spawner exited")
                data += more
            reply = json.loads(data[4 : 4 + size])
        if "error" in reply:
            for fd in fds:
                os.close(fd)
            raise TentacularError(f"cannot start the Deno worker: {reply['error']}")
        return SpawnedWorker(int(reply["pid"]), fds[0], fds[1])

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


def _send_message(sock: socket.socket, message: object) -> None:
    payload = json.dumps(message).encode()
    sock.sendall(struct.pack(">I", len(payload)) + payload)


def _recv_message(sock: socket.socket) -> dict[str, Any] | None:
    header = _recv_exact(sock, 4)
    if header is None:
        return None
    body = _recv_exact(sock, struct.unpack(">I", header)[0])
    return None if body is None else json.loads(body)  # type: ignore[no-any-return,unused-ignore]


def _recv_exact(sock: socket.socket, size: int) -> bytes | None:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            return None
        chunks += chunk
    return bytes(chunks)


_launcher: Launcher = popen_launcher


def use_launcher(launcher: Launcher) -> None:
    global _launcher
    _launcher = launcher


def current_launcher() -> Launcher:
    return _launcher
