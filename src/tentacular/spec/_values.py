"""Pure building blocks of the workflow model: patterns, durations, default ports, rate limits,
OTLP endpoints. No pydantic here: the engine's start from the compiled form uses these without
importing the models (issue 19); the model modules re-export them under their old names.
"""

from __future__ import annotations

import re
from typing import Literal, NamedTuple
from urllib.parse import urlsplit

WORKFLOW_NAME_RE = r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$"
VERSION_RE = r"^[0-9]+\.[0-9]+(\.[0-9]+)?$"
IDENTIFIER_RE = r"^[a-z][a-z0-9_-]*$"
SECRET_REF_RE = r"^[a-z][a-z0-9_-]*\.[a-z][a-z0-9_-]*$"
NODE_PATH_RE = r"^(\./)?nodes/([A-Za-z0-9_.-]+/)*[A-Za-z0-9_-][A-Za-z0-9_.-]*\.(py|ts)$"
DURATION_RE = r"^([0-9]+)(ms|s|m|h)$"
# The one DNS-1123 rule (namespaces, names of deployed objects), shared by validate and deploy.
DNS_LABEL_RE = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
DNS_SUBDOMAIN_RE = r"^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
CIDR_PATTERN = r"^[0-9a-fA-F:.]+/[0-9]{1,3}$"
CRON_PATTERN = r"^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|(\S+\s+){4}\S+)$"
_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
HOSTNAME_RE = rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*\.?$"

_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}

Transport = Literal["TCP", "UDP", "SCTP"]

DEFAULT_PORTS: dict[str, int] = {
    "https": 443,
    "http": 80,
    "postgresql": 5432,
    "nats": 4222,
    "blob": 443,
}

KNOWN_PROTOCOLS: tuple[str, ...] = ("https", "http", "postgresql", "nats", "blob")
RATE_LIMIT_RE = r"^([1-9][0-9]*)/([0-9]*)(ms|s|m|h)$"
OTLP_HTTP_PORT = 4318
# workflow.yaml's size limit: it travels in a ConfigMap (at most 1 MiB, shared with the node code);
# the other limits on hostile YAML are in _yamlsource.
MAX_DOCUMENT_BYTES = 256 * 1024
_HOST_RE = re.compile(HOSTNAME_RE)


def default_port(protocol: str) -> int | None:
    return DEFAULT_PORTS.get(protocol)


def duration_seconds(value: str) -> float:
    match = re.match(DURATION_RE, value)
    if not match:
        raise ValueError(f"invalid duration {value!r}")
    return int(match.group(1)) * _DURATION_UNITS[match.group(2)]


def is_dns_label(value: str) -> bool:
    """A DNS-1123 label: lower-case letters, digits and ``-``, 1-63 characters."""
    return re.match(DNS_LABEL_RE, value) is not None


def is_dns_subdomain(value: str) -> bool:
    return re.match(DNS_SUBDOMAIN_RE, value) is not None


# Not dataclasses: a pod's start defines none (tests/engine/test_startup_imports.py). A plain class for
# RateLimit: a NamedTuple field named ``count`` would shadow tuple.count.
class RateLimit:
    """A token bucket: ``count`` tokens refilled evenly over ``period`` seconds (burst = count)."""

    __slots__ = ("count", "period")

    def __init__(self, count: int, period: float) -> None:
        self.count = count
        self.period = period

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RateLimit):
            return NotImplemented
        return (self.count, self.period) == (other.count, other.period)

    def __hash__(self) -> int:
        return hash((self.count, self.period))

    def __repr__(self) -> str:
        return f"RateLimit(count={self.count!r}, period={self.period!r})"

    @property
    def per_second(self) -> float:
        return self.count / self.period


def parse_rate_limit(value: str) -> RateLimit:
    match = re.match(RATE_LIMIT_RE, value.replace(" ", ""))
    if not match:
        raise ValueError(f"invalid rate limit {value!r}")
    count, amount, unit = match.groups()
    period = duration_seconds(f"{amount or 1}{unit}")
    if period <= 0:
        raise ValueError(f"invalid rate limit {value!r}: the period is zero")
    return RateLimit(int(count), period)


class Endpoint(NamedTuple):
    """An OTLP/HTTP collector address, split for egress rules and guard grants."""

    url: str
    scheme: str
    host: str
    port: int


def parse_endpoint(url: str) -> Endpoint:
    """``http(s)://host[:port][/path]``; raises ValueError with a reader-facing message."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"not a URL ({exc})") from None
    if parts.scheme not in ("http", "https"):
        raise ValueError("must start with http:// or https://")
    host = parts.hostname or ""
    if not host:
        raise ValueError("names no host")
    if parts.username or parts.password:
        raise ValueError("must not carry credentials (use OTEL_EXPORTER_OTLP_HEADERS from a secret)")
    if not _HOST_RE.match(host) and ":" not in host:
        raise ValueError(f"host {host!r} is not a valid hostname")
    default = 443 if parts.scheme == "https" else OTLP_HTTP_PORT
    return Endpoint(url=url.rstrip("/"), scheme=parts.scheme, host=host, port=port or default)
