"""Audit-hook hardening against the bypass classes a tester found (issue 11, Build 2).

Each rule here closes one class; where the kernel layer is active most are moot (it
refuses the system call whatever Python does), but the hook stays correct on kernels
without it and gives the clear refusal message:

- native code: importing ``ctypes``/``_ctypes``/``cffi``/``_cffi_backend`` is refused unless
  the contract opts in (``contract.allowFFI`` → ``RuntimePolicy.allow_ffi``), and so is
  every foreign call, raw-memory read and pointer-to-object conversion
  (``ctypes.call_function`` …): a function pointer to ``system()``, however obtained,
  cannot be called; extension modules load only from the interpreter's and the
  installed packages' directories, never from writable ones;
- process primitives: re-importing ``_posixsubprocess`` (which would restore the original
  ``fork_exec``) is refused; node code may not change or block the handlers of SIGTERM/SIGINT;
- paths: ``dir_fd``-relative ``os.open`` is judged from the directory the descriptor names,
  ``sqlite3.connect`` is a write of its database file, ``os.mkfifo``/``os.mknod`` are writes;
- look-alike values: ``str``/``bytes``/``int`` subclasses are judged by their real content,
  and path objects other than the standard ones (whose ``__fspath__`` could answer the check
  and the system call differently) are refused;
- the guard's own state: ``gc.get_objects``/``get_referrers``/``get_referents`` are refused;
- listening: binding a TCP socket is refused except on the engine's own port, UDP only to an
  ephemeral port, Unix sockets only under the writable directories.

What remains (docs/security.md): code holding ``_signal`` or ``posix`` functions, or walking
``sys.modules`` to the guard object, can still change Python-level state; the kernel layer
is the boundary that holds regardless.
"""

# Path strings inside the audit hook, as in guard_files.
# ruff: noqa: PTH112, PTH117, PTH118

from __future__ import annotations

import os
import pathlib
import signal
import socket
import sys
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from tentacular.engine._guard_files import fd_path
from tentacular.errors import GuardViolation

if TYPE_CHECKING:
    from tentacular.engine._guard import RuntimeGuard

Handler = Callable[[tuple[Any, ...]], None]

FFI_MODULES = frozenset({"ctypes", "_ctypes", "cffi", "_cffi_backend"})
_NATIVE_EVENTS = (
    "ctypes.call_function",
    "ctypes.string_at",
    "ctypes.wstring_at",
    "ctypes.cdata/buffer",
    "ctypes.PyObj_FromPtr",
)
_GC_EVENTS = ("gc.get_objects", "gc.get_referrers", "gc.get_referents")
_GUARDED_SIGNALS = frozenset({signal.SIGTERM, signal.SIGINT})
_STANDARD_PATHS = (pathlib.PurePosixPath, pathlib.PosixPath, pathlib.PurePath, pathlib.Path)


# --- look-alike values -------------------------------------------------------------------


def plain(value: Any) -> Any:
    """``value`` as the C code will see it: subclasses of str/bytes/int and tuples unwrapped."""
    kind = type(value)
    if kind is str or kind is bytes or kind is int or value is None or kind is bool:
        return value
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, bytes):
        return b"".join((value,))
    if isinstance(value, int):
        return int.__index__(value)
    if isinstance(value, tuple):
        return tuple(plain(item) for item in value)
    return value


def check_path_object(value: Any) -> None:
    """Refuse path objects whose ``__fspath__`` could differ between the check and the call."""
    if isinstance(value, str | bytes | int) or value is None or type(value) in _STANDARD_PATHS:
        return
    if isinstance(value, os.PathLike) and type(value).__module__ not in ("pathlib", "posix", "os"):
        raise GuardViolation(
            f"opening a path given as {type(value).__name__} refused: only str, bytes and pathlib "
            "paths are accepted — pass str(path)"
        )


# --- handlers for audit events ---------------------------------------------------------


def _native(what: str) -> GuardViolation:
    return GuardViolation(
        f"{what} refused: nodes may not load or call native code through FFI — set "
        "contract.allowFFI: true to allow it, or use a Python package with compiled extensions"
    )


