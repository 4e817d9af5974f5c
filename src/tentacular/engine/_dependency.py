"""What ``ctx.dependency(name)`` returns: a declared contract dependency with its secret resolved.

Its own module, imported on a node's first ``ctx.dependency`` call: a frozen dataclass costs
~0.6 ms of generated-code compilation, which a pod's start does not need to pay (issue 19).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tentacular.errors import TentacularError

if TYPE_CHECKING:
    import httpx

    from tentacular.engine._context import SharedHttpClient
    from tentacular.spec._model import Dependency

HTTP_PROTOCOLS = ("http", "https")


@dataclass(frozen=True, slots=True)
class DependencyConnection:
    """A declared contract dependency with its secret resolved (never injected into requests)."""

    name: str
    protocol: str
    host: str | None = None
    port: int | None = None
    auth_type: str | None = None
    secret: str | None = field(default=None, repr=False)
    database: str | None = None
    user: str | None = None
    subject: str | None = None
    container: str | None = None
    _http: SharedHttpClient | None = field(default=None, repr=False, compare=False)

    @property
    def base_url(self) -> str:
        return f"{self.protocol}://{self.host}:{self.port}"

    async def fetch(self, path: str, *, method: str = "GET", **kwargs: Any) -> httpx.Response:
        """Send a request to the declared host; the node adds any auth itself (F-053)."""
        if self.protocol not in HTTP_PROTOCOLS or not self.host:
            raise TentacularError(
                f'dependency "{self.name}" uses protocol {self.protocol}; fetch() needs http or https',
                hint="use a client library for this protocol with host/port/secret from the dependency",
            )
        if "://" in path:
            raise TentacularError(
                f'dependency "{self.name}": fetch() takes a path on {self.host}, not a URL',
                hint="declare other hosts as their own dependencies",
            )
        if self._http is None:
            raise TentacularError(f'dependency "{self.name}" has no HTTP client attached')
        url = self.base_url + (path if path.startswith("/") else "/" + path)
        return await self._http.get().request(method, url, **kwargs)


def connection_for(
    name: str, dependency: Dependency, secrets: Mapping[str, Mapping[str, Any]], http: SharedHttpClient | None
) -> DependencyConnection:
    secret: Any = None
    auth = dependency.auth
    if auth is not None:
        secret = secrets.get(auth.service, {}).get(auth.key)
    return DependencyConnection(
        name=name,
        protocol=dependency.protocol,
        host=dependency.host,
        port=dependency.effective_port,
        auth_type=auth.type if auth is not None else None,
        secret=None if secret is None else str(secret),
        database=dependency.database,
        user=dependency.user,
        subject=dependency.subject,
        container=dependency.container,
        _http=http,
    )
