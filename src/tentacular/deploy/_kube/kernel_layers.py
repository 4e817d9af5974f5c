"""Which kernel layers (issue 11: seccomp-bpf, Landlock) a cluster's pods will get, for `tntc cluster check`.

The engine applies the layers to itself at start and reports what holds (its start-up log,
``GET /health?detail=1``). Before a deploy, the cluster can only be read: the RuntimeClass
the pods use and each node's kernel version and architecture. From those this predicts:

- under gVisor (the RuntimeClass exists): gVisor's own kernel serves every system call and
  is the boundary; it implements seccomp-bpf filters, not Landlock, so the engine will report
  ``landlock: unavailable``;
- on a node's own kernel: seccomp-bpf on x86-64 (the engine's filter is written for it;
  other architectures report it unavailable), and the Landlock ABI the kernel version
  introduced (5.13: files … 6.7: TCP ports … 6.12: signal and abstract-socket scope), if the
  kernel enables the Landlock LSM — which the API does not show, so the engine's own report
  stays the proof.

Reading nodes and RuntimeClasses is cluster-scoped: without the right it is a warning, never
a failure.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from typing import Any

from tentacular.deploy._kube.checks import Check
from tentacular.deploy._kube.client import NODE, RUNTIME_CLASS, KubeClient
from tentacular.deploy._kube.live import Unread
from tentacular.errors import ClusterError

# (kernel version, Landlock ABI it introduced, what that ABI adds)
_LANDLOCK_ABI = (
    ((5, 13), 1, "files"),
    ((5, 19), 2, "file renames across directories"),
    ((6, 2), 3, "truncation"),
    ((6, 7), 4, "TCP ports"),
    ((6, 10), 5, "device ioctl"),
    ((6, 12), 6, "signal and abstract-socket scope"),
    ((6, 15), 7, "audit logging"),
)
_VERSION = re.compile(r"^(\d+)\.(\d+)")
_SECCOMP_ARCHES = frozenset({"amd64", "x86_64"})


def landlock_abi(kernel_version: str) -> int:
    """The Landlock ABI a kernel version offers (0 before 5.13 or when unparseable)."""
    match = _VERSION.match(kernel_version.strip())
    if match is None:
        return 0
    version = (int(match.group(1)), int(match.group(2)))
    return max((abi for since, abi, _ in _LANDLOCK_ABI if version >= since), default=0)


def node_layers(node: Mapping[str, Any]) -> str:
    """What the engine will report on this node without gVisor, e.g.
    ``seccomp, Landlock ABI 6 (files, TCP ports, scopes)``."""
    info = node.get("status", {}).get("nodeInfo", {}) or {}
    arch = str(info.get("architecture", "unknown"))
    kernel = str(info.get("kernelVersion", ""))
    seccomp = "seccomp" if arch in _SECCOMP_ARCHES else f"no seccomp ({arch}: the filter is x86-64 only)"
    abi = landlock_abi(kernel)
    if abi == 0:
        landlock = f"no Landlock (kernel {kernel or 'unknown'} is older than 5.13)"
    else:
        parts = ["files"] + (["TCP ports"] if abi >= 4 else []) + (["scopes"] if abi >= 6 else [])
        landlock = f"Landlock ABI {abi} ({', '.join(parts)}) if the kernel enables it"
    return f"{seccomp}, {landlock}"


def check_kernel_layers(
    client: KubeClient,
    runtime_class: str | None,
    *,
    runtime_class_verified: bool = False,
    known: Mapping[str, Any] | Unread | None = None,
) -> Check:
    """Summarise the layers pods will get; gaps are warnings (the pod's other layers still hold).

    ``runtime_class_verified``: the preflight proved the RuntimeClass exists (a dry-run pod, for
    deployers who cannot read RuntimeClasses), so gVisor is the boundary even when unreadable here."""
    if runtime_class:
        # ``known``: the RuntimeClass as the preflight already read it (UNREAD: it may not).
        unreadable: Mapping[str, Any] | None = (
            {"handler": "not readable with these credentials"} if runtime_class_verified else None
        )
        found: Mapping[str, Any] | None
        try:
            if isinstance(known, Unread):
                found = unreadable
            else:
                found = known if known is not None else client.get(RUNTIME_CLASS, runtime_class)
        except ClusterError:
            found = unreadable
        if found is not None:
            handler = found.get("handler", "?")
            return Check(
                f"Kernel layers: gVisor (RuntimeClass {runtime_class}, handler {handler}) is the boundary; "
                "seccomp-bpf inside it, Landlock unavailable under gVisor",
                True,
            )
    try:
        nodes = client.list(NODE, None)
    except ClusterError as error:
        return Check(
            "Kernel layers",
            True,
            warning=f"cannot read nodes ({error.message}); after deploying, GET /health?detail=1 "
            "on a pod reports the layers it has",
        )
    if not nodes:
        return Check("Kernel layers", True, warning="no nodes found; nothing to predict")
    summary = Counter(node_layers(node) for node in nodes)
    shown = "; ".join(f"{count} node(s): {layers}" for layers, count in sorted(summary.items()))
    weak = [layers for layers in summary if "no seccomp" in layers or "no Landlock" in layers]
    warning = None
    if weak:
        warning = (
            "some nodes lack a kernel layer (the guard, securityContext and NetworkPolicy still hold); "
            "use gVisor or a Linux >= 6.12 x86-64 node pool for every layer"
        )
    elif not any("TCP ports" in layers for layers in summary):
        warning = "no node's kernel has Landlock TCP rules (>= 6.7): ports are left to the guard and policy"
    return Check(f"Kernel layers (no gVisor): {shown}", True, warning=warning)
