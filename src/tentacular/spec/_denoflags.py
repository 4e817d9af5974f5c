"""Deno permission flags for TypeScript nodes, derived from the runtime policy (F-038…F-040).

The original derivation (INVENTORY §2.6.7) with D4's stricter reading of an empty
contract: declared ``host:port`` pairs only; ``--allow-net`` without a list only for
a ``dynamic-target`` dependency or in legacy mode (no contract); a contract without
dependencies grants no network at all. Reads: the workflow directory, secrets and
``/tmp``; writes: ``/tmp``; the environment: the guard's allow-list. Never
``--allow-run``, ``--allow-ffi`` or ``--allow-sys``, and ``--no-prompt`` always.
"""

from __future__ import annotations

from tentacular.spec._policy import RuntimePolicy

ADDITIONAL_EGRESS = "networkPolicy.additionalEgress"


def net_grants(policy: RuntimePolicy) -> tuple[str, ...] | None:
    """``host:port`` pairs Deno may connect to; None means unrestricted."""
    if not policy.network_restricted:
        return None
    if any(not grant.dependency.startswith(ADDITIONAL_EGRESS) for grant in policy.cidrs):
        return None  # dynamic-target: the NetworkPolicy and gVisor bound it, not Deno
    pairs = {f"{grant.host}:{grant.port}" for grant in policy.hosts}
    pairs.update(_single_addresses(policy))
    return tuple(sorted(pairs))


def _single_addresses(policy: RuntimePolicy) -> set[str]:
    """additionalEgress entries that name one address; Deno cannot express a range."""
    if not policy.cidrs:
        return set()
    import ipaddress  # only needed here; keeps the spec layer's imports light

    found: set[str] = set()
    for grant in policy.cidrs:
        network = ipaddress.ip_network(grant.cidr, strict=False)
        if network.num_addresses == 1:
            address = str(network.network_address)
            shown = f"[{address}]" if network.version == 6 else address
            found.add(f"{shown}:{grant.port}" if grant.port else shown)
    return found


def deno_permission_flags(policy: RuntimePolicy, *, extra_read: tuple[str, ...] = ()) -> tuple[str, ...]:
    flags = ["--no-prompt"]
    grants = net_grants(policy)
    if grants is None:
        flags.append("--allow-net")
    elif grants:
        flags.append("--allow-net=" + ",".join(grants))
    reads = tuple(dict.fromkeys((*policy.read_paths, *extra_read)))
    if reads:
        flags.append("--allow-read=" + ",".join(reads))
    if policy.write_paths:
        flags.append("--allow-write=" + ",".join(policy.write_paths))
    env = (*policy.env_allow, *(f"{prefix}*" for prefix in policy.env_prefixes))
    if env:
        flags.append("--allow-env=" + ",".join(env))
    return tuple(flags)
