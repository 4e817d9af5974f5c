"""Where a workflow's NATS server is (pure; the engine connects, the deploy layer opens egress).

``config.nats_url``: ``nats://`` plain, ``tls://`` TLS, a bare ``host:port`` TLS (the
original's form, INVENTORY §4.8.3); else the contract dependency with ``protocol: nats``
(TLS). ``config.nats_tls: true|false`` overrides the scheme.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from tentacular.spec._behaviour import needs_nats as needs_nats

DEFAULT_NATS_PORT = 4222


@dataclass(frozen=True)
class NatsEndpoint:
    host: str
    port: int
    tls: bool
    source: str = field(default="config.nats_url", compare=False)  # or the dependency's name

    @property
    def url(self) -> str:
        return f"{'tls' if self.tls else 'nats'}://{self.host}:{self.port}"


class NatsUrlError(ValueError):
    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def parse_nats_url(url: str) -> tuple[str, int, bool]:
    has_scheme = "://" in url
    parts = urlsplit(url if has_scheme else f"tls://{url}")
    if parts.scheme not in ("nats", "tls") or not parts.hostname:
        raise NatsUrlError(
            f"config.nats_url {url!r} is not a NATS URL",
            "write nats://host:4222 (plain), tls://host:4222 or host:4222 (TLS)",
        )
    if parts.username or parts.password:
        raise NatsUrlError(
            "config.nats_url must not contain credentials",
            "put them in the nats secret (token, or user and password)",
        )
    try:
        port = parts.port or DEFAULT_NATS_PORT
    except ValueError:
        raise NatsUrlError(f"config.nats_url {url!r} has an invalid port", "use a port 1-65535") from None
    return parts.hostname, port, parts.scheme == "tls"


def nats_endpoint(workflow: Any) -> NatsEndpoint | None:
    """The server, None when nothing names one; NatsUrlError for a malformed ``config.nats_url``."""
    config = workflow.config.as_mapping()
    url = config.get("nats_url")
    endpoint: NatsEndpoint | None = None
    if isinstance(url, str) and url.strip():
        host, port, tls = parse_nats_url(url.strip())
        endpoint = NatsEndpoint(host, port, tls, "config.nats_url")
    elif workflow.contract is not None:
        for name, dependency in workflow.contract.dependencies.items():
            if dependency.protocol == "nats" and dependency.host:
                port = dependency.effective_port or DEFAULT_NATS_PORT
                endpoint = NatsEndpoint(dependency.host, port, True, name)
                break
    override = config.get("nats_tls")
    if endpoint is not None and isinstance(override, bool):
        endpoint = NatsEndpoint(endpoint.host, endpoint.port, override, endpoint.source)
    return endpoint
