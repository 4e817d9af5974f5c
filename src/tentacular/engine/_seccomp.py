"""A seccomp-bpf filter for the engine process, written out as a reviewed threat table.

Why our own filter instead of ``pyseccomp``: pyseccomp is a ctypes wrapper around
``libseccomp.so``, which the distroless engine image does not ship; the whole policy
is a deny-list of some forty system calls plus three argument checks, which fits in a
short BPF program built here (about 100 instructions) with no library at all.

Each refused call returns ``EPERM`` (Python raises ``PermissionError``), except
``clone3``, which returns ``ENOSYS``: its flags live in memory a filter cannot read, and
glibc falls back to ``clone`` on ENOSYS, whose flags are checked (threads pass, new
processes do not). System calls of another ABI (i386 ``int 0x80``, x32) are refused
outright, so the table cannot be sidestepped by number. Only x86-64 is supported; on
other architectures ``_seccomp_filter.apply`` reports the layer unavailable instead of guessing numbers.

Applied with ``SECCOMP_FILTER_FLAG_TSYNC`` to every thread of the process at once; it
is inherited by every thread created later and can never be removed.

This module is the reviewed source: ``build_filter`` assembles the table. The engine does not
import it at start; it installs the same program precomputed in ``_seccomp_filter`` (compiling
this module and assembling the program cost a guarded cold start ~3 ms without bytecode, 0.3 ms
with it), and ``tests/sandbox/test_seccomp_program.py`` holds the two byte for byte equal.
"""

from __future__ import annotations

import struct

# (syscall, x86-64 number, why it is refused) — the threat table of docs/security.md.
THREATS: tuple[tuple[str, int, str], ...] = (
    ("execve", 59, "replace the process with a program (system(), popen, os.exec*)"),
    ("execveat", 322, "the same through a descriptor (fexecve, memfd execution)"),
    ("fork", 57, "new process"),
    ("vfork", 58, "new process (posix_spawn)"),
    ("ptrace", 101, "read or steer another process"),
    ("process_vm_readv", 310, "read another process's memory"),
    ("process_vm_writev", 311, "write another process's memory"),
    ("pidfd_open", 434, "handle on another process (signals, descriptor theft)"),
    ("pidfd_getfd", 438, "steal another process's descriptors"),
    ("pidfd_send_signal", 424, "signal another process"),
    ("rt_sigqueueinfo", 129, "signal another process with data"),
    ("rt_tgsigqueueinfo", 297, "signal another thread group with data"),
    ("tkill", 200, "signal a thread by bare id (obsolete; glibc uses tgkill)"),
    ("kcmp", 312, "probe another process's kernel objects"),
    ("process_madvise", 440, "change another process's memory"),
    ("mknod", 133, "create device nodes and FIFOs"),
    ("mknodat", 259, "create device nodes and FIFOs"),
    ("bpf", 321, "load kernel programs"),
    ("perf_event_open", 298, "kernel attack surface, side channels"),
    ("userfaultfd", 323, "kernel exploitation primitive"),
    ("io_uring_setup", 425, "an I/O path that bypasses per-call filtering"),
    ("io_uring_enter", 426, "an I/O path that bypasses per-call filtering"),
    ("io_uring_register", 427, "an I/O path that bypasses per-call filtering"),
    ("mount", 165, "change the file-system view"),
    ("umount2", 166, "change the file-system view"),
    ("open_tree", 428, "change the file-system view"),
    ("move_mount", 429, "change the file-system view"),
    ("fsopen", 430, "change the file-system view"),
    ("fsconfig", 431, "change the file-system view"),
    ("fsmount", 432, "change the file-system view"),
    ("fspick", 433, "change the file-system view"),
    ("mount_setattr", 442, "change the file-system view"),
    ("pivot_root", 155, "change the file-system view"),
    ("chroot", 161, "change the file-system view"),
    ("unshare", 272, "new namespaces (user namespaces give root-like rights inside)"),
    ("setns", 308, "enter other namespaces"),
    ("open_by_handle_at", 304, "open files by handle, bypassing path checks"),
    ("name_to_handle_at", 303, "file handles for open_by_handle_at"),
    ("keyctl", 250, "the kernel keyring (other credentials of the user)"),
    ("add_key", 248, "the kernel keyring"),
    ("request_key", 249, "the kernel keyring"),
    ("personality", 135, "change the execution domain (ASLR off)"),
    ("modify_ldt", 154, "kernel attack surface"),
    ("uselib", 134, "load a library the old way"),
    ("kexec_load", 246, "replace the kernel"),
    ("kexec_file_load", 320, "replace the kernel"),
    ("init_module", 175, "load kernel modules"),
    ("finit_module", 313, "load kernel modules"),
    ("delete_module", 176, "unload kernel modules"),
    ("swapon", 167, "system administration"),
    ("swapoff", 168, "system administration"),
    ("reboot", 169, "system administration"),
    ("acct", 163, "system administration"),
    ("quotactl", 179, "system administration"),
    ("syslog", 103, "read the kernel log"),
    ("iopl", 172, "direct hardware I/O"),
    ("ioperm", 173, "direct hardware I/O"),
    ("settimeofday", 164, "change the system clock"),
    ("clock_settime", 227, "change the system clock"),
    ("clock_adjtime", 305, "change the system clock"),
    ("adjtimex", 159, "change the system clock"),
    ("sethostname", 170, "system administration"),
    ("setdomainname", 171, "system administration"),
    ("lookup_dcookie", 212, "kernel attack surface"),
)
# Checked on their arguments (the rest of the table in docs/security.md):
_CLONE, _CLONE3, _KILL, _TGKILL, _SOCKET = 56, 435, 62, 234, 41

