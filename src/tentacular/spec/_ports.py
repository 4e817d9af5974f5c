"""Ports: the unified default table (D2, Q19) and the port-spec grammar (F-032, Q20)."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict

from tentacular.spec._behaviour import PortSpecBehaviour
from tentacular.spec._values import DEFAULT_PORTS as DEFAULT_PORTS
from tentacular.spec._values import KNOWN_PROTOCOLS as KNOWN_PROTOCOLS
from tentacular.spec._values import Transport as Transport
from tentacular.spec._values import default_port as default_port

_PORT_SPEC = re.compile(r"^\s*(\d{1,5})\s*(?:/\s*([A-Za-z]+)\s*)?$")


class PortSpec(BaseModel, PortSpecBehaviour):
    """A port with its transport, written ``"443/TCP"``, ``"53/UDP"``, ``443`` or ``{port, protocol}``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    port: int
    protocol: Transport = "TCP"

    __str__ = PortSpecBehaviour.__str__  # BaseModel's own __str__ would win over the mixin's


def parse_port_spec(value: Any) -> PortSpec:
    """Parse either port-spec form; raise ValueError with a user-facing message."""
    if isinstance(value, PortSpec):
        return value
    if isinstance(value, bool):
        raise ValueError(f"invalid port spec {value!r}")
    if isinstance(value, int):
        port, transport = value, "TCP"
    elif isinstance(value, str):
        match = _PORT_SPEC.match(value)
        if not match:
            raise ValueError(f'invalid port spec "{value}" (expected "<port>" or "<port>/TCP|UDP")')
        port, transport = int(match.group(1)), (match.group(2) or "TCP").upper()
    elif isinstance(value, dict):
        unknown = set(value) - {"port", "protocol"}
        if unknown or "port" not in value:
            raise ValueError(f"invalid port spec {value!r} (expected {{port, protocol}})")
        raw_port = value["port"]
        if isinstance(raw_port, bool) or not isinstance(raw_port, int | str):
            raise ValueError(f"invalid port {raw_port!r}")
        try:
            port = int(raw_port)
        except ValueError:
            raise ValueError(f"invalid port {raw_port!r}") from None
        transport = str(value.get("protocol") or "TCP").upper()
    else:
        raise ValueError(f"invalid port spec {value!r}")
    if not 1 <= port <= 65535:
        raise ValueError(f"port {port} is out of range 1-65535")
    if transport not in ("TCP", "UDP", "SCTP"):
        raise ValueError(f'unknown transport "{transport}" (expected TCP, UDP or SCTP)')
    return PortSpec.model_validate({"port": port, "protocol": transport})
