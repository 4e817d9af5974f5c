"""Helpers for the guard tests: real engine processes, local HTTP/TLS servers, guarded scripts.

The guard is an audit hook and cannot be removed, so nothing here installs it in
the pytest process: every guarded piece of code runs in a child process.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import ssl
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.processes import LoggedProcess, engine_argv, free_port, wait_healthy

PYTHON = sys.executable
TNTC = str(Path(sys.executable).with_name("tntc"))


def outside_tmp_dir() -> Path:
    """A scratch directory the guard does not allow (/tmp is readable and writable for nodes)."""
    return Path(tempfile.mkdtemp(prefix="tntc-guard-", dir="/var/tmp"))


def base_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "SYSTEMROOT")}
    env.update({"TENTACULAR_LOG_FORMAT": "json", "PYTHONDONTWRITEBYTECODE": "1", "NO_COLOR": "1"})
    env.update(extra)
    return env


# --- local servers ----------------------------------------------------------------------------


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        body = json.dumps({"path": self.path, "auth": self.headers.get("Authorization")}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def http_server(host: str = "127.0.0.1", tls: ssl.SSLContext | None = None) -> Iterator[int]:
    """A threaded JSON echo server; yields its port."""
    server = http.server.ThreadingHTTPServer((host, 0), _Handler)
    server.daemon_threads = True
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


# --- workflows --------------------------------------------------------------------------------


def write_workflow(
    directory: Path,
    nodes: dict[str, str],
    *,
    contract: dict[str, Any] | None,
    edges: list[tuple[str, str]] = (),  # type: ignore[assignment]
    secrets: dict[str, Any] | None = None,
) -> Path:
    (directory / "nodes").mkdir(parents=True, exist_ok=True)
    spec: dict[str, Any] = {
        "name": directory.name.lower().replace("_", "-"),
        "version": "1.0",
        "triggers": [{"type": "manual"}],
        "nodes": {name: {"path": f"./nodes/{name}.py"} for name in nodes},
        "edges": [{"from": a, "to": b} for a, b in edges],
        "config": {"timeout": "10s", "retries": 0},
    }
    if contract is not None:
        spec["contract"] = contract
    (directory / "workflow.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    for name, source in nodes.items():
        (directory / "nodes" / f"{name}.py").write_text(textwrap.dedent(source))
    if secrets is not None:
        (directory / ".secrets.yaml").write_text(yaml.safe_dump(secrets))
    return directory


# --- the real engine --------------------------------------------------------------------------


class EngineProcess(LoggedProcess):
    """`python -m tentacular.engine` on a free port; stderr (JSON log lines) collected."""

    def __init__(
        self,
        workflow: Path,
        *,
        env: dict[str, str],
        extra_args: tuple[str, ...] = (),
        port: int | None = None,
    ) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        argv = engine_argv(workflow, "--grace-period", "1", *extra_args, port=self.port)
        super().__init__(argv, env=env, cwd=workflow, name="engine")
        self.process = self.proc
        self.client = httpx.Client(base_url=self.url, timeout=20.0, trust_env=False)
        wait_healthy(self.url + "/health", self.proc, timeout=20, describe=lambda: "\n".join(self.lines))

    def run(self, payload: Any) -> dict[str, Any]:
        mark = len(self.lines)
        result: dict[str, Any] = self.client.post("/run", json=payload).json()
        time.sleep(0.05)  # let the stderr reader catch up with the run's log lines
        result["_log"] = self.records(since=mark)
        return result

    def records(self, since: int = 0) -> list[dict[str, Any]]:
        return super().records(since)  # type: ignore[return-value]

    def stop(self, timeout: float = 10) -> None:
        self.client.close()
        super().stop(timeout)
        self._reader.join(timeout=5)


def tntc(*args: str, env: dict[str, str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [TNTC, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )


# --- guarded scripts --------------------------------------------------------------------------

_PRELUDE = """
import json, os, sys
from tentacular.spec._policy import CidrGrant, HostGrant, RuntimePolicy
from tentacular.engine._guard import RuntimeGuard

LOG = []
RESULTS = {}

def attempt(name, action):
    try:
        RESULTS[name] = {"ok": True, "value": action()}
    except Exception as exc:
        RESULTS[name] = {"ok": False, "type": type(exc).__name__, "error": str(exc),
                         "permission": isinstance(exc, PermissionError)}

_spec = json.loads(os.environ["GUARD_TEST_POLICY"])
POLICY = RuntimePolicy(
    network_restricted=_spec.get("network_restricted", True),
    hosts=tuple(HostGrant(*h) for h in _spec.get("hosts", [])),
    cidrs=tuple(CidrGrant(*c) for c in _spec.get("cidrs", [])),
    read_paths=tuple(_spec.get("read_paths", [])),
)
# BEFORE_INSTALL
GUARD = RuntimeGuard(
    POLICY,
    report=lambda level, message: LOG.append([level, message]),
    node_dirs=_spec.get("node_dirs", ()),
)
if not _spec.get("skip_install"):
    GUARD.install()
"""

_EPILOGUE = """
print(json.dumps({"results": RESULTS, "log": LOG}, default=repr))
"""


def run_guarded(
    body: str,
    *,
    policy: dict[str, Any],
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    prelude_before_install: str = "",
    node_dirs: list[str] | None = None,
) -> dict[str, Any]:
    """Run ``body`` in a child process after installing a guard for ``policy``.

    ``body`` calls ``attempt(name, callable)``; returns ``{"results": {name: ...}, "log": [...]}``.
    ``prelude_before_install`` runs just before the guard is installed; ``node_dirs`` are the
    directories the guard treats as node code.
    """
    if node_dirs is not None:
        policy = {**policy, "node_dirs": node_dirs}
    prelude = _PRELUDE.replace("# BEFORE_INSTALL", prelude_before_install)
    source = prelude + textwrap.dedent(body) + _EPILOGUE
    completed = subprocess.run(
        [PYTHON, "-c", source],
        env={**base_env(**(env or {})), "GUARD_TEST_POLICY": json.dumps(policy)},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if completed.returncode != 0:
        raise AssertionError(f"guarded script failed ({completed.returncode}):\n{completed.stderr}")
    document: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return document
