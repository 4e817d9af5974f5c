"""Real processes for tests: free loopback ports, children whose stderr is collected line by line,
the engine and `tntc dev` as processes, and bounded polling.

Every wait here has an upper bound and ends as soon as its condition holds; the bounds are
generous because the machine running the suite is shared and loaded.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import httpx

PYTHON = sys.executable
TNTC = str(Path(sys.executable).with_name("tntc"))
ENGINE = (PYTHON, "-m", "tentacular.engine")
WAIT = 30.0


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on right now (another process may take it before the caller does)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_until(condition: Callable[[], bool], *, timeout: float = WAIT, what: str = "condition") -> None:
    """Poll ``condition`` until it holds; an AssertionError naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def poll(
    fn: Callable[[], object], expect: object, *, timeout: float = WAIT, interval: float = 0.05
) -> object:
    """Call ``fn`` until it returns ``expect`` or ``timeout`` passes; returns the last value."""
    deadline = time.monotonic() + timeout
    value = fn()
    while value != expect and time.monotonic() < deadline:
        time.sleep(interval)
        value = fn()
    return value


def http_ok(url: str, *, timeout: float = 2.0) -> bool:
    """True when ``GET url`` answers 200 (a refused or failed connection is False)."""
    try:
        return httpx.get(url, timeout=timeout, trust_env=False).status_code == 200
    except httpx.HTTPError:
        return False


def listening_port(line: str) -> int:
    """The port of the engine's ``Listening on http://HOST:PORT`` line (JSON or text log format)."""
    address = line.split("Listening on http://", 1)[1]
    return int(address.split('"', 1)[0].rsplit(":", 1)[1].split()[0])


class LoggedProcess:
    """A child process whose stderr lines are collected by a reader thread into :attr:`lines`."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        env: dict[str, str] | None = None,
        cwd: Path | str | None = None,
        start_new_session: bool = False,
        wait: float = WAIT,
        name: str = "process",
    ) -> None:
        self.wait = wait
        self.name = name
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=start_new_session,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    @property
    def exited(self) -> bool:
        """The process ended and every line it wrote has been read."""
        return self.proc.poll() is not None and not self._reader.is_alive()

    def messages(self) -> list[str]:
        """The ``msg`` of each JSON log line; other lines as they are."""
        out = []
        for line in list(self.lines):
            try:
                out.append(str(json.loads(line)["msg"]))
            except (ValueError, KeyError, TypeError):
                out.append(line)
        return out

    def wait_for_line(
        self,
        predicate: Callable[[str], bool],
        start: int = 0,
        *,
        timeout: float | None = None,
        parsed: bool = False,
    ) -> str:
        """The first line from ``start`` on (a message if ``parsed``) that ``predicate`` accepts."""
        deadline = time.monotonic() + (self.wait if timeout is None else timeout)
        while time.monotonic() < deadline:
            seen = self.messages() if parsed else self.lines
            for line in seen[start:]:
                if predicate(line):
                    return line
            if self.exited:
                break
            time.sleep(0.02)
        shown = self.messages() if parsed else self.lines
        raise AssertionError(f"{self.name} never logged the expected line:\n" + "\n".join(shown))

    def records(self, since: int = 0) -> list[dict[str, object]]:
        """The JSON log lines from ``since`` on, parsed."""
        parsed = []
        for line in self.lines[since:]:
            with contextlib.suppress(ValueError):
                parsed.append(json.loads(line))
        return parsed

    def stop(self, timeout: float = 10) -> None:
        """SIGTERM, then SIGKILL after ``timeout`` seconds."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def engine_argv(workflow: Path, *extra: str, port: int = 0, host: str = "127.0.0.1") -> list[str]:
    """``python -m tentacular.engine`` serving ``workflow`` (port 0: the engine picks and logs one)."""
    return [*ENGINE, "--workflow", str(workflow), "--host", host, "--port", str(port), *extra]


def json_log_env(**extra: str) -> dict[str, str]:
    """This environment with JSON engine logs, unbuffered."""
    return {**os.environ, "TENTACULAR_LOG_FORMAT": "json", "PYTHONUNBUFFERED": "1", **extra}


class ServingProcess(LoggedProcess):
    """The engine or `tntc dev` on port 0: waits for its ``Listening on`` line and knows its URL."""

    def __init__(self, argv: Sequence[str], **options: object) -> None:
        super().__init__(argv, **options)  # type: ignore[arg-type]
        self.port = listening_port(self.wait_for_line(lambda line: "Listening on http://" in line))
        self.url = f"http://127.0.0.1:{self.port}"


def wait_healthy(
    url: str,
    process: subprocess.Popen[str] | subprocess.Popen[bytes],
    *,
    timeout: float = WAIT,
    describe: Callable[[], str] = lambda: "",
    fail: Callable[[str], object] | None = None,
) -> None:
    """Poll ``GET url`` until it answers 200; fail with ``describe()`` if the process exits or time is up."""

    def failed(message: str) -> None:
        text = f"{message}:\n{describe()}"
        if fail is not None:
            fail(text)
        raise AssertionError(text)

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            time.sleep(0.1)  # let a reader thread catch the last lines
            failed(f"exited with {process.returncode} during start-up")
        if http_ok(url):
            return
        time.sleep(0.05)
    failed(f"did not become healthy in {timeout:.0f}s")