def handlers(guard: RuntimeGuard, *, listen_ports: Iterable[int]) -> dict[str, Handler]:
    files = guard.files
    ports = frozenset(listen_ports)
    ffi_allowed = guard.policy.allow_ffi

    def on_import(args: tuple[Any, ...]) -> None:
        name = args[0]
        if not ffi_allowed and name in FFI_MODULES:
            raise _native(f"importing {name}")
        if name == "_posixsubprocess":
            raise GuardViolation(
                "re-importing _posixsubprocess refused: nodes may not run programs or fork — use a "
                "Python library, or call a service declared in contract.dependencies"
            )

    def on_native(event: str) -> Handler:
        def refuse(_args: tuple[Any, ...]) -> None:
            raise _native(f"native call or raw memory access ({event})")

        return refuse

    def on_gc(event: str) -> Handler:
        def refuse(_args: tuple[Any, ...]) -> None:
            raise GuardViolation(
                f"{event} refused: walking the interpreter's objects could reach the guard's own state"
            )

        return refuse

    def on_sqlite(args: tuple[Any, ...]) -> None:
        database = args[0]
        if isinstance(database, bytes):
            database = os.fsdecode(database)
        if not isinstance(database, str) and isinstance(database, os.PathLike):
            check_path_object(database)
            database = os.fspath(database)
        if isinstance(database, str) and database not in ("", ":memory:") and "mode=memory" not in database:
            path = database[5:].partition("?")[0] if database.startswith("file:") else database
            if path and path != ":memory:":
                files.check_write(path, "opening the SQLite database")

    def on_bind(args: tuple[Any, ...]) -> None:
        sock, address = args[0], args[1]
        family = sock.family
        if family == getattr(socket, "AF_UNIX", None):
            path = os.fsdecode(address) if isinstance(address, str | bytes) else ""
            if not path or path.startswith("\0"):
                raise GuardViolation("binding an abstract Unix socket refused: nodes may not listen")
            files.check_write(path, "creating the socket")
            return
        port = int(address[1]) if isinstance(address, tuple) and len(address) > 1 else 0
        if sock.type == socket.SOCK_STREAM and port not in ports:
            raise GuardViolation(
                f"binding TCP port {port} refused: nodes may not listen; the engine's own listener "
                "serves the workflow (webhook triggers reach it)"
            )
        if sock.type != socket.SOCK_STREAM and port != 0:
            raise GuardViolation(f"binding UDP port {port} refused: nodes may not listen")

    table: dict[str, Handler] = {"import": on_import, "sqlite3.connect": on_sqlite, "socket.bind": on_bind}
    for event in _NATIVE_EVENTS:
        if not ffi_allowed:
            table[event] = on_native(event)
    for event in _GC_EVENTS:
        table[event] = on_gc(event)
    return table


# --- functions replaced because they raise no (useful) audit event -------------------------


def install_wrappers(guard: RuntimeGuard, *, node_dirs: Iterable[str]) -> None:
    dirs = tuple(d.rstrip(os.sep) + os.sep for d in node_dirs)
    _wrap_dir_fd_open(guard)
    _wrap_fifo_and_node(guard)
    _wrap_signals(dirs)
    _wrap_process_exit(dirs)
    _restrict_extension_origins(guard)


def _wrap_dir_fd_open(guard: RuntimeGuard) -> None:
    original = os.open

    def open_checked(path: Any, flags: int, mode: int = 0o777, *, dir_fd: int | None = None) -> int:
        path = plain(path)
        check_path_object(path)
        if dir_fd is not None and isinstance(path, str | bytes) and not os.path.isabs(path):
            base = fd_path(dir_fd)
            if base is None:
                raise GuardViolation("opening a path relative to an unknown descriptor refused")
            joined = os.path.join(base, os.fsdecode(path))
            if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND):
                guard.files.check_write(joined)
            else:
                guard.files.check_read(joined)
        return original(path, flags, mode, dir_fd=dir_fd)

    os.open = open_checked


def _wrap_fifo_and_node(guard: RuntimeGuard) -> None:
    mkfifo, mknod = os.mkfifo, os.mknod

    def mkfifo_checked(path: Any, mode: int = 0o666, *, dir_fd: int | None = None) -> None:
        guard.files.check_write(_joined(path, dir_fd), "creating the FIFO")
        mkfifo(path, mode, dir_fd=dir_fd)

    def mknod_checked(path: Any, mode: int = 0o600, device: int = 0, *, dir_fd: int | None = None) -> None:
        raise GuardViolation(f"creating the device node {path!r} refused: nodes may not create device files")

    os.mkfifo = mkfifo_checked
    os.mknod = mknod_checked
    del mknod


