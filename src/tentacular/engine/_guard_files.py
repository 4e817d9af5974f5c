"""File-system decisions of the runtime permission guard (D4).

Nodes read the workflow directory, secrets directories, /tmp, the Python
installation (interpreter, stdlib, site-packages, everything on ``sys.path``), the
TLS trust store and a handful of system files the standard library reads (resolver
and time-zone data, MIME types); they write only under /tmp. Paths are judged after
resolving symlinks, so a link in /tmp to a key file elsewhere is still refused.
"""

# The checks run inside an audit hook on every file event: plain strings and os.path, not Path objects.
# ruff: noqa: PTH100, PTH109, PTH115, PTH117, PTH118

from __future__ import annotations

import functools
import os
import ssl
import sys
import sysconfig
import tempfile
from collections.abc import Iterable
from types import FrameType

from tentacular.errors import GuardViolation

SYSTEM_READ_PATHS: tuple[str, ...] = (
    # TLS trust stores of the common distributions (and of the distroless base).
    "/etc/ssl",
    "/etc/pki",
    "/etc/ca-certificates",
    "/usr/share/ca-certificates",
    "/usr/local/share/ca-certificates",
    "/usr/lib/ssl",
    # Read by the standard library itself: resolver, services, time zones, MIME types.
    "/etc/hosts",
    "/etc/resolv.conf",
    "/etc/nsswitch.conf",
    "/etc/gai.conf",
    "/etc/host.conf",
    "/etc/services",
    "/etc/protocols",
    "/etc/localtime",
    "/etc/timezone",
    "/usr/share/zoneinfo",
    "/etc/mime.types",
    "/dev/null",
    "/dev/urandom",
    "/dev/random",
)
DEVICE_WRITE_PATHS: tuple[str, ...] = ("/dev/null",)
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_CACHE_LIMIT = 8192


@functools.cache
def _installation_paths() -> tuple[str, ...]:
    # One expansion of the install scheme for all four (each sysconfig.get_path call expands every
    # path of the scheme against the full config-var table: ~1.3 M instructions, a third of a ms);
    # cached, since an interpreter's installation does not move while it runs.
    scheme = sysconfig.get_paths()
    found = (scheme.get(name) for name in ("stdlib", "platstdlib", "purelib", "platlib"))
    return (sys.executable, getattr(sys, "_base_executable", sys.executable), *(p for p in found if p))


def python_read_paths() -> list[str]:
    """The interpreter and every place it imports from, plus the trust store it was built with;
    each once (the interpreter, sys.path and the trust store name some of them twice)."""
    paths: list[str] = list(_installation_paths())
    cwd = os.getcwd()
    for entry in sys.path:
        # `python -m` puts the working directory on sys.path; that is not an installation dir.
        if entry and os.path.isabs(entry) and entry != cwd and entry != os.sep:
            paths.append(entry)
    verify = ssl.get_default_verify_paths()
    paths.extend(p for p in (verify.cafile, verify.capath, verify.openssl_cafile, verify.openssl_capath) if p)
    for variable in ("SSL_CERT_FILE", "SSL_CERT_DIR"):
        value = os.environ.get(variable)
        if value:
            paths.append(value)
    return list(dict.fromkeys(paths))


def _roots(paths: Iterable[str]) -> tuple[str, ...]:
    # Both spellings: the path as given and with symlinks resolved (/tmp -> /private/tmp).
    roots: dict[str, None] = {}
    for path in dict.fromkeys(paths):  # the lists repeat entries; realpath is the costly part
        if not path:
            continue
        absolute = os.path.abspath(path)
        roots[absolute.rstrip(os.sep) or os.sep] = None
        roots[os.path.realpath(absolute).rstrip(os.sep) or os.sep] = None
    return tuple(roots)


def _under(path: str, roots: tuple[str, ...]) -> bool:
    return any(path == root or path.startswith(root + os.sep) or root == os.sep for root in roots)


def is_write(mode: object, flags: object) -> bool:
    """Whether an ``open`` audit event opens for writing (``io.open`` mode or ``os.open`` flags)."""
    if isinstance(mode, str):
        return any(c in mode for c in "wax+")
    return isinstance(flags, int) and bool(flags & _WRITE_FLAGS)


class FileRules:
    """Read and write allow-lists; decisions for paths outside writable areas are cached."""

    def __init__(self, readable: Iterable[str], writable: Iterable[str]) -> None:
        self.writable = _roots((*writable, tempfile.gettempdir(), *DEVICE_WRITE_PATHS))
        self.readable = _roots((*readable, *SYSTEM_READ_PATHS)) + self.writable
        self.write_hint = ", ".join(r for r in self.writable if not r.startswith("/dev/"))
        self._read_cache: dict[str, bool] = {}

    def check_read(self, path: object, action: str = "reading") -> None:
        absolute = _absolute(path)
        if absolute is None:
            return
        allowed = self._read_cache.get(absolute)
        if allowed is None:
            allowed = _under(os.path.realpath(absolute), self.readable)
            # A node can plant symlinks only where it can write; judge those paths afresh.
            if not _under(absolute, self.writable) and ".." not in absolute:
                if len(self._read_cache) > _CACHE_LIMIT:
                    self._read_cache.clear()
                self._read_cache[absolute] = allowed
        if not allowed:
            raise GuardViolation(
                f"{action} {_shown(absolute)} refused: outside the paths nodes may read (the workflow "
                "directory, secrets, /tmp, the Python installation) — no contract entry grants file access; "
                "ship the file inside the workflow directory or provide its content as a secret"
            )

    def check_write(self, path: object, action: str = "writing") -> None:
        absolute = _absolute(path)
        if absolute is None:
            return
        if not _under(os.path.realpath(absolute), self.writable):
            raise GuardViolation(
                f"{action} {_shown(absolute)} refused: nodes may write only under {self.write_hint} — "
                "use tempfile or a path under /tmp"
            )

    def check_open(self, path: object, mode: object, flags: object) -> None:
        if is_write(mode, flags):
            self.check_write(path)
        else:
            self.check_read(path)


def _shown(path: str) -> str:
    real = os.path.realpath(path)
    return path if real == path else f"{path} (-> {real})"


def _absolute(path: object) -> str | None:
    """The absolute text of a path argument; None for file descriptors (checked when opened)."""
    if path is None or isinstance(path, int):
        return None
    try:
        text = os.fsdecode(os.fspath(path))  # type: ignore[call-overload]
    except TypeError:
        return None
    if not os.path.isabs(text):
        base = _relative_base(text)
        # Not normalised: "link/.." must go through the link as the kernel does, so ".." is
        # left for realpath to resolve after the symlinks before it.
        return os.path.join(base if base is not None else os.getcwd(), text)
    return text


def _relative_base(name: str) -> str | None:
    """The directory a ``dir_fd``-relative name is opened from inside shutil.rmtree.

    ``open`` events do not carry ``dir_fd``; rmtree opens nested directories by bare
    name relative to a descriptor, which resolving against the working directory
    would misjudge. Only that stdlib frame is trusted for this.
    """
    frame: FrameType | None = sys._getframe(1)
    for _ in range(12):
        if frame is None:
            return None
        if frame.f_code.co_name == "_rmtree_safe_fd" and frame.f_globals.get("__name__") == "shutil":
            for local in ("topfd", "dirfd"):
                fd = frame.f_locals.get(local)
                if isinstance(fd, int):
                    return fd_path(fd)
            return None
        frame = frame.f_back
    return None


def fd_path(fd: int) -> str | None:
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return None
