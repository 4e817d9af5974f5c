"""The runtime permission guard for Python nodes (D4, security layer 2).

Installed once per process by engine start-up, after secrets are resolved and the
listener and HTTP client exist, before any node module is imported. It is a CPython
audit hook (``sys.addaudithook``), so it cannot be removed again, and it sees every
resolution, connection, file open, process start and native-library load of the
process, the engine's own included — which is why everything the engine needs is
on the allow-lists too. Decisions live in ``guard_network`` and ``guard_files``.

This is a guard rail against undeclared access and compromised dependencies, not a
sandbox: Python code determined to escape can (docs/security.md). The hard
boundaries are gVisor, the NetworkPolicy and the pod securityContext.
"""

# Path strings inside the audit hook, see guard_files.
# ruff: noqa: PTH117, PTH118

from __future__ import annotations

import contextlib
import functools
import importlib.util
import os
import sys
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from tentacular.engine import _hardening
from tentacular.engine._guard_files import FileRules, fd_path, python_read_paths
from tentacular.engine._guard_network import NetworkRules, listener_grants
from tentacular.engine._secrets import CLUSTER_SECRETS_DIR
from tentacular.errors import GuardViolation, TentacularError
from tentacular.spec._behaviour import needs_nats
from tentacular.spec._policy import HostGrant, RuntimePolicy, runtime_policy

if TYPE_CHECKING:
    from tentacular.engine._kernel import KernelStatus
    from tentacular.engine._logs import LogSink
    from tentacular.engine._startup import GuardInstaller, PreparedEngine
    from tentacular.spec._model import Workflow

NO_GUARD_WARNING = (
    "runtime permission guard disabled (--no-guard): nodes may reach any host, read and write any "
    "file, run programs and load native code — use this for local debugging only"
)
LEGACY_WARNING = (
    "no contract in workflow.yaml: nodes may reach any host (legacy mode) — add a contract with "
    "dependencies to restrict egress; files, processes and native code stay guarded"
)

Reporter = Callable[[str, str], None]
Handler = Callable[[tuple[Any, ...]], None]
# Refusals raised while the import system probes paths are expected and handled there.
_IMPORT_MACHINERY = frozenset({"importlib._bootstrap", "importlib._bootstrap_external"})
_FORK_EVENTS = ("os.fork", "os.forkpty")
_PROCESS_EVENTS = ("subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.startfile")

_active: RuntimeGuard | None = None


