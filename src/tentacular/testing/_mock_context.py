"""The mock context (INVENTORY §5.5 with D8 mocks): the engine's node API, offline and recorded.

A dependency's ``fetch`` runs the node's real request code through httpx — query
parameters, JSON bodies and headers are encoded exactly as in production — and
only the transport is replaced: it answers from the fixture's canned ``mocks``.
Every dependency access, request, ``ctx.secrets`` read, legacy ``ctx.fetch``
and log line is written to an :class:`InvocationRecord` for drift analysis.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from tentacular.engine._context import Context, EngineServices, SharedHttpClient, legacy_fetch_request
from tentacular.engine._dependency import DependencyConnection, connection_for
from tentacular.engine._logs import LogSink
from tentacular.errors import UnmockedRequestError
from tentacular.testing._fixtures import DependencyMocks, MockResponse, MockRoute, OriginalMocks

if TYPE_CHECKING:
    import httpx

    from tentacular.spec import Contract


@dataclass(frozen=True)
class LogEntry:
    level: str
    message: str
    fields: Mapping[str, Any]

    def render(self) -> str:
        extra = " ".join(f"{key}={value!r}" for key, value in self.fields.items())
        return f"{self.level.upper()} {self.message}" + (f" {extra}" if extra else "")


@dataclass
class InvocationRecord:
    """What one node invocation touched; the raw material of the drift report."""

    node: str
    dependencies: dict[str, list[str]] = field(default_factory=dict)
    direct_fetches: list[tuple[str, str]] = field(default_factory=list)
    secrets_reads: list[str] = field(default_factory=list)
    logs: list[LogEntry] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def dependency_accessed(self, name: str) -> None:
        with self._lock:
            self.dependencies.setdefault(name, [])

    def request_made(self, name: str, route: str) -> None:
        with self._lock:
            self.dependencies.setdefault(name, []).append(route)

    def secret_read(self, service: str) -> None:
        with self._lock:
            if service not in self.secrets_reads:
                self.secrets_reads.append(service)


class MockLog:
    """``ctx.log`` as the engine's NodeLogger, captured instead of printed."""

    def __init__(self, record: InvocationRecord) -> None:
        self._record = record

    def _add(self, level: str, message: object, args: tuple[object, ...], fields: dict[str, Any]) -> None:
        text = " ".join(str(part) for part in (message, *args))
        self._record.logs.append(LogEntry(level, text, fields))

    def debug(self, msg: object, *args: object, **fields: Any) -> None:
        self._add("debug", msg, args, fields)

    def info(self, msg: object, *args: object, **fields: Any) -> None:
        self._add("info", msg, args, fields)

    def warning(self, msg: object, *args: object, **fields: Any) -> None:
        self._add("warning", msg, args, fields)

    def error(self, msg: object, *args: object, **fields: Any) -> None:
        self._add("error", msg, args, fields)

    warn = warning  # the TypeScript contract spells it ctx.log.warn


class RecordingSecrets(Mapping[str, Mapping[str, Any]]):
    """Legacy ``ctx.secrets``: read-only, and every service read is a direct-secrets drift."""

    def __init__(self, secrets: Mapping[str, Mapping[str, Any]], record: InvocationRecord) -> None:
        self._secrets = {service: MappingProxyType(dict(keys)) for service, keys in secrets.items()}
        self._record = record

    def __getitem__(self, service: str) -> Mapping[str, Any]:
        self._record.secret_read(service)
        return self._secrets[service]

    def __contains__(self, service: object) -> bool:
        if isinstance(service, str):
            self._record.secret_read(service)
        return service in self._secrets

    def __iter__(self) -> Iterator[str]:
        for service in self._secrets:
            self._record.secret_read(service)
            yield service

    def __len__(self) -> int:
        return len(self._secrets)

    def __repr__(self) -> str:  # never show values
        return f"<secrets: {', '.join(self._secrets) or 'none'}>"


class MockTransportRouter:
    """Answers the requests of one dependency from its canned mocks."""

    def __init__(
        self,
        name: str,
        mocks: Mapping[MockRoute, MockResponse],
        record: InvocationRecord,
        *,
        original: bool = False,
    ) -> None:
        self.name = name
        self.mocks = mocks
        self.record = record
        self.original = original  # no "mocks" key in the fixture: answer like the original mock

    def __call__(self, request: httpx.Request) -> httpx.Response:
        route = MockRoute(request.method.upper(), request.url.path)
        self.record.request_made(self.name, route.key)
        response = self.mocks.get(route)
        if response is None and self.original:
            import httpx

            body = {"mock": True, "dependency": self.name, "path": request.url.raw_path.decode()}
            return httpx.Response(200, json=body, request=request)
        if response is None:
            self.record.unmatched.append(f"{self.name}: {route.key}")
            available = ", ".join(sorted(r.key for r in self.mocks)) or "none"
            raise UnmockedRequestError(
                f'no mock for {route.key} on dependency "{self.name}"; mocks for {self.name}: {available}',
                hint=f'add "{route.key}" under mocks.{self.name} in the fixture',
            )
        return build_response(response, request)


