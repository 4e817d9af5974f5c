"""Helpers: write small workflows with inline node sources; run an engine server in-process."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import textwrap
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tentacular.engine._logs import LogSink

WorkflowWriter = Callable[..., Path]


def write_flow(
    directory: Path,
    nodes: dict[str, str],
    edges: list[tuple[str, str]] | None = None,
    *,
    config: dict[str, Any] | None = None,
    contract: dict[str, Any] | None = None,
    name: str = "test-flow",
) -> Path:
    """``nodes`` maps node id to Python source (dedented); file name = id with '-' → '_'."""
    (directory / "nodes").mkdir(parents=True, exist_ok=True)
    spec: dict[str, Any] = {
        "name": name,
        "version": "1.0",
        "triggers": [{"type": "manual"}],
        "nodes": {node: {"path": f"./nodes/{node.replace('-', '_')}.py"} for node in nodes},
        "edges": [{"from": a, "to": b} for a, b in edges or []],
        "config": {"timeout": "5s", "retries": 0, **(config or {})},
    }
    if contract is not None:
        spec["contract"] = contract
    (directory / "workflow.yaml").write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    for node, source in nodes.items():
        (directory / "nodes" / f"{node.replace('-', '_')}.py").write_text(
            textwrap.dedent(source).lstrip(), encoding="utf-8"
        )
    return directory


@pytest.fixture
def make_flow(tmp_path: Path) -> WorkflowWriter:
    counter = iter(range(1000))

    def factory(nodes: dict[str, str], edges: list[tuple[str, str]] | None = None, **kwargs: Any) -> Path:
        return write_flow(tmp_path / f"flow{next(counter)}", nodes, edges, **kwargs)

    return factory


class CapturedLog:
    """A LogSink stream that keeps every line for assertions."""

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


@pytest.fixture
def captured() -> CapturedLog:
    return CapturedLog()


@pytest.fixture
def sink(captured: CapturedLog) -> LogSink:
    return LogSink(stream=captured, fmt="json")  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def running_server(
    workflow: Path, sink: LogSink, *, telemetry: Any = None, **app_options: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """The real ASGI app on the engine's server on a free loopback port, inside the test's event loop."""
    from tentacular.engine._httpd import HttpServer
    from tentacular.engine._server import EngineApp
    from tentacular.engine._startup import boot

    engine, prepared = boot(
        workflow, cluster_secrets=None, listen=("127.0.0.1", 0), log=sink, telemetry=telemetry
    )
    assert prepared.listener is not None
    port = prepared.listener.getsockname()[1]
    app = EngineApp(engine, **app_options)
    server = HttpServer(app, max_body=app.max_body, log=sink.engine, install_signal_handlers=False)
    task = asyncio.create_task(server.serve(sockets=[prepared.listener]))
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            client.app = app  # type: ignore[attr-defined]
            yield client
    finally:
        server.handle_exit(signal.SIGTERM, None)
        await task
        await engine.services.http.aclose()