class RuntimeGuard:
    """One process's guard: the policy turned into rules, and the audit hook enforcing them."""

    def __init__(
        self,
        policy: RuntimePolicy,
        *,
        extra_hosts: Iterable[HostGrant] = (),
        extra_read: Iterable[str] = (),
        report: Reporter | None = None,
        node_dirs: Iterable[str] = (),
        listen_ports: Iterable[int] = (),
    ) -> None:
        self._node_dirs = tuple(node_dirs)
        self._listen_ports = tuple(listen_ports)
        self._extra_hosts = tuple(extra_hosts)
        self._extra_read = tuple(extra_read)
        self._report = report
        self.installed = False
        self.policy = policy
        self.network = NetworkRules(policy, extra_hosts=self._extra_hosts)
        self.files = FileRules(
            (*policy.read_paths, *python_read_paths(), *self._extra_read), policy.write_paths
        )
        self._handlers = self._build_handlers()

    # --- life cycle ------------------------------------------------------------------

    def install(self) -> None:
        """Scrub the environment and start enforcing; irreversible for this process."""
        global _active
        if _active is not None:
            raise TentacularError("the runtime permission guard is already installed in this process")
        removed = scrub_environment(self.policy.env_allow, self.policy.env_prefixes)
        if not self.policy.allow_ffi:
            _refuse_cffi_loading(self._say)
        _refuse_direct_fork_exec(self._say)
        _record_resolutions(self)
        _hardening.install_wrappers(self, node_dirs=self._node_dirs)
        if not self.policy.allow_ffi:
            _forget_modules(_hardening.FFI_MODULES)  # a node's import must reach the hook
        sys.addaudithook(self._hook)
        _active = self
        self.installed = True
        network = "as declared in the contract" if self.policy.network_restricted else "unrestricted"
        self._say(
            "info",
            f"runtime permission guard installed (network: {network}); {removed} "
            "environment variable(s) outside the allow-list removed",
        )
        if not self.policy.network_restricted:
            self._say("warning", LEGACY_WARNING)

    def update_policy(self, policy: RuntimePolicy) -> None:
        """Switch to a reloaded contract (``tntc dev``); the listener grants stay."""
        legacy_before = not self.policy.network_restricted
        self.policy = policy
        self.network = NetworkRules(policy, extra_hosts=self._extra_hosts)
        self.files = FileRules(
            (*policy.read_paths, *python_read_paths(), *self._extra_read), policy.write_paths
        )
        self._handlers = self._build_handlers()
        if not policy.network_restricted and not legacy_before:
            self._say("warning", LEGACY_WARNING)

    # --- the hook --------------------------------------------------------------------

    def _hook(self, event: str, args: tuple[Any, ...]) -> None:
        handler = self._handlers.get(event)
        if handler is None:
            return
        try:
            args = _hardening.plain(args)  # judge str/int subclasses by what the C code will use
            if event == "open":
                _hardening.check_path_object(args[0])
            handler(args)
        except GuardViolation as violation:
            if sys._getframe(1).f_globals.get("__name__") not in _IMPORT_MACHINERY:
                self._say("error", str(violation))
            raise

    def _say(self, level: str, message: str) -> None:
        if self._report is not None:
            # A broken log stream must not turn a refusal into a different error.
            with contextlib.suppress(Exception):
                self._report(level, message)

    def _build_handlers(self) -> dict[str, Handler]:
        files = self.files
        handlers: dict[str, Handler] = {
            "open": lambda a: files.check_open(a[0], a[1], a[2]),
            "os.listdir": lambda a: files.check_read(a[0], "listing"),
            "os.scandir": lambda a: files.check_read(a[0], "listing"),
            "os.remove": lambda a: files.check_write(_at(a[0], a[1]), "deleting"),
            "os.rmdir": lambda a: files.check_write(_at(a[0], a[1]), "deleting"),
            "shutil.rmtree": lambda a: files.check_write(_at(a[0], a[1]), "deleting"),
            "os.mkdir": lambda a: files.check_write(_at(a[0], a[2]), "creating"),
            "os.symlink": lambda a: files.check_write(_at(a[1], a[2]), "creating"),
            "os.rename": _both_writable(files, "moving"),
            # A hard link would make a file readable through /tmp, so its source must be writable too.
            "os.link": _both_writable(files, "linking"),
            "os.truncate": lambda a: files.check_write(a[0], "truncating"),
        }
        for event in ("os.chmod", "os.lchmod", "os.chown", "os.utime", "os.chflags", "os.lchflags"):
            handlers[event] = _changing(files, event)
        for event in ("os.setxattr", "os.removexattr"):
            handlers[event] = _changing(files, event)
        for event in _PROCESS_EVENTS:
            handlers[event] = _refuse_process(event)
        for event in _FORK_EVENTS:
            handlers[event] = _refuse_process(event)
        if not self.policy.allow_ffi:  # contract.allowFFI: native code is the workflow's choice
            handlers["ctypes.dlopen"] = _check_dlopen
            handlers["ctypes.dlsym"] = _refuse_symbol
            handlers["ctypes.dlsym/handle"] = _refuse_symbol
            handlers["ctypes.cdata"] = _refuse_raw_memory
        handlers.update(_hardening.handlers(self, listen_ports=self._listen_ports))
        if self.policy.network_restricted:
            network = self.network
            handlers.update(
                {
                    "socket.getaddrinfo": lambda a: network.check_resolve(a[0], a[1], a[3]),
                    "socket.gethostbyname": lambda a: network.check_resolve(a[0]),
                    "socket.gethostbyname_ex": lambda a: network.check_resolve(a[0]),
                    "socket.gethostbyaddr": lambda a: network.check_reverse(a[0]),
                    "socket.getnameinfo": lambda a: network.check_reverse(a[0][0]),
                    "socket.connect": lambda a: network.check_connect(a[0].family, a[0].type, a[1]),
                    "socket.sendto": lambda a: network.check_connect(
                        a[0].family, a[0].type, a[1], datagram=True
                    ),
                    "socket.sendmsg": lambda a: network.check_connect(
                        a[0].family, a[0].type, a[1], datagram=True
                    ),
                }
            )
        return handlers