def build_response(mock: MockResponse, request: httpx.Request) -> httpx.Response:
    import httpx

    headers = dict(mock.headers)
    if mock.has_json:
        return httpx.Response(mock.status, headers=headers, json=mock.json_body, request=request)
    return httpx.Response(mock.status, headers=headers, text=mock.text_body or "", request=request)


class _CapturingSink(LogSink):
    """The engine's log sink, writing into the record instead of a stream."""

    def __init__(self, record: InvocationRecord) -> None:
        super().__init__(stream=io.StringIO(), fmt="text")
        self._record = record

    def emit(
        self,
        level: str,
        message: str,
        *,
        node: str | None = None,
        run: str | None = None,
        fields: dict[str, Any] | None = None,
    ) -> None:
        self._record.logs.append(LogEntry(level, str(message), dict(fields or {})))


class _MockServices(EngineServices):
    """Engine services whose dependencies talk to canned mocks, one transport per dependency."""

    def __init__(
        self,
        *,
        config: Mapping[str, Any],
        secrets: Mapping[str, Mapping[str, Any]],
        contract: Contract | None,
        mocks: DependencyMocks,
        record: InvocationRecord,
    ) -> None:
        super().__init__(config=config, secrets=secrets, contract=contract, log=_CapturingSink(record))
        self._mocks = mocks
        self._record = record
        self._clients: dict[str, SharedHttpClient] = {}

    def dependency(self, name: str) -> DependencyConnection:
        declared = self.contract.dependencies if self.contract is not None else {}
        original = isinstance(self._mocks, OriginalMocks)
        if name not in declared:
            if self.contract is None and original:
                return self._default_dependency(name)
            return super().dependency(name)  # raises exactly the engine's DependencyError
        return connection_for(name, declared[name], self.secrets, self._client(name, original=original))

    def _client(self, name: str, *, original: bool) -> SharedHttpClient:
        client = self._clients.get(name)
        if client is None:
            import httpx

            router = MockTransportRouter(name, self._mocks.get(name, {}), self._record, original=original)
            client = self._clients[name] = SharedHttpClient(transport=httpx.MockTransport(router))
            client.observability = self.telemetry  # LLM answers from mocks count as in the engine
        return client

    def _default_dependency(self, name: str) -> DependencyConnection:
        """The original mock without a contract: any name is an https mock service (INVENTORY §5.5)."""
        return DependencyConnection(
            name=name,
            protocol="https",
            host=f"mock-{name}.example.com",
            port=443,
            auth_type="test-auth",
            _http=self._client(name, original=True),
        )

    @property
    def default_dependencies(self) -> bool:
        """True when any dependency name answers as the original contract-less mock."""
        return self.contract is None and isinstance(self._mocks, OriginalMocks)

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()


class MockContext(Context):
    """The engine's ``Context`` with mocked network, captured logs and recorded accesses."""

    proxied_io = True

    def __init__(
        self,
        node_id: str,
        *,
        contract: Contract | None,
        config: Mapping[str, Any],
        secrets: Mapping[str, Mapping[str, Any]],
        mocks: DependencyMocks,
        record: InvocationRecord | None = None,
        run_id: str = "test",
    ) -> None:
        self.record = record or InvocationRecord(node_id)
        self._mock_services = _MockServices(
            config=config, secrets=secrets, contract=contract, mocks=mocks, record=self.record
        )
        super().__init__(self._mock_services, node_id, run_id)
        self._mocks = mocks
        self._recording_secrets = RecordingSecrets(secrets, self.record)

    @property
    def secrets(self) -> Mapping[str, Mapping[str, Any]]:
        return self._recording_secrets

    def dependency(self, name: str) -> DependencyConnection:
        # Recorded before validation, so an undeclared access a node catches still shows as drift.
        self.record.dependency_accessed(name)
        return super().dependency(name)

    async def fetch(self, service: str, path: str, *, method: str = "GET", **kwargs: Any) -> httpx.Response:
        """Legacy ``ctx.fetch``: answered from ``mocks[service]``, else the upstream default mock body."""
        import httpx

        self.record.direct_fetches.append((service, path))
        url, headers = legacy_fetch_request(
            service, path, self._mock_services.secrets, kwargs.pop("headers", None)
        )
        mocks = self._mocks.get(service, {})

        def answer(request: httpx.Request) -> httpx.Response:
            canned = mocks.get(MockRoute(request.method.upper(), request.url.path))
            if canned is not None:
                return build_response(canned, request)
            return httpx.Response(200, json={"mock": True, "service": service, "path": path}, request=request)

        async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
            return await client.request(method, url, headers=headers, **kwargs)

    async def aclose(self) -> None:
        await self._mock_services.aclose()

    def __repr__(self) -> str:
        return f"<MockContext node={self.node_id!r}>"
