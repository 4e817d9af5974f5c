"""The kernel layer: seccomp-bpf and Landlock applied by the engine to its own process.

Start-up step 4 (``guard.install_for``) calls ``apply_layers`` after secrets are read and
the listener is bound, before any node module is imported and before the audit hooks
(which refuse ctypes). From then on the kernel itself refuses what the contract does not
allow, whatever the Python code does: it holds with the audit hooks defeated, and against
native code calling ``system()`` through a raw function pointer.

- seccomp (the table in ``_seccomp``, installed precomputed by ``_seccomp_filter``): no process
  creation or replacement, no ptrace, no signals to other processes, no raw/packet sockets, no
  namespaces, mounts, keyrings, BPF, io_uring.
- Landlock (``_landlock``): files readable only under the guard's read set plus the
  shared libraries the dynamic loader needs, writable only under /tmp; TCP ``connect``
  only to the ports the contract declares (ABI >= 4; the address check stays with the
  audit hook, the NetworkPolicy and gVisor), ``bind`` only the engine's own port; no
  signals or abstract-socket connections out of the sandbox (ABI >= 6).

Where the kernel lacks a feature (gVisor has no Landlock; other architectures get no
seccomp table) the layer reports itself unavailable; ``status()`` feeds the start-up log
and ``/health?detail=1``. A workflow with non-Python nodes gets the pre-sandbox spawner
(``_spawner``) forked first, under the same Landlock limits.
"""

# Plain os calls on path strings: these run once at start-up on lists of strings.
# ruff: noqa: PTH100, PTH110, PTH208

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterable
from typing import Any, NamedTuple

from tentacular.engine._guard_files import DEVICE_WRITE_PATHS, SYSTEM_READ_PATHS, python_read_paths
from tentacular.engine._landlock import LandlockPlan
from tentacular.spec._policy import HostGrant, RuntimePolicy

# What the dynamic loader and libc read when a node imports a compiled module late.
LOADER_READ_PATHS: tuple[str, ...] = (
    "/lib",
    "/lib64",
    "/usr/lib",
    "/usr/lib64",
    "/usr/local/lib",
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/usr/share/locale",
    "/sys/devices/system/cpu",  # os.cpu_count and friends
)
DNS_TCP_PORT = 53  # resolvers retry truncated answers over TCP


class KernelStatus(NamedTuple):  # not a dataclass: see _landlock
    seccomp: str
    landlock: str

    @property
    def active(self) -> bool:
        return self.seccomp.startswith("active") and self.landlock.startswith("active")

    def to_dict(self) -> dict[str, Any]:
        return {"seccomp": self.seccomp, "landlock": self.landlock}

    def summary(self) -> str:
        return f"kernel layer: seccomp {self.seccomp}; Landlock {self.landlock}"


_status = KernelStatus(seccomp="off (not applied)", landlock="off (not applied)")


def status() -> KernelStatus:
    return _status


def plan_for(
    policy: RuntimePolicy,
    *,
    extra_hosts: Iterable[HostGrant] = (),
    extra_read: Iterable[str] = (),
    listen_port: int | None = None,
    ports_follow_reload: bool = False,
) -> LandlockPlan:
    """The Landlock plan that matches the guard's policy (one source for both layers)."""
    read = (*policy.read_paths, *python_read_paths(), *SYSTEM_READ_PATHS, *LOADER_READ_PATHS, *extra_read)
    read = (*read, sys.prefix, sys.base_prefix, sys.exec_prefix)
    write = (*policy.write_paths, tempfile.gettempdir(), *DEVICE_WRITE_PATHS)
    hosts = (*policy.hosts, *extra_hosts)
    connect: tuple[int, ...] | None
    every_port = any(g.port == 0 and g.transport == "TCP" for g in policy.cidrs)
    if ports_follow_reload or not policy.network_restricted or every_port:
        # hot reload, legacy mode, or a CIDR open on every port: the guard alone checks TCP ports
        connect = None
    else:
        ports = {g.port for g in hosts if g.transport == "TCP"}
        ports |= {g.port for g in policy.cidrs if g.transport == "TCP"}
        connect = tuple(sorted(ports | {DNS_TCP_PORT}))
    bind = (listen_port,) if listen_port else ()
    return LandlockPlan(read=_existing(read), write=_existing(write), connect_ports=connect, bind_ports=bind)


def _existing(paths: Iterable[str]) -> tuple[str, ...]:
    return tuple(p for p in dict.fromkeys(os.path.abspath(p) for p in paths if p) if os.path.exists(p))


def _thread_count() -> int:
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return 1


def confine_files(
    plan: LandlockPlan, worker_paths: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())
) -> None:
    """The spawner's limits: the engine's file and port rules, plus executing what it may read."""
    from tentacular.engine import _landlock

    # The Deno worker also reads /proc/self (stack bounds at start) and its module cache;
    # Deno's own --allow-read keeps node code out of both.
    worker_read, worker_write = worker_paths
    _landlock.restrict_self(
        LandlockPlan(
            read=(),
            write=_existing((*plan.write, *worker_write)),
            execute=_existing((*plan.read, *worker_read)),
            connect_ports=plan.connect_ports,
            bind_ports=(),
        )
    )


def apply_layers(plan: LandlockPlan, *, with_spawner: bool = False) -> KernelStatus:
    """Fork the spawner if asked, then apply Landlock and seccomp to this process; irreversible."""
    global _status
    from tentacular.engine import _landlock, _seccomp_filter

    if with_spawner:  # imported only here: a Python-only workflow need not load it at start
        from tentacular.engine import _spawner
        from tentacular.engine._deno.runtime import worker_landlock_paths

        worker_paths = worker_landlock_paths()  # resolved here: the guard scrubs DENO_DIR later
        _spawner.start_spawner(lambda: confine_files(plan, worker_paths))
    threads = _thread_count()
    _seccomp_filter.supported()  # reads /proc, which Landlock closes
    try:
        landlocked = _landlock.restrict_self(plan)
        if landlocked is None:
            landlock = "unavailable (the kernel offers no Landlock; under gVisor, gVisor is the boundary)"
        elif threads > 1:
            landlock = f"partial ({landlocked.describe()}; {threads - 1} thread(s) started before it are not)"
        else:
            landlock = f"active ({landlocked.describe()})"
    except OSError as exc:
        landlock = f"unavailable ({exc.strerror or exc})"
    try:
        filtered = _seccomp_filter.apply()
        seccomp = f"active ({filtered.describe()})"
    except OSError as exc:
        seccomp = f"unavailable ({exc.strerror or exc})"
    _status = KernelStatus(seccomp=seccomp, landlock=landlock)
    return _status  # the guard forgets ctypes again when it installs (a node's import is refused)


def mark_disabled(reason: str) -> None:
    global _status
    _status = KernelStatus(seccomp=f"off ({reason})", landlock=f"off ({reason})")