def _forget_modules(names: Iterable[str]) -> None:
    for name in [n for n in sys.modules if n.partition(".")[0] in names]:
        del sys.modules[name]


def _at(path: Any, dir_fd: Any) -> Any:
    """``path`` as seen from ``dir_fd`` (rmtree and friends work relative to descriptors)."""
    if isinstance(dir_fd, int) and dir_fd >= 0 and isinstance(path, str | bytes) and not os.path.isabs(path):
        base = fd_path(dir_fd)
        if base is not None:
            return os.path.join(base, os.fsdecode(path))
    return path


def _both_writable(files: FileRules, action: str) -> Handler:
    def check(args: tuple[Any, ...]) -> None:
        files.check_write(_at(args[0], args[2]), action)
        files.check_write(_at(args[1], args[3]), action)

    return check


def _changing(files: FileRules, event: str) -> Handler:
    action = f"changing ({event})"
    return lambda args: files.check_write(args[0], action)


def _refuse_process(event: str) -> Handler:
    def refuse(args: tuple[Any, ...]) -> None:
        if event in _FORK_EVENTS:
            what = event
        elif event == "subprocess.Popen":
            what = f"{event}: {_short(args[1])}"
        elif event == "os.system":
            what = f"{event}: {_short(os.fsdecode(args[0]))}"
        else:
            what = f"{event}: {_short(args[1] if len(args) > 1 else args)}"
        raise GuardViolation(
            f"starting a process ({what}) refused: nodes may not run programs or fork — no contract "
            "entry allows it; use a Python library, or call a service declared in contract.dependencies"
        )

    return refuse


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def _native_refusal(what: str) -> GuardViolation:
    return GuardViolation(
        f"{what} refused: nodes may not load or call native code through FFI — set "
        "contract.allowFFI: true to allow it, or use a Python package with compiled extensions"
    )


def _check_dlopen(args: tuple[Any, ...]) -> None:
    # ctypes opens the main program (name None) when it is imported; symbols from it are refused.
    if args[0] is not None:
        raise _native_refusal(f"loading native library {args[0]!r} (ctypes)")


def _refuse_symbol(args: tuple[Any, ...]) -> None:
    raise _native_refusal(f"resolving native symbol {args[1]!r} (ctypes)")


def _refuse_raw_memory(args: tuple[Any, ...]) -> None:
    raise _native_refusal("reading raw memory (ctypes from_address)")


def _refuse_cffi_loading(say: Reporter) -> None:
    """cffi's ABI mode raises no audit event, so its library loader is replaced instead."""
    if importlib.util.find_spec("_cffi_backend") is None:
        return
    backend = importlib.import_module("_cffi_backend")

    def load_library(name: Any = None, *_args: Any, **_kwargs: Any) -> Any:
        refusal = _native_refusal(f"loading native library {name!r} (cffi)")
        say("error", str(refusal))
        raise refusal

    setattr(backend, "load_library", load_library)  # noqa: B010  (mypy cannot see module attributes)


