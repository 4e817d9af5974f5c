"""Network decisions of the runtime permission guard (D4), free of any hook machinery.

Hostnames are allowed by name (a declared dependency host); addresses are allowed
when they came out of resolving a declared host, when they are declared literally,
or when they fall inside a declared CIDR (dynamic-target, additionalEgress). Every
refusal names the contract change that would allow it.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from tentacular.errors import GuardViolation
from tentacular.spec._policy import CidrGrant, HostGrant, RuntimePolicy

ENGINE_LISTENER = "the engine's own listener"
_PROTOCOL_BY_PORT = {443: "https", 80: "http", 5432: "postgresql", 4222: "nats"}
_DEFAULT_PORT = {protocol: port for port, protocol in _PROTOCOL_BY_PORT.items()}
_SERVICE_PORTS = {"https": 443, "http": 80}
_MAX_REMEMBERED_NAMES = 4096

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_ip(value: object) -> IPAddress | None:
    """An IP literal (IPv4-mapped IPv6 folded to IPv4, zone index dropped), else None."""
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if not isinstance(value, str):
        return None
    try:
        address = ipaddress.ip_address(value.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def transport_of(sock_type: int) -> str:
    if sock_type == socket.SOCK_STREAM:
        return "TCP"
    if sock_type == socket.SOCK_DGRAM:
        return "UDP"
    return "RAW"


def port_number(port: object) -> int | None:
    """The numeric port of a getaddrinfo ``port`` argument, None when it says nothing."""
    if isinstance(port, bytes):
        port = port.decode("ascii", "replace")
    if isinstance(port, int):
        return port or None
    if isinstance(port, str):
        if port.isdigit():
            return int(port) or None
        return _SERVICE_PORTS.get(port.lower())
    return None


def suggest_dependency(host: str, port: int | None) -> str:
    """The contract entry, in YAML flow style, that declares ``host:port``."""
    protocol = _PROTOCOL_BY_PORT.get(port, "https") if port is not None else "https"
    if port is None or _DEFAULT_PORT[protocol] == port:
        return f"{{protocol: {protocol}, host: {host}}}"
    return f"{{protocol: {protocol}, host: {host}, port: {port}}}"


def _where(host: str, port: int | None) -> str:
    if port is None:
        return host
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class _CidrRule(NamedTuple):  # not a dataclass: see tests/engine/test_startup_imports.py
    network: ipaddress.IPv4Network | ipaddress.IPv6Network
    port: int
    transport: str
    source: str

    def allows(self, address: IPAddress, port: int, transport: str) -> bool:
        return (
            address.version == self.network.version
            and address in self.network
            and (self.port == 0 or self.port == port)
            and self.transport == transport
        )


class NetworkRules:
    """What may be resolved and connected to; remembers what declared names resolved to."""

    def __init__(self, policy: RuntimePolicy, *, extra_hosts: Sequence[HostGrant] = ()) -> None:
        self.restricted = policy.network_restricted
        self._names: dict[str, list[HostGrant]] = {}
        self._addresses: dict[IPAddress, set[tuple[int, str]]] = {}
        self._origin: dict[IPAddress, str] = {}
        self._lock = threading.Lock()
        for grant in (*policy.hosts, *extra_hosts):
            address = parse_ip(grant.host)
            if address is None:
                self._names.setdefault(grant.host.lower().rstrip("."), []).append(grant)
            else:
                self._addresses.setdefault(address, set()).add((grant.port, grant.transport))
        self._cidrs = tuple(_cidr_rule(grant) for grant in policy.cidrs)
        # Left out of refusal messages: nobody declares the engine's own port in a contract.
        self._listener_ports = {g.port for g in extra_hosts if g.dependency == ENGINE_LISTENER}
        # dynamic-target (and additionalEgress) targets are not known by name, so any name
        # may be resolved there; the connection is then checked address by address.
        self.resolve_any_name = bool(self._cidrs)

    # --- resolution ------------------------------------------------------------------

    def check_resolve(self, host: object, port: object = None, sock_type: int = 0) -> None:
        """A name lookup (getaddrinfo, gethostbyname): only declared names, on declared ports."""
        if not self.restricted or host is None:
            return
        if isinstance(host, bytes):
            host = host.decode("ascii", "replace")
        if not isinstance(host, str) or not host:
            return
        literal = parse_ip(host)
        if literal is not None:
            # No DNS query for a literal, but refusing here already gives the caller the reason:
            # clients such as anyio fold connect() errors into "All connection attempts failed".
            self._check_literal(literal, port_number(port), sock_type)
            return
        name = host.lower().rstrip(".")
        wanted = port_number(port)
        grants = self._names.get(name)
        if grants is None:
            if self.resolve_any_name:
                return
            raise self._undeclared_name(host, wanted, "UDP" if sock_type == socket.SOCK_DGRAM else "TCP")
        transports = {"TCP", "UDP"} if sock_type == 0 else {transport_of(sock_type)}
        if wanted is not None and not any(g.port == wanted and g.transport in transports for g in grants):
            if self.resolve_any_name:
                return
            raise self._wrong_port(host, wanted, transports, grants)

    def _check_literal(self, address: IPAddress, port: int | None, sock_type: int) -> None:
        if port is None:
            return
        transports = ("TCP", "UDP") if sock_type == 0 else (transport_of(sock_type),)
        if not any(self.allows_address(address, port, t) for t in transports):
            raise self._undeclared_address(address, port, transports[0])

    def check_resolved(self, host: object, port: object, sock_type: int, addresses: Sequence[object]) -> None:
        """After a lookup allowed only by CIDR grants: refuse early when no result is reachable."""
        if not self.restricted or not self.resolve_any_name or not isinstance(host, str | bytes):
            return
        name = (host.decode("ascii", "replace") if isinstance(host, bytes) else host).lower().rstrip(".")
        wanted = port_number(port)
        if wanted is None or name in self._names or parse_ip(name) is not None:
            return
        transports = ("TCP", "UDP") if sock_type == 0 else (transport_of(sock_type),)
        parsed = [ip for ip in map(parse_ip, addresses) if ip is not None]
        if parsed and not any(self.allows_address(ip, wanted, t) for ip in parsed for t in transports):
            raise self._undeclared_address(parsed[0], wanted, transports[0])

    def remember(self, host: object, addresses: Iterable[object]) -> None:
        """Record what a declared (or, with CIDR grants, any) name resolved to."""
        if not self.restricted or not isinstance(host, str | bytes):
            return
        name = (host.decode("ascii", "replace") if isinstance(host, bytes) else host).lower().rstrip(".")
        if parse_ip(name) is not None:
            return  # a literal resolves to itself; there is nothing to learn
        grants = self._names.get(name, ())
        with self._lock:
            if len(self._origin) > _MAX_REMEMBERED_NAMES:
                self._origin.clear()
            for raw in addresses:
                address = parse_ip(raw)
                if address is None:
                    continue
                self._origin.setdefault(address, name)
                if grants:
                    self._addresses.setdefault(address, set()).update((g.port, g.transport) for g in grants)

    def check_reverse(self, host: object) -> None:
        """A reverse lookup (gethostbyaddr, getnameinfo): only of addresses nodes may reach."""
        if not self.restricted:
            return
        address = parse_ip(host)
        if address is None:
            if isinstance(host, str) and host.lower() in (*self._names, "localhost", socket.gethostname()):
                return
            if self.resolve_any_name:
                return
        elif address.is_loopback or address in self._addresses or self._in_cidr(address):
            return
        raise GuardViolation(
            f"reverse lookup of {host} refused: not an address of a host declared in "
            "contract.dependencies — declare the host to look it up"
        )

    def _in_cidr(self, address: IPAddress) -> bool:
        return any(address.version == r.network.version and address in r.network for r in self._cidrs)

    # --- connections -----------------------------------------------------------------

    def check_connect(self, family: int, sock_type: int, address: Any, *, datagram: bool = False) -> None:
        """``socket.connect`` / ``sendto`` / ``sendmsg`` to ``address``."""
        if not self.restricted or address is None:
            return
        if family == getattr(socket, "AF_UNIX", None):
            path = address.decode("utf-8", "replace") if isinstance(address, bytes) else str(address)
            raise GuardViolation(
                f"connection to local socket {path!r} refused: nodes may only reach the network "
                "endpoints declared in contract.dependencies"
            )
        if family not in (socket.AF_INET, socket.AF_INET6) or not isinstance(address, tuple):
            raise GuardViolation(
                f"socket family {family} refused: nodes may only use TCP/UDP to declared dependencies"
            )
        host, port = address[0], int(address[1])
        transport = "UDP" if datagram and sock_type != socket.SOCK_STREAM else transport_of(sock_type)
        if transport == "RAW":
            raise GuardViolation(
                f"raw socket to {_where(str(host), port)} refused: nodes may only use TCP/UDP "
                "to declared dependencies"
            )
        ip = parse_ip(host if host != "" else "0.0.0.0")
        if ip is None:
            self._check_named_connect(str(host), port, transport)
        elif not self.allows_address(ip, port, transport):
            raise self._undeclared_address(ip, port, transport)

    def allows_address(self, address: IPAddress, port: int, transport: str) -> bool:
        if (port, transport) in self._addresses.get(address, ()):
            return True
        return any(rule.allows(address, port, transport) for rule in self._cidrs)

    def _check_named_connect(self, host: str, port: int, transport: str) -> None:
        # connect(("name", port)) resolves inside C, where no resolution event is raised.
        grants = self._names.get(host.lower().rstrip("."))
        if grants and any(g.port == port and g.transport == transport for g in grants):
            return
        if self.resolve_any_name:
            kind = socket.SOCK_DGRAM if transport == "UDP" else socket.SOCK_STREAM
            for info in socket.getaddrinfo(host, port, type=kind):
                address = parse_ip(info[4][0])
                if address is not None and not self.allows_address(address, port, transport):
                    raise self._undeclared_address(address, port, transport)
            return
        if grants is None:
            raise self._undeclared_name(host, port, transport)
        raise self._wrong_port(host, port, {transport}, grants)

    # --- messages --------------------------------------------------------------------

    @staticmethod
    def _undeclared_name(host: str, port: int | None, transport: str) -> GuardViolation:
        action = "UDP datagram to" if transport == "UDP" else "connection to"
        if port is None:
            action = "resolving"
        return GuardViolation(
            f"{action} {_where(host, port)} refused: not declared in the contract — "
            f"add a dependency {suggest_dependency(host, port)} to contract.dependencies"
        )

    def _wrong_port(
        self, host: str, port: int, transports: set[str], grants: list[HostGrant]
    ) -> GuardViolation:
        declared = ", ".join(sorted({f"{g.port}/{g.transport}" for g in grants})) or "none"
        owners = ", ".join(sorted({f'"{g.dependency}"' for g in grants}))
        kind = "UDP datagram to" if transports == {"UDP"} else "connection to"
        return GuardViolation(
            f"{kind} {_where(host, port)} refused: {host} is declared ({owners}) for port(s) {declared} "
            f"only — add a dependency {suggest_dependency(host, port)} to contract.dependencies"
        )

    def _undeclared_address(self, address: IPAddress, port: int, transport: str) -> GuardViolation:
        text = str(address)
        origin = self._origin.get(address)
        shown = f"{origin} ({text})" if origin else text
        cidr = f"{text}/{address.max_prefixlen}"
        if transport == "UDP":
            return GuardViolation(
                f"UDP datagram to {_where(shown, port)} refused: not declared in the contract — add "
                f'{{toCIDR: {cidr}, ports: ["{port}/UDP"]}} to contract.networkPolicy.additionalEgress'
            )
        granted = sorted(
            p for p, t in self._addresses.get(address, ()) if t == transport and p not in self._listener_ports
        )
        covering = [rule for rule in self._cidrs if rule.network.version == address.version]
        covering = [rule for rule in covering if address in rule.network and rule.transport == transport]
        if covering and not granted:
            rule = covering[0]
            ports = ", ".join(
                sorted({f"{r.port}/{r.transport}" for r in covering if r.source == rule.source})
            )
            return GuardViolation(
                f"connection to {_where(shown, port)} refused: {text} is inside {rule.network} "
                f'("{rule.source}") for port(s) {ports} only — add "{port}/{transport}" to the dynPorts '
                f'of dependency "{rule.source}"'
            )
        if granted:
            reason = f"{text} is declared for port(s) {', '.join(map(str, granted))} only"
        elif origin:
            reason = f"{origin} is not declared in the contract"
        else:
            reason = "address not resolved from a declared host and outside every declared CIDR"
        return GuardViolation(
            f"connection to {_where(shown, port)} refused: {reason} — add a dependency "
            f"{suggest_dependency(origin or text, port)} to contract.dependencies "
            "(or a dynamic-target dependency whose cidr and dynPorts cover it)"
        )


def _cidr_rule(grant: CidrGrant) -> _CidrRule:
    return _CidrRule(
        ipaddress.ip_network(grant.cidr, strict=False), grant.port, grant.transport, grant.dependency
    )


def listener_grants(host: str, port: int) -> list[HostGrant]:
    """The engine's own listening address, reachable from node code like Deno's 0.0.0.0:8080 grant."""
    hosts = {"localhost", "127.0.0.1", "::1"}
    if host in ("", "0.0.0.0", "::"):
        hosts.update({"0.0.0.0", "::"})
    else:
        hosts.add(host)
    return [HostGrant(h, port, "TCP", ENGINE_LISTENER) for h in sorted(hosts)]
