"""What a node sees as ``ctx`` (D2, docs/node-contract.md, INVENTORY §3).

``EngineServices`` is built once per engine (config, secrets, contract, the shared
HTTP client, logging); a ``Context`` is a tiny per-invocation view of it carrying
the node id and run id (F-060), so building one per node costs next to nothing.
The testing layer's MockContext mirrors this public surface.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar

from tentacular.engine._logs import LogSink, NodeLogger
from tentacular.engine._secrets import Redactor
from tentacular.engine._telemetry import Observability, UsageRecord, report_usage
from tentacular.errors import DependencyError
from tentacular.spec import DEFAULT_NODE_TIMEOUT_SECONDS

if TYPE_CHECKING:
    import httpx

    from tentacular.engine._dependency import DependencyConnection
    from tentacular.spec._model import Contract

DEFAULT_HTTP_TIMEOUT = DEFAULT_NODE_TIMEOUT_SECONDS


class SharedHttpClient:
    """One ``httpx.AsyncClient`` per engine, created on first use.

    httpx is imported only when a node actually fetches, which keeps engine start-up
    fast for workflows that never touch the network. Call ``warm()`` to create it
    eagerly (e.g. before a runtime guard restricts imports).
    """

    def __init__(self, *, timeout: float = DEFAULT_HTTP_TIMEOUT, transport: Any = None) -> None:
        self._timeout = timeout
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        # Telemetry wraps the transport (client spans, traceparent, LLM usage); set before first use.
        self.observability: Observability | None = None

    def get(self) -> httpx.AsyncClient:
        if self._client is None:
            import httpx

            limits = httpx.Limits(max_connections=100, max_keepalive_connections=20)
            transport = self._transport
            if self.observability is not None:
                transport = self.observability.instrument(transport, limits=limits)
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self._timeout, connect=min(10.0, self._timeout)),
                limits=limits,
                follow_redirects=False,  # a redirect could leave the declared host
                transport=transport,
            )
        return self._client

    def warm(self) -> None:
        self.get()

    @property
    def timeout(self) -> float:
        return self._timeout

    def set_timeout(self, seconds: float) -> None:
        """A hot reload that changes ``config.timeout`` applies it to the live client as well."""
        self._timeout = seconds
        if self._client is not None:
            import httpx

            self._client.timeout = httpx.Timeout(seconds, connect=min(10.0, seconds))

    async def aclose(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()


class EngineServices:
    """Everything contexts share: config, secrets, contract, logging, the HTTP client."""

    def __init__(
        self,
        *,
        config: Mapping[str, Any] | None = None,
        secrets: Mapping[str, Mapping[str, Any]] | None = None,
        contract: Contract | None = None,
        log: LogSink | None = None,
        http: SharedHttpClient | None = None,
        telemetry: Observability | None = None,
    ) -> None:
        self.secrets: Mapping[str, Mapping[str, Any]] = MappingProxyType(dict(secrets or {}))
        self.redactor = Redactor.for_secrets(self.secrets)
        self.config: Mapping[str, Any] = MappingProxyType(dict(config or {}))
        self.contract = contract
        self.log = log if log is not None else LogSink(self.redactor)
        if log is not None:
            log.redactor = self.redactor
        self.http = http if http is not None else SharedHttpClient()
        self.telemetry = telemetry if telemetry is not None else Observability()
        self.telemetry.redact = self.redactor.text
        if self.http.observability is None:
            self.http.observability = self.telemetry
        self._connections: dict[str, DependencyConnection] = {}

    def with_contract(self, config: Mapping[str, Any], contract: Contract | None) -> EngineServices:
        """A copy for a reloaded workflow.yaml sharing secrets, logging and the HTTP pool."""
        return EngineServices(
            config=config,
            secrets=self.secrets,
            contract=contract,
            log=self.log,
            http=self.http,
            telemetry=self.telemetry,
        )

    def dependency(self, name: str) -> DependencyConnection:
        connection = self._connections.get(name)
        if connection is not None:
            return connection
        declared = self.contract.dependencies if self.contract is not None else {}
        if name not in declared:
            raise DependencyError(
                f'Dependency "{name}" not declared in contract. '
                "Add it to workflow.yaml contract.dependencies.",
                hint=f"contract:\n  dependencies:\n    {name}:\n      protocol: https\n      host: ...",
            )
        from tentacular.engine._dependency import connection_for

        connection = connection_for(name, declared[name], self.secrets, self.http)
        self._connections[name] = connection
        return connection


class Context:
    """``ctx`` for one node invocation: a node id, a run id and the shared services."""

    __slots__ = ("_log", "_services", "attempt", "node_id", "run_id")
    # True for the testing layer's mock: TypeScript nodes then route requests and accesses
    # through this Python context (fixtures' mocks, drift records) instead of the network.
    proxied_io: ClassVar[bool] = False

    def __init__(
        self, services: EngineServices, node_id: str = "unknown", run_id: str = "", attempt: int | None = None
    ) -> None:
        self._services = services
        self.node_id = node_id
        self.run_id = run_id
        self.attempt = attempt  # 1-based when the workflow retries (config.retries > 0), else None
        self._log: NodeLogger | None = None

    @property
    def log(self) -> NodeLogger:
        # Created on first use: most nodes never log, and runs are latency-sensitive.
        if self._log is None:
            self._log = NodeLogger(self._services.log, self.node_id, self.run_id, self.attempt)
        return self._log

    @property
    def config(self) -> Mapping[str, Any]:
        return self._services.config

    @property
    def secrets(self) -> Mapping[str, Mapping[str, Any]]:
        """Legacy: the whole resolved secrets map (prefer ``dependency(name).secret``)."""
        return self._services.secrets

    def dependency(self, name: str) -> DependencyConnection:
        return self._services.dependency(name)

    def usage(
        self,
        *,
        model: str,
        input_tokens: int,
        output_tokens: int,
        provider: str | None = None,
        cost: float | None = None,
    ) -> UsageRecord:
        """Report LLM token usage of this node (run result ``usage``, metrics, span attributes).

        Raises ``TokenUsageError`` (a TypeError) for wrong types. Reporting a call replaces
        what the engine recognised automatically in this attempt, so nothing counts twice.
        """
        return report_usage(
            self.node_id,
            model=model,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            provider=provider,
            cost=cost,
        )

    async def fetch(self, service: str, path: str, *, method: str = "GET", **kwargs: Any) -> httpx.Response:
        """Legacy ``ctx.fetch``: ``https://api.<service>.com<path>`` with auth from ``ctx.secrets``."""
        url, headers = legacy_fetch_request(
            service, path, self._services.secrets, kwargs.pop("headers", None)
        )
        return await self._services.http.get().request(method, url, headers=headers, **kwargs)

    def __repr__(self) -> str:
        return f"<Context node={self.node_id!r} run={self.run_id!r}>"


def legacy_fetch_request(
    service: str, path: str, secrets: Mapping[str, Mapping[str, Any]], extra_headers: Mapping[str, str] | None
) -> tuple[str, dict[str, str]]:
    """URL and headers of a legacy ``ctx.fetch`` (F-055/F-056): token → Bearer, api_key → X-API-Key."""
    url = path if path.startswith("http") else f"https://api.{service}.com{path}"
    keys = secrets.get(service, {})
    headers: dict[str, str] = {}
    if keys.get("token"):
        headers["Authorization"] = f"Bearer {keys['token']}"
    if keys.get("api_key"):
        headers["X-API-Key"] = str(keys["api_key"])
    headers.update(extra_headers or {})
    return url, headers