def _refuse_direct_fork_exec(say: Reporter) -> None:
    """multiprocessing's spawn/forkserver start processes through ``_posixsubprocess.fork_exec``
    directly, which raises no audit event; callers look it up at call time, so it is replaced."""
    if importlib.util.find_spec("_posixsubprocess") is None:
        return
    module = importlib.import_module("_posixsubprocess")

    def fork_exec(*args: Any, **_kwargs: Any) -> Any:
        program = args[0] if args else None
        refusal = GuardViolation(
            f"starting a process (_posixsubprocess.fork_exec: {_short(program)}) refused: nodes may not "
            "run programs or fork — no contract entry allows it; use a Python library, or call a "
            "service declared in contract.dependencies"
        )
        say("error", str(refusal))
        raise refusal

    setattr(module, "fork_exec", fork_exec)  # noqa: B010


def _record_resolutions(guard: RuntimeGuard) -> None:
    """Wrap the resolver functions so the addresses of declared hosts become connectable.

    The audit event of a lookup fires before it runs, so the results are taken here;
    a resolver bypassing these functions gets its lookups checked but not recorded,
    and connections to what it found are refused (fail closed).
    """
    import _socket
    import socket

    # The C functions themselves: socket.getaddrinfo looks up _socket.getaddrinfo at call time,
    # so a node replacing that could make any address look like a declared host's.
    c_getaddrinfo, to_enum = _socket.getaddrinfo, socket._intenum_converter  # type: ignore[attr-defined]
    family_enum, kind_enum = socket.AddressFamily, socket.SocketKind
    gethostbyname, gethostbyname_ex = _socket.gethostbyname, _socket.gethostbyname_ex

    def getaddrinfo(host: Any, port: Any, family: int, type: int, proto: int, flags: int) -> Any:
        return [
            (to_enum(af, family_enum), to_enum(kind, kind_enum), number, canonical, address)
            for af, kind, number, canonical, address in c_getaddrinfo(host, port, family, type, proto, flags)
        ]

    @functools.wraps(socket.getaddrinfo)
    def recorded_getaddrinfo(
        host: Any, port: Any, family: int = 0, type: int = 0, proto: int = 0, flags: int = 0
    ) -> Any:
        infos = getaddrinfo(host, port, family, type, proto, flags)
        addresses = [info[4][0] for info in infos]
        guard.network.remember(host, addresses)
        guard.network.check_resolved(host, port, type, addresses)
        return infos

    @functools.wraps(gethostbyname)
    def recorded_gethostbyname(host: str) -> str:
        address = gethostbyname(host)
        guard.network.remember(host, (address,))
        return address

    @functools.wraps(gethostbyname_ex)
    def recorded_gethostbyname_ex(host: str) -> tuple[str, list[str], list[str]]:
        result = gethostbyname_ex(host)
        guard.network.remember(host, result[2])
        return result

    socket.getaddrinfo = recorded_getaddrinfo
    socket.gethostbyname = recorded_gethostbyname
    socket.gethostbyname_ex = recorded_gethostbyname_ex


def scrub_environment(allow: Iterable[str], prefixes: Iterable[str]) -> int:
    """Remove every variable outside the allow-list; returns how many went."""
    keep, starts = frozenset(allow), tuple(prefixes)
    removed = [name for name in os.environ if name not in keep and not name.startswith(starts)]
    for name in removed:
        del os.environ[name]
    return len(removed)


# --- engine integration --------------------------------------------------------------------


def active_guard() -> RuntimeGuard | None:
    return _active


def policy_for(workflow: Workflow, workflow_dir: str) -> RuntimePolicy:
    return runtime_policy(workflow, workflow_dir=workflow_dir, secrets_dirs=(str(CLUSTER_SECRETS_DIR),))


