"""Start `tntc mcp` as a real child process and talk to it with the mcp SDK's own client."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TextIO

import pytest

TNTC = [sys.executable, "-m", "tentacular.cli.main"]
TOKEN = "test-token-5c1f"  # a test value, not a secret


@asynccontextmanager
async def stdio_client(cwd: Path, *, mode: str = "auto", errlog: TextIO | None = None) -> AsyncIterator[Any]:
    """The SDK's client on `tntc mcp` over stdio; ``mode="legacy"`` opens with initialize."""
    from mcp import Client
    from mcp.client.stdio import StdioServerParameters
    from mcp.client.stdio import stdio_client as stdio_transport

    params = StdioServerParameters(command=TNTC[0], args=[*TNTC[1:], "mcp"], cwd=cwd, env=dict(os.environ))
    transport = stdio_transport(params, errlog=errlog or sys.stderr)
    async with Client(transport, mode=mode, read_timeout_seconds=120) as client:
        yield client


@asynccontextmanager
async def http_client(url: str, token: str | None = TOKEN) -> AsyncIterator[Any]:
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=120) as http,
        Client(streamable_http_client(url, http_client=http), read_timeout_seconds=120) as client,
    ):
        yield client


@pytest.fixture
def http_server(tmp_path: Path) -> Iterator[str]:
    """`tntc mcp --http 127.0.0.1:0` with a bearer token; yields its URL."""
    env = {**os.environ, "TNTC_MCP_TOKEN": TOKEN}
    process = subprocess.Popen(
        [*TNTC, "mcp", "--http", "127.0.0.1:0"],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = _await_url(process)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        assert process.stderr is not None
        process.stderr.close()


def _await_url(process: subprocess.Popen[str]) -> str:
    assert process.stderr is not None
    deadline = time.monotonic() + 60
    seen: list[str] = []
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        seen.append(line)
        if "streamable HTTP on " in line:
            return line.split("streamable HTTP on ", 1)[1].split()[0]
    raise AssertionError(f"tntc mcp --http did not announce its URL: {''.join(seen)}")
