"""Landlock (Linux >= 5.13) for the engine process: file, TCP-port and scope limits.

A small binding of our own over three system calls (``landlock_create_ruleset``,
``landlock_add_rule``, ``landlock_restrict_self``) through ``ctypes``. The PyPI
``landlock`` package (1.0.0.dev5) covers file rules only — no TCP ports (ABI 4) and
no signal/abstract-socket scoping (ABI 6) — so it cannot express the policy.

Everything is best effort in the sense the kernel defines: rights the running ABI
does not know are dropped from the request, paths that do not exist are skipped, and
``probe()`` says what the kernel offers. A restriction, once applied, holds for the
calling thread and every thread and process created after it; it can never be lifted.
"""

# ruff: noqa: PTH112  (path strings from the plan, checked once each)

from __future__ import annotations

import ctypes
import errno
import os
from collections.abc import Iterable
from typing import NamedTuple

_SYS_CREATE_RULESET = 444  # the same number on every architecture (generic syscall table)
_SYS_ADD_RULE = 445
_SYS_RESTRICT_SELF = 446
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1
_RULE_NET_PORT = 2
_PR_SET_NO_NEW_PRIVS = 38

# Access rights for files (landlock.h), with the ABI that introduced each.
EXECUTE = 1 << 0
WRITE_FILE = 1 << 1
READ_FILE = 1 << 2
READ_DIR = 1 << 3
REMOVE_DIR = 1 << 4
REMOVE_FILE = 1 << 5
MAKE_CHAR = 1 << 6
MAKE_DIR = 1 << 7
MAKE_REG = 1 << 8
MAKE_SOCK = 1 << 9
MAKE_FIFO = 1 << 10
MAKE_BLOCK = 1 << 11
MAKE_SYM = 1 << 12
REFER = 1 << 13  # ABI 2
TRUNCATE = 1 << 14  # ABI 3
IOCTL_DEV = 1 << 15  # ABI 5
_FS_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 5: (1 << 16) - 1}
# Rights that make sense on a file (not a directory); others on a file rule are EINVAL.
_FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV

NET_BIND_TCP = 1 << 0  # ABI 4
NET_CONNECT_TCP = 1 << 1  # ABI 4
SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0  # ABI 6
SCOPE_SIGNAL = 1 << 1  # ABI 6

READ = READ_FILE | READ_DIR
READ_EXECUTE = READ | EXECUTE


class _RulesetAttr(ctypes.Structure):
    _fields_ = (
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    )


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1  # __attribute__((packed)) in landlock.h
    _fields_ = (("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32))


class _NetPortAttr(ctypes.Structure):
    _fields_ = (("allowed_access", ctypes.c_uint64), ("port", ctypes.c_uint64))


class LandlockError(OSError):
    pass


# Not dataclasses: a pod's start defines none (tests/engine/test_startup_imports.py).
class LandlockPlan(NamedTuple):
    """What to allow; everything of a kind that is handled and not listed is refused.

    ``connect_ports`` None leaves TCP connect unrestricted (legacy mode, or a contract
    granting every port somewhere); an empty tuple forbids every TCP connect.
    """

    read: tuple[str, ...]
    write: tuple[str, ...]
    execute: tuple[str, ...] = ()
    connect_ports: tuple[int, ...] | None = None
    bind_ports: tuple[int, ...] = ()
    scope: bool = True


class LandlockResult(NamedTuple):
    abi: int
    filesystem: bool
    network: bool
    scoped: bool
    skipped_paths: tuple[str, ...]

    def describe(self) -> str:
        parts = ["files"] if self.filesystem else []
        if self.network:
            parts.append("TCP ports")
        if self.scoped:
            parts.append("signal and abstract-socket scope")
        return f"Landlock ABI {self.abi}: {', '.join(parts)}"


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _syscall(libc: ctypes.CDLL, number: int, *args: object) -> int:
    result = int(libc.syscall(ctypes.c_long(number), *args))
    if result < 0:
        code = ctypes.get_errno()
        raise LandlockError(code, os.strerror(code))
    return result


def probe() -> int:
    """The Landlock ABI the kernel offers; 0 when it has none (or it is disabled, or under gVisor)."""
    try:
        return _syscall(_libc(), _SYS_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    except LandlockError as exc:
        if exc.errno in (errno.ENOSYS, errno.EOPNOTSUPP, errno.EPERM, errno.EINVAL):
            return 0
        raise


def _fs_rights(abi: int) -> int:
    return _FS_BY_ABI[max(a for a in _FS_BY_ABI if a <= abi)]


def restrict_self(plan: LandlockPlan) -> LandlockResult | None:
    """Apply ``plan`` to the calling thread (and all it creates); None if the kernel has no Landlock."""
    abi = probe()
    if abi <= 0:
        return None
    libc = _libc()
    handled_fs = _fs_rights(abi)
    handled_net = 0
    if abi >= 4:
        handled_net = NET_BIND_TCP | (NET_CONNECT_TCP if plan.connect_ports is not None else 0)
    scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL if abi >= 6 and plan.scope else 0
    attr = _RulesetAttr(handled_fs, handled_net, scoped)
    size = 8 if abi < 4 else 16 if abi < 6 else 24
    ruleset = _syscall(
        libc, _SYS_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0)
    )
    skipped: list[str] = []
    try:
        write_rights = handled_fs & ~EXECUTE
        for paths, rights in (
            (plan.read, READ),
            (plan.execute, READ_EXECUTE),
            (plan.write, write_rights | READ),
        ):
            skipped.extend(_add_paths(libc, ruleset, paths, rights & handled_fs))
        if handled_net:
            for port in sorted(set(plan.bind_ports)):
                _add_port(libc, ruleset, port, NET_BIND_TCP)
            for port in sorted(set(plan.connect_ports or ())):
                _add_port(libc, ruleset, port, NET_CONNECT_TCP)
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            code = ctypes.get_errno()
            raise LandlockError(code, os.strerror(code))
        _syscall(libc, _SYS_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0))
    finally:
        os.close(ruleset)
    return LandlockResult(
        abi=abi,
        filesystem=True,
        network=bool(handled_net & NET_CONNECT_TCP),
        scoped=bool(scoped),
        skipped_paths=tuple(skipped),
    )


def _add_paths(libc: ctypes.CDLL, ruleset: int, paths: Iterable[str], rights: int) -> list[str]:
    skipped: list[str] = []
    for path in dict.fromkeys(paths):
        try:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            skipped.append(path)
            continue
        try:
            allowed = rights if os.path.isdir(path) else rights & _FILE_RIGHTS
            rule = _PathBeneathAttr(allowed, fd)
            _syscall(
                libc,
                _SYS_ADD_RULE,
                ctypes.c_int(ruleset),
                ctypes.c_int(_RULE_PATH_BENEATH),
                ctypes.byref(rule),
                ctypes.c_uint32(0),
            )
        finally:
            os.close(fd)
    return skipped


def _add_port(libc: ctypes.CDLL, ruleset: int, port: int, right: int) -> None:
    rule = _NetPortAttr(right, port)
    _syscall(
        libc,
        _SYS_ADD_RULE,
        ctypes.c_int(ruleset),
        ctypes.c_int(_RULE_NET_PORT),
        ctypes.byref(rule),
        ctypes.c_uint32(0),
    )