def install_for(prepared: PreparedEngine, *, hot_reload: bool = False) -> RuntimeGuard:
    """Start-up step 4: derive the policy from the loaded contract and install the guard."""
    directory = str(prepared.workflow_dir.resolve())
    extra_hosts: list[HostGrant] = []
    if prepared.listener is not None:
        host, port = prepared.listener.getsockname()[:2]
        extra_hosts = listener_grants(str(host), int(port))
    extra_hosts.extend(prepared.services.telemetry.collector_grants())  # the OTLP exporter's threads
    if needs_nats(prepared.loaded.workflow):  # the NATS modules load only for a workflow that uses it
        from tentacular.engine._triggers._settings import nats_grants, preload_signer

        extra_hosts += nats_grants(prepared.loaded.workflow)  # queue triggers: the engine's own NATS link
        preload_signer(prepared.loaded.workflow, prepared.services.secrets)  # NKEY/creds: native code
    log = prepared.services.log
    policy = policy_for(prepared.loaded.workflow, directory)
    guard = RuntimeGuard(
        policy,
        extra_hosts=extra_hosts,
        report=lambda level, message: log.engine(level, message),
        node_dirs=(os.path.join(directory, "nodes"),),
        listen_ports=(int(prepared.listener.getsockname()[1]),) if prepared.listener is not None else (),
    )
    # The kernel layer first: it needs ctypes, which the audit hooks refuse (docs/security.md).
    kernel = apply_kernel_layer(prepared, policy, extra_hosts, hot_reload=hot_reload)
    guard.install()
    log.engine("info" if kernel.active else "warning", kernel.summary())
    return guard


def apply_kernel_layer(
    prepared: PreparedEngine, policy: RuntimePolicy, extra_hosts: Iterable[HostGrant], *, hot_reload: bool
) -> KernelStatus:
    from tentacular.engine import _kernel

    port = int(prepared.listener.getsockname()[1]) if prepared.listener is not None else None
    plan = _kernel.plan_for(policy, extra_hosts=extra_hosts, listen_port=port, ports_follow_reload=hot_reload)
    workers_needed = any(not spec.path.endswith(".py") for spec in prepared.loaded.workflow.nodes.values())
    workers_needed = workers_needed or hot_reload  # tntc dev: a .ts node may be added later (Deno)
    return _kernel.apply_layers(plan, with_spawner=workers_needed)


def layers_report() -> dict[str, str]:
    """Which security layers hold in this process (``/health?detail=1``, the start-up log)."""
    from tentacular.engine import _kernel

    hooks = "active" if _active is not None else "off"
    return {"auditHooks": hooks, **_kernel.status().to_dict()}


def confine_process(workflow: Workflow, workflow_dir: str, *, report: Reporter | None = None) -> KernelStatus:
    """Put this process under the workflow's kernel layer and guard, for good (``tntc test``'s child)."""
    from tentacular.engine import _kernel

    policy = policy_for(workflow, workflow_dir)
    workers_needed = any(not spec.path.endswith(".py") for spec in workflow.nodes.values())  # Deno
    status = _kernel.apply_layers(_kernel.plan_for(policy), with_spawner=workers_needed)
    RuntimeGuard(policy, report=report, node_dirs=(os.path.join(workflow_dir, "nodes"),)).install()
    return status


def guard_for(*, enabled: bool, log: LogSink, hot_reload: bool = False) -> GuardInstaller | None:
    """The installer ``startup.boot`` takes, or None (with the warning) under ``--no-guard``.

    ``hot_reload``: the contract may change while the process lives (``--watch``, ``tntc dev``),
    so the kernel layer leaves TCP ports to the guard, which follows the reloaded contract.
    """
    if enabled:

        def install(prepared: PreparedEngine) -> None:
            install_for(prepared, hot_reload=hot_reload)

        return install
    log.engine("warning", NO_GUARD_WARNING)
    from tentacular.engine._kernel import mark_disabled

    mark_disabled("--no-guard")
    return None


def follow_reload(workflow: Workflow, workflow_dir: str) -> None:
    """Hot reload: the guard follows the new contract; nothing happens without a guard."""
    guard = _active
    if guard is not None:
        guard.update_policy(policy_for(workflow, workflow_dir))


__all__ = [
    "LEGACY_WARNING",
    "NO_GUARD_WARNING",
    "RuntimeGuard",
    "active_guard",
    "confine_process",
    "follow_reload",
    "guard_for",
    "install_for",
    "layers_report",
    "scrub_environment",
]
