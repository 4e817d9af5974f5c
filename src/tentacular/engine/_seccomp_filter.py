"""The engine's seccomp-bpf filter, precomputed, and its installation (start-up step 4).

``_seccomp`` is the reviewed threat table and the assembler that turns it into a BPF program;
this module holds that program as bytes and installs it. Start-up imports only this one: a
cold start without bytecode spent ~9.5 M instructions (~3 ms) more compiling the table module,
and every start 0.8 M assembling the program.
"""

# ruff: noqa: PTH110, PTH123  (one /proc read at start-up)

from __future__ import annotations

import ctypes
import functools
import os
import struct

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


# _seccomp.build_filter(0); only the process id differs between engines, patched in at
# PID_OFFSET (the k field of the own_pid comparison). After changing the table, regenerate it
# with build_filter(0).hex() (tests/sandbox/test_seccomp_program.py fails until then).
PROGRAM = bytes.fromhex(
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
PID_OFFSET = 78 * 8 + 4
REFUSED = 65  # len(THREATS) + 1 (clone3, refused with ENOSYS)


def program_for(own_pid: int) -> bytes:
    """``build_filter(own_pid)``, from the precomputed program."""
    program = bytearray(PROGRAM)
    struct.pack_into("I", program, PID_OFFSET, own_pid & 0xFFFFFFFF)
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
    return SeccompResult(refused=REFUSED, instructions=len(program) // 8)
