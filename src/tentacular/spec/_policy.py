"""The runtime permission policy (D4) as plain data, derived from the contract.

The engine's guard enforces it; here it is only computed, so it can be shown,
tested and diffed without running anything.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, NamedTuple

if TYPE_CHECKING:
    from tentacular.spec._model import Workflow


DEFAULT_ENV_ALLOW: tuple[str, ...] = (
    "HOME",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "PATH",
    "PYTHONHASHSEED",
    "SSL_CERT_DIR",
    "SSL_CERT_FILE",
    "TMPDIR",
    "TZ",
)
DEFAULT_ENV_PREFIXES: tuple[str, ...] = ("OTEL_", "TENTACULAR_")


# Not dataclasses: a pod's start defines none (tests/engine/test_startup_imports.py). As NamedTuples
# the grants sort by their fields in order, as the ordered dataclasses did.
class HostGrant(NamedTuple):
    """Connections to ``host`` (and only the addresses it resolves to) on ``port``."""

    host: str
    port: int
    transport: str
    dependency: str


class CidrGrant(NamedTuple):
    """Connections to any address in ``cidr`` on ``port`` (0 = any port)."""

    cidr: str
    port: int
    transport: str
    dependency: str


class RuntimePolicy(NamedTuple):
    """What node code may touch. ``network_restricted`` is False only in legacy mode."""

    network_restricted: bool
    hosts: tuple[HostGrant, ...] = ()
    cidrs: tuple[CidrGrant, ...] = ()
    read_paths: tuple[str, ...] = ()
    write_paths: tuple[str, ...] = ("/tmp",)
    env_allow: tuple[str, ...] = DEFAULT_ENV_ALLOW
    env_prefixes: tuple[str, ...] = DEFAULT_ENV_PREFIXES
    allow_subprocess: bool = False
    allow_ffi: bool = False
    notes: tuple[str, ...] = ()

    @property
    def mode(self) -> Literal["legacy", "contract"]:
        return "contract" if self.network_restricted else "legacy"

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "network": {
                "hosts": [f"{g.host}:{g.port}/{g.transport}" for g in self.hosts],
                "cidrs": [f"{g.cidr}:{g.port or '*'}/{g.transport}" for g in self.cidrs],
            },
            "read": list(self.read_paths),
            "write": list(self.write_paths),
            "env": list(self.env_allow) + [f"{p}*" for p in self.env_prefixes],
            "subprocess": self.allow_subprocess,
            "ffi": self.allow_ffi,
        }


def runtime_policy(
    workflow: Workflow,
    *,
    workflow_dir: str = "/app/workflow",
    secrets_dirs: tuple[str, ...] = ("/app/secrets",),
    extra_read: tuple[str, ...] = (),
) -> RuntimePolicy:
    """Derive the policy. No contract → legacy (network unrestricted); ``{}`` → no egress."""
    read_paths = tuple(dict.fromkeys((workflow_dir, *secrets_dirs, "/tmp", *extra_read)))
    contract = workflow.contract
    if contract is None:
        return RuntimePolicy(
            network_restricted=False,
            read_paths=read_paths,
            notes=("no contract: network access is unrestricted (legacy mode)",),
        )
    hosts: set[HostGrant] = set()
    cidrs: set[CidrGrant] = set()
    for name, dep in contract.dependencies.items():
        if dep.is_dynamic and dep.cidr:
            cidrs.update(CidrGrant(dep.cidr, p.port, p.protocol, name) for p in dep.dyn_ports)
        elif dep.host and dep.effective_port:
            hosts.add(HostGrant(dep.host, dep.effective_port, "TCP", name))
    for index, override in enumerate(contract.additional_egress):
        source = f"networkPolicy.additionalEgress[{index}]"
        if not override.ports:
            cidrs.add(CidrGrant(override.to_cidr, 0, "TCP", source))
            cidrs.add(CidrGrant(override.to_cidr, 0, "UDP", source))
        cidrs.update(CidrGrant(override.to_cidr, p.port, p.protocol, source) for p in override.ports)
    return RuntimePolicy(
        network_restricted=True,
        hosts=tuple(sorted(hosts)),
        cidrs=tuple(sorted(cidrs)),
        read_paths=read_paths,
        allow_ffi=contract.allow_ffi,
    )
