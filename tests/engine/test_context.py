"""ctx: dependencies, fetch over the shared client, legacy fetch/secrets, config, logging."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tentacular.engine._context import Context, EngineServices, SharedHttpClient
from tentacular.engine._logs import LogSink
from tentacular.errors import DependencyError, TentacularError
from tentacular.spec._model import Contract

CONTRACT = Contract.model_validate(
    {
        "version": "1",
        "dependencies": {
            "github": {
                "protocol": "https",
                "host": "api.github.com",
                "auth": {"type": "bearer-token", "secret": "github.token"},
            },
            "db": {"protocol": "postgresql", "host": "db", "database": "app", "user": "svc"},
            "local": {"protocol": "http", "host": "svc.internal", "port": 8081},
        },
    }
)


def services(handler: Any = None, **kwargs: Any) -> EngineServices:
    transport = httpx.MockTransport(handler) if handler else None
    return EngineServices(http=SharedHttpClient(transport=transport), **kwargs)


def test_dependency_fields_and_default_ports() -> None:
    svc = services(contract=CONTRACT, secrets={"github": {"token": "ghp_value123"}})
    ctx = Context(svc, "n", "r")
    github = ctx.dependency("github")
    assert (github.protocol, github.host, github.port, github.auth_type) == (
        "https",
        "api.github.com",
        443,
        "bearer-token",
    )
    assert github.secret == "ghp_value123"
    assert "ghp_value123" not in repr(github)
    db = ctx.dependency("db")
    assert (db.port, db.database, db.user, db.secret, db.auth_type) == (5432, "app", "svc", None, None)


def test_undeclared_dependency_raises() -> None:
    ctx = Context(services(contract=CONTRACT))
    with pytest.raises(DependencyError, match='Dependency "slack" not declared in contract'):
        ctx.dependency("slack")
    with pytest.raises(KeyError):
        Context(services()).dependency("github")


async def test_dependency_fetch_goes_to_declared_host_without_auth_injection() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"ok": True})

    svc = services(handler, contract=CONTRACT, secrets={"github": {"token": "ghp_value123"}})
    ctx = Context(svc)
    response = await ctx.dependency("github").fetch("/repos/o/r", params={"state": "open"})
    assert response.json() == {"ok": True}
    assert str(seen[0].url) == "https://api.github.com/repos/o/r?state=open"
    assert "authorization" not in seen[0].headers
    await ctx.dependency("local").fetch("/x", method="POST", json={"a": 1})
    assert str(seen[1].url) == "http://svc.internal:8081/x" and seen[1].method == "POST"
    with pytest.raises(TentacularError, match="needs http or https"):
        await ctx.dependency("db").fetch("/")
    with pytest.raises(TentacularError, match="not a URL"):
        await ctx.dependency("github").fetch("https://evil.example/")
    await svc.http.aclose()


async def test_shared_client_is_one_instance() -> None:
    http = SharedHttpClient()
    assert http.get() is http.get()
    await http.aclose()


async def test_legacy_fetch_injects_auth_from_secrets() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    svc = services(handler, secrets={"github": {"token": "tok-1234", "api_key": "key-5678"}})
    ctx = Context(svc)
    await ctx.fetch("github", "/user", headers={"Accept": "x"})
    await ctx.fetch("nobody", "https://example.test/full")
    assert str(seen[0].url) == "https://api.github.com/user"
    assert seen[0].headers["authorization"] == "Bearer tok-1234"
    assert seen[0].headers["x-api-key"] == "key-5678" and seen[0].headers["accept"] == "x"
    assert str(seen[1].url) == "https://example.test/full" and "authorization" not in seen[1].headers
    assert ctx.secrets["github"]["token"] == "tok-1234"
    await svc.http.aclose()


def test_config_is_read_only() -> None:
    ctx = Context(services(config={"top_n": 3}))
    assert ctx.config["top_n"] == 3
    with pytest.raises(TypeError):
        ctx.config["top_n"] = 4  # type: ignore[index]


def test_log_lines_carry_node_and_run_and_never_secrets(captured: Any) -> None:
    sink = LogSink(stream=captured, fmt="json")
    svc = services(log=sink, secrets={"svc": {"token": "hunter2-secret"}})
    ctx = Context(svc, "fetch", "run42")
    ctx.log.info("calling with hunter2-secret", attempt=1, header="Bearer hunter2-secret")
    ctx.log.warning("slow")
    first = json.loads(captured.lines[0])
    assert first["node"] == "fetch" and first["run"] == "run42" and first["level"] == "info"
    assert first["attempt"] == 1
    assert "hunter2-secret" not in captured.text
    text_sink = LogSink(stream=captured, fmt="text")
    svc.log = text_sink
    text_sink.redactor = svc.redactor
    Context(svc, "fetch", "r").log.error("bad hunter2-secret")
    assert captured.lines[-1] == "[fetch] ERROR bad [redacted]"