def _joined(path: Any, dir_fd: int | None) -> Any:
    path = plain(path)
    if dir_fd is not None and isinstance(path, str | bytes) and not os.path.isabs(path):
        base = fd_path(dir_fd)
        return os.path.join(base or "/nonexistent", os.fsdecode(path))
    return path


def _node_code_on_stack(node_dirs: tuple[str, ...]) -> bool:
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_filename.startswith(node_dirs):
            return True
        frame = frame.f_back  # type: ignore[assignment]
    return False


def _wrap_signals(node_dirs: tuple[str, ...]) -> None:
    if not node_dirs:
        return
    set_handler, set_mask = signal.signal, signal.pthread_sigmask

    def refuse(what: str) -> GuardViolation:
        return GuardViolation(
            f"{what} refused: the engine's SIGTERM/SIGINT handling (graceful drain) is not the "
            "node's to change"
        )

    def signal_checked(signum: Any, handler: Any) -> Any:
        if plain(signum) in _GUARDED_SIGNALS and _node_code_on_stack(node_dirs):
            raise refuse(f"changing the handler of signal {int(signum)}")
        return set_handler(signum, handler)

    def mask_checked(how: int, mask: Iterable[Any]) -> Any:
        wanted = {plain(s) for s in mask}
        if how != signal.SIG_UNBLOCK and wanted & _GUARDED_SIGNALS and _node_code_on_stack(node_dirs):
            raise refuse("blocking SIGTERM/SIGINT")
        return set_mask(how, wanted)

    signal.signal = signal_checked  # type: ignore[assignment]
    signal.pthread_sigmask = mask_checked


def _wrap_process_exit(node_dirs: tuple[str, ...]) -> None:
    """os._exit, os.abort and signals to the engine itself end every run: refused for node code."""
    if not node_dirs:
        return
    exit_now, abort, kill, killpg, raise_signal = os._exit, os.abort, os.kill, os.killpg, signal.raise_signal

    def refuse(what: str) -> GuardViolation:
        return GuardViolation(
            f"{what} refused: a node may not end or signal the engine process — return a value or raise"
        )

    def exit_checked(code: int) -> None:
        if _node_code_on_stack(node_dirs):
            raise refuse(f"os._exit({code!r})")
        exit_now(code)

    def abort_checked() -> None:
        if _node_code_on_stack(node_dirs):
            raise refuse("os.abort()")
        abort()

    def kill_checked(pid: int, sig: int) -> None:
        if _node_code_on_stack(node_dirs):
            raise refuse(f"os.kill({pid!r}, {sig!r})")
        kill(pid, sig)

    def killpg_checked(group: int, sig: int) -> None:
        if _node_code_on_stack(node_dirs):
            raise refuse(f"os.killpg({group!r}, {sig!r})")
        killpg(group, sig)

    def raise_checked(sig: int) -> None:
        if _node_code_on_stack(node_dirs):
            raise refuse(f"signal.raise_signal({sig!r})")
        raise_signal(sig)

    os._exit = exit_checked  # type: ignore[assignment]
    os.abort = abort_checked  # type: ignore[assignment]
    os.kill = kill_checked
    os.killpg = killpg_checked
    signal.raise_signal = raise_checked


def _restrict_extension_origins(guard: RuntimeGuard) -> None:
    """Compiled modules come from the interpreter and installed packages, not from /tmp."""
    import importlib.machinery

    from tentacular.engine._guard_files import python_read_paths

    loader = importlib.machinery.ExtensionFileLoader
    create = loader.create_module
    allowed = tuple(os.path.realpath(p) for p in python_read_paths() if os.path.isdir(p))

    def create_checked(self: Any, spec: Any) -> Any:
        origin = os.path.realpath(str(spec.origin))
        if not any(origin.startswith(root + os.sep) for root in allowed):
            raise GuardViolation(
                f"loading the extension module {spec.name} from {origin} refused: compiled modules load "
                "only from the interpreter's and the installed packages' directories"
            )
        return create(self, spec)

    loader.create_module = create_checked  # type: ignore[method-assign]
