"""The mock context: the engine's node API, answering from canned mocks, recording everything."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tentacular.engine._context import Context, EngineServices
from tentacular.errors import DependencyError, UnmockedRequestError
from tentacular.spec._model import Contract
from tentacular.testing._fixtures import MockResponse, MockRoute
from tentacular.testing._mock_context import MockContext

CONTRACT = Contract.model_validate(
    {
        "version": "1",
        "dependencies": {
            "api": {
                "protocol": "https",
                "host": "api.example.com",
                "auth": {"type": "bearer", "secret": "api.token"},
            },
            "db": {"protocol": "postgresql", "host": "db", "database": "app", "user": "svc"},
        },
    }
)
MOCKS = {
    "api": {
        MockRoute("GET", "/items"): MockResponse(json_body=[{"id": 1}], has_json=True),
        MockRoute("POST", "/items"): MockResponse(status=201, headers={"X-Id": "9"}, text_body="created"),
        MockRoute("GET", "/broken"): MockResponse(status=503, text_body="down"),
    }
}


def make(secrets: dict[str, Any] | None = None, contract: Contract | None = CONTRACT) -> MockContext:
    if secrets is None:
        secrets = {"api": {"token": "s3cr3t"}}
    return MockContext("fetch", contract=contract, config={"limit": 2}, secrets=secrets, mocks=MOCKS)


async def test_fetch_returns_a_real_response_from_the_mock() -> None:
    ctx = make()
    api = ctx.dependency("api")
    response = await api.fetch(
        "/items", params={"page": 2}, headers={"Authorization": f"Bearer {api.secret}"}
    )
    assert isinstance(response, httpx.Response)
    assert response.json() == [{"id": 1}]
    assert response.request.url.params["page"] == "2"  # the node's real request encoding ran
    assert response.request.headers["Authorization"] == "Bearer s3cr3t"
    created = await api.fetch("/items", method="POST", json={"name": "x"})
    assert (created.status_code, created.text, created.headers["X-Id"]) == (201, "created", "9")
    failing = await api.fetch("/broken")
    with pytest.raises(httpx.HTTPStatusError, match="503"):
        failing.raise_for_status()
    assert ctx.record.dependencies == {"api": ["GET /items", "POST /items", "GET /broken"]}
    await ctx.aclose()


async def test_no_auth_is_injected() -> None:
    ctx = make()
    response = await ctx.dependency("api").fetch("/items")
    assert "Authorization" not in response.request.headers


async def test_unmatched_request_lists_the_available_mocks() -> None:
    ctx = make()
    with pytest.raises(UnmockedRequestError) as caught:
        await ctx.dependency("api").fetch("/nothing", method="DELETE")
    message = caught.value.message
    assert 'no mock for DELETE /nothing on dependency "api"' in message
    assert "GET /broken, GET /items, POST /items" in message
    assert ctx.record.unmatched == ["api: DELETE /nothing"]


async def test_dependency_without_mocks_says_none() -> None:
    ctx = MockContext("n", contract=CONTRACT, config={}, secrets={}, mocks={})
    with pytest.raises(UnmockedRequestError, match="mocks for api: none"):
        await ctx.dependency("api").fetch("/items")


def test_undeclared_dependency_raises_exactly_like_the_engine() -> None:
    engine_ctx = Context(EngineServices(contract=CONTRACT), "fetch")
    with pytest.raises(DependencyError) as engine_error:
        engine_ctx.dependency("slack")
    ctx = make()
    with pytest.raises(DependencyError) as mock_error:
        ctx.dependency("slack")
    assert mock_error.value.message == engine_error.value.message
    assert mock_error.value.hint == engine_error.value.hint
    assert "slack" in ctx.record.dependencies  # recorded before validation, for drift


def test_connection_fields_match_the_engine() -> None:
    engine = Context(EngineServices(contract=CONTRACT, secrets={"api": {"token": "s3cr3t"}}), "n").dependency(
        "api"
    )
    mocked = make().dependency("api")
    for name in ("name", "protocol", "host", "port", "auth_type", "secret", "database", "user"):
        assert getattr(mocked, name) == getattr(engine, name)
    assert make(secrets={}).dependency("api").secret is None
    db = make().dependency("db")
    assert (db.port, db.database, db.user) == (5432, "app", "svc")


async def test_non_http_dependency_cannot_fetch() -> None:
    with pytest.raises(Exception, match="fetch\\(\\) needs http or https"):
        await make().dependency("db").fetch("/x")


def test_context_surface() -> None:
    ctx = make()
    assert isinstance(ctx, Context)
    assert ctx.node_id == "fetch"
    assert ctx.config["limit"] == 2
    with pytest.raises(TypeError):
        ctx.config["limit"] = 3  # type: ignore[index]
    ctx.log.info("fetched", count=2)
    ctx.log.warn("careful", "now")
    ctx.log.debug("d")
    ctx.log.error("e")
    assert [(e.level, e.message) for e in ctx.record.logs] == [
        ("info", "fetched"),
        ("warning", "careful now"),
        ("debug", "d"),
        ("error", "e"),
    ]
    assert ctx.record.logs[0].fields == {"count": 2}


def test_secrets_reads_are_recorded_and_read_only() -> None:
    ctx = make()
    assert ctx.record.secrets_reads == []
    assert ctx.secrets["api"]["token"] == "s3cr3t"
    assert ctx.secrets.get("missing") is None
    with pytest.raises(TypeError):
        ctx.secrets["api"]["token"] = "x"  # type: ignore[index]
    assert ctx.record.secrets_reads == ["api", "missing"]
    assert "s3cr3t" not in repr(ctx.secrets)


async def test_legacy_fetch_is_recorded_and_injects_auth_like_the_engine() -> None:
    ctx = make()
    response = await ctx.fetch("api", "/items")
    assert response.json() == [{"id": 1}]  # answered from mocks[service]
    assert response.request.url.host == "api.api.com"
    assert response.request.headers["Authorization"] == "Bearer s3cr3t"
    default = await ctx.fetch("other", "/x")
    assert default.json() == {"mock": True, "service": "other", "path": "/x"}
    assert ctx.record.direct_fetches == [("api", "/items"), ("other", "/x")]
    assert ctx.record.secrets_reads == []  # auth injection is not the node reading ctx.secrets