_AUDIT_ARCH_X86_64 = 0xC000003E
_X32_SYSCALL_BIT = 0x40000000
_CLONE_THREAD = 0x00010000
# CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET: no namespaces even for threads.
_CLONE_NAMESPACES = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000
_AF_PACKET = 17
_SOCK_TYPE_MASK = 0xF
_SOCK_RAW = 3

# BPF opcodes (linux/filter.h, linux/seccomp.h).
_LD_W_ABS = 0x20
_JEQ_K = 0x15
_JGE_K = 0x35
_JSET_K = 0x45
_AND_K = 0x54
_RET_K = 0x06
_RET_ALLOW = 0x7FFF0000
_RET_ERRNO = 0x00050000
_EPERM = 1
_ENOSYS = 38
_OFF_NR, _OFF_ARCH, _OFF_ARGS = 0, 4, 16


class _Program:
    """Builds a BPF program; jump targets are labels resolved on ``assemble``."""

    def __init__(self) -> None:
        self._code: list[tuple[int, object, object, int]] = []
        self._labels: dict[str, int] = {}

    def op(self, code: int, k: int, jt: object = 0, jf: object = 0) -> None:
        self._code.append((code, jt, jf, k))

    def label(self, name: str) -> None:
        self._labels[name] = len(self._code)

    def assemble(self) -> bytes:
        out = bytearray()
        for index, (code, jt, jf, k) in enumerate(self._code):
            jumps = [self._offset(index, j) for j in (jt, jf)]
            out += struct.pack("HBBI", code, jumps[0], jumps[1], k & 0xFFFFFFFF)
        return bytes(out)

    def _offset(self, index: int, target: object) -> int:
        if isinstance(target, int):
            return target
        offset = self._labels[str(target)] - index - 1
        if not 0 <= offset <= 255:
            raise ValueError(f"BPF jump to {target} out of range")
        return offset

    def __len__(self) -> int:
        return len(self._code)


def build_filter(own_pid: int) -> bytes:
    """The program for a process whose id is ``own_pid`` (kill/tgkill allowed only to itself)."""
    p = _Program()
    p.op(_LD_W_ABS, _OFF_ARCH)
    p.op(_JEQ_K, _AUDIT_ARCH_X86_64, 0, "eperm")
    p.op(_LD_W_ABS, _OFF_NR)
    p.op(_JGE_K, _X32_SYSCALL_BIT, "eperm", 0)
    for _name, number, _why in THREATS:
        p.op(_JEQ_K, number, "eperm", 0)
    p.op(_JEQ_K, _CLONE, "clone", 0)
    p.op(_JEQ_K, _CLONE3, "enosys", 0)
    p.op(_JEQ_K, _KILL, "own_pid", 0)
    p.op(_JEQ_K, _TGKILL, "own_pid", 0)
    p.op(_JEQ_K, _SOCKET, "socket", 0)
    p.op(_RET_K, _RET_ALLOW)
    p.label("clone")  # flags are the first argument on x86-64; the low 32 bits hold them all
    p.op(_LD_W_ABS, _OFF_ARGS)
    p.op(_JSET_K, _CLONE_NAMESPACES, "eperm", 0)
    p.op(_JSET_K, _CLONE_THREAD, "allow", "eperm")
    p.label("own_pid")  # kill(pid, sig) / tgkill(tgid, tid, sig): only this process
    p.op(_LD_W_ABS, _OFF_ARGS)  # pid_t is 32 bits; the kernel ignores the high half
    p.op(_JEQ_K, own_pid, "allow", "eperm")
    p.label("socket")  # socket(domain, type, protocol): no packet or raw sockets
    p.op(_LD_W_ABS, _OFF_ARGS)
    p.op(_JEQ_K, _AF_PACKET, "eperm", 0)
    p.op(_LD_W_ABS, _OFF_ARGS + 8)
    p.op(_AND_K, _SOCK_TYPE_MASK)
    p.op(_JEQ_K, _SOCK_RAW, "eperm", "allow")
    p.label("allow")
    p.op(_RET_K, _RET_ALLOW)
    p.label("enosys")
    p.op(_RET_K, _RET_ERRNO | _ENOSYS)
    p.label("eperm")
    p.op(_RET_K, _RET_ERRNO | _EPERM)
    return p.assemble()
