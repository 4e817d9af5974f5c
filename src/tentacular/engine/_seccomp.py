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
other architectures ``apply`` reports the layer unavailable instead of guessing numbers.

Applied with ``SECCOMP_FILTER_FLAG_TSYNC`` to every thread of the process at once; it
is inherited by every thread created later and can never be removed.
"""

# ruff: noqa: PTH110, PTH123  (one /proc read at start-up)

from __future__ import annotations

import ctypes
import functools
import os
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

_PR_SET_NO_NEW_PRIVS = 38
_SYS_SECCOMP = 317
_SECCOMP_SET_MODE_FILTER = 1
_SECCOMP_FILTER_FLAG_TSYNC = 1


class SeccompError(OSError):
    pass


class SeccompResult:
    """What ``apply`` installed. A plain class: a frozen dataclass generates and compiles six
    methods when the module is imported (~0.5 ms of every guarded start)."""

    __slots__ = ("instructions", "refused")

    def __init__(self, refused: int, instructions: int) -> None:
        self.refused = refused  # number of system calls in the deny table (argument checks not counted)
        self.instructions = instructions

    def __repr__(self) -> str:
        return f"SeccompResult(refused={self.refused}, instructions={self.instructions})"

    def describe(self) -> str:
        return (
            f"seccomp-bpf: {self.refused} system calls refused, process creation, raw/packet "
            "sockets and signals to other processes refused"
        )


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


# build_filter(0), assembled once here instead of at every start (~0.8 M instructions, 0.25 ms);
# only the process id differs between engines, patched in at _PID_OFFSET (the k field of the
# own_pid comparison). tests/sandbox/test_seccomp_program.py checks it against build_filter;
# after changing the table, regenerate it with build_filter(0).hex().
_PROGRAM = bytes.fromhex(
    "2000000004000000150000543e0000c020000000000000003500520000000040150051003b0000001500500042010000"
    "15004f003900000015004e003a00000015004d006500000015004c003601000015004b003701000015004a00b2010000"
    "15004900b601000015004800a80100001500470081000000150046002901000015004500c80000001500440038010000"
    "15004300b801000015004200850000001500410003010000150040004101000015003f002a01000015003e0043010000"
    "15003d00a901000015003c00aa01000015003b00ab01000015003a00a500000015003900a600000015003800ac010000"
    "15003700ad01000015003600ae01000015003500af01000015003400b001000015003300b101000015003200ba010000"
    "150031009b00000015003000a100000015002f001001000015002e003401000015002d003001000015002c002f010000"
    "15002b00fa00000015002a00f800000015002900f90000001500280087000000150027009a0000001500260086000000"
    "15002500f6000000150024004001000015002300af000000150022003901000015002100b000000015002000a7000000"
    "15001f00a800000015001e00a900000015001d00a300000015001c00b300000015001b006700000015001a00ac000000"
    "15001900ad00000015001800a400000015001700e30000001500160031010000150015009f00000015001400aa000000"
    "15001300ab00000015001200d4000000150005003800000015000f00b3010000150006003e00000015000500ea000000"
    "1500060029000000060000000000ff7f200000001000000045000a000000027e45000709000001002000000010000000"
    "1500050700000000200000001000000015000500110000002000000018000000540000000f0000001500020003000000"
    "060000000000ff7f06000000260005000600000001000500"
)
_PID_OFFSET = 78 * 8 + 4


def program_for(own_pid: int) -> bytes:
    """``build_filter(own_pid)``, from the precomputed program."""
    program = bytearray(_PROGRAM)
    struct.pack_into("I", program, _PID_OFFSET, own_pid & 0xFFFFFFFF)
    return bytes(program)


@functools.cache
def supported() -> str | None:
    """None when this machine can take the filter, else why not (cached: ask before Landlock)."""
    machine = os.uname().machine
    if machine != "x86_64":
        return f"architecture {machine} has no syscall table here"
    if not os.path.exists("/proc/self/status"):
        return "no /proc"
    with open("/proc/self/status", "rb") as status:  # bytes: a text read imports a codec module
        for line in status:
            if line.startswith(b"Seccomp:"):
                return None
    return "the kernel has no seccomp"


class _SockFprog(ctypes.Structure):
    _fields_ = (("len", ctypes.c_ushort), ("filter", ctypes.c_void_p))


def apply() -> SeccompResult:
    """Install the filter on every thread of this process; irreversible."""
    reason = supported()
    if reason is not None:
        raise SeccompError(0, reason)
    program = program_for(os.getpid())
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        code = ctypes.get_errno()
        raise SeccompError(code, os.strerror(code))
    buffer = ctypes.create_string_buffer(program, len(program))
    fprog = _SockFprog(len(program) // 8, ctypes.cast(buffer, ctypes.c_void_p))
    result = libc.syscall(
        ctypes.c_long(_SYS_SECCOMP),
        ctypes.c_uint(_SECCOMP_SET_MODE_FILTER),
        ctypes.c_uint(_SECCOMP_FILTER_FLAG_TSYNC),
        ctypes.byref(fprog),
    )
    if result != 0:
        code = ctypes.get_errno()
        raise SeccompError(
            code, f"seccomp: {os.strerror(code)}" if result < 0 else f"thread {result} refused TSYNC"
        )
    return SeccompResult(refused=len(THREATS) + 1, instructions=len(program) // 8)
