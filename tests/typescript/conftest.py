"""Helpers for TypeScript nodes: mixed workflows on disk, a loopback HTTP server, an engine."""

from __future__ import annotations

import json
import textwrap
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from tentacular.engine._context import EngineServices
from tentacular.engine._core import WorkflowEngine, build_revision, compile_dag
from tentacular.engine._logs import LogSink
from tentacular.spec import load_workflow

FlowWriter = Callable[..., Path]


def write_flow(
    directory: Path,
    nodes: dict[str, str],
    edges: list[tuple[str, str]] | None = None,
    *,
    config: dict[str, Any] | None = None,
    contract: dict[str, Any] | None = None,
    files: dict[str, str] | None = None,
    fixtures: dict[str, Any] | None = None,
) -> Path:
    """``nodes`` maps ``id.ts`` / ``id.py`` to source; the node id is the file stem."""
    (directory / "nodes").mkdir(parents=True, exist_ok=True)
    spec: dict[str, Any] = {
        "name": directory.name.replace("_", "-").lower(),
        "version": "1.0",
        "triggers": [{"type": "manual"}],
        "nodes": {Path(f).stem.replace("_", "-"): {"path": f"./nodes/{f}"} for f in nodes},
        "edges": [{"from": a, "to": b} for a, b in edges or []],
        "config": {"timeout": "10s", "retries": 0, **(config or {})},
    }
    if contract is not None:
        spec["contract"] = contract
    (directory / "workflow.yaml").write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    for name, source in {**nodes, **(files or {})}.items():
        path = directory / "nodes" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source).lstrip(), encoding="utf-8")
    for name, data in (fixtures or {}).items():
        path = directory / "tests" / "fixtures" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data), encoding="utf-8")
    return directory


@pytest.fixture
def make_flow(tmp_path: Path) -> FlowWriter:
    counter = iter(range(1000))

    def factory(nodes: dict[str, str], edges: list[tuple[str, str]] | None = None, **kwargs: Any) -> Path:
        return write_flow(tmp_path / f"flow{next(counter)}", nodes, edges, **kwargs)

    return factory


class Lines:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def write(self, text: str) -> int:
        self.lines.extend(line for line in text.splitlines() if line)
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def engine_for(
    directory: Path, *, secrets: dict[str, dict[str, Any]] | None = None, log: Lines | None = None
) -> WorkflowEngine:
    loaded = load_workflow(directory)
    services = EngineServices(
        config=loaded.workflow.config.as_mapping(),
        secrets=secrets or {},
        contract=loaded.workflow.contract,
        log=LogSink(stream=log or Lines(), fmt="text"),
    )
    return WorkflowEngine(build_revision(loaded, compile_dag(loaded.workflow), services))


class Recorded(BaseHTTPRequestHandler):
    requests: list[dict[str, Any]]

    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        self.server.requests.append(  # type: ignore[attr-defined]
            {
                "method": self.command,
                "path": self.path,
                "auth": self.headers.get("Authorization"),
                "traceparent": self.headers.get("traceparent"),
                "body": body,
            }
        )
        data = json.dumps({"path": self.path, "method": self.command, "body": body}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _answer

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def http_server() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorded)
    server.requests = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def local_contract(port: int, **extra: Any) -> dict[str, Any]:
    return {
        "version": "1",
        "dependencies": {
            "local": {
                "protocol": "http",
                "host": "127.0.0.1",
                "port": port,
                "auth": {"type": "bearer-token", "secret": "local.token"},
            },
            **extra,
        },
    }
