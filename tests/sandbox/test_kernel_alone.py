"""The kernel layer alone holds: the engine's start-up with the audit hooks left out, and a node
that goes straight to native code or the raw system calls (acceptance of issue 11, Build 1)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.guard.support import free_port, http_server, outside_tmp_dir, write_workflow
from tests.sandbox.support import require_kernel_layer, run_kernel_only

HOSTILE = """
import ctypes, os, signal, socket, subprocess, threading


def _system_through_a_raw_pointer(command):
    libc = ctypes.CDLL(None)
    address = ctypes.cast(libc.system, ctypes.c_void_p).value
    system = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_char_p)(address)
    return system(command.encode())


def _raw_syscall(number, *args):
    libc = ctypes.CDLL(None, use_errno=True)
    result = libc.syscall(number, *args)
    return result, ctypes.get_errno()


def _errno_of(action):
    try:
        action()
    except OSError as exc:
        return {"refused": True, "errno": exc.errno, "type": type(exc).__name__}
    return {"refused": False}


async def run(ctx, input):
    case, arg = input["case"], input.get("arg")
    if case == "system":
        return {"status": _system_through_a_raw_pointer(f"touch {arg}"), "created": os.path.exists(arg)}
    if case == "fork syscall":
        return {"result": _raw_syscall(57)}
    if case == "execve syscall":
        return {"result": _raw_syscall(59, b"/bin/true", None, None)}
    if case == "os.fork":
        return _errno_of(os.fork)
    if case == "subprocess":
        return _errno_of(lambda: subprocess.run(["/bin/true"]))
    if case == "read":
        return _errno_of(lambda: open(arg, "rb").read())
    if case == "write":
        return _errno_of(lambda: open(arg, "w").write("pwned"))
    if case == "connect":
        def connect():
            with socket.create_connection(("127.0.0.1", arg), timeout=5):
                pass
        return _errno_of(connect)
    if case == "bind":
        return _errno_of(lambda: socket.socket().bind(("127.0.0.1", arg)))
    if case == "kill parent":
        return _errno_of(lambda: os.kill(os.getppid(), 0))
    if case == "raw socket":
        return _errno_of(lambda: socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP))
    if case == "packet socket":
        return _errno_of(lambda: socket.socket(socket.AF_PACKET, socket.SOCK_RAW))
    if case == "unshare":
        return {"result": _raw_syscall(272, 0x10000000)}  # unshare(CLONE_NEWUSER)
    if case == "control":
        seen = []
        worker = threading.Thread(target=lambda: seen.append(open(arg).read()))
        worker.start()
        worker.join()
        os.kill(os.getpid(), 0)
        with open("/tmp/tntc-kernel-control", "w") as handle:
            handle.write("ok")
        return {"thread read": seen, "tmp write": open("/tmp/tntc-kernel-control").read()}
    raise ValueError(case)
"""

EPERM, EACCES = 1, 13


@pytest.fixture(scope="module", autouse=True)
def _kernel() -> None:
    require_kernel_layer()


@pytest.fixture(scope="module")
def declared_port() -> Iterator[int]:
    with http_server() as port:
        yield port


@pytest.fixture(scope="module")
def workflow(declared_port: int) -> Path:
    contract = {
        "version": "1",
        "dependencies": {"local": {"protocol": "http", "host": "127.0.0.1", "port": declared_port}},
    }
    # Outside /tmp, which nodes may write: the workflow directory itself is read-only to them.
    return write_workflow(outside_tmp_dir() / "kernel", {"probe": HOSTILE}, contract=contract)


def probe(workflow: Path, case: str, arg: Any = None) -> Any:
    data = run_kernel_only(workflow, {"case": case, "arg": arg})
    assert data["guard"] is False  # the audit hooks really are out of the picture
    assert data["kernel"]["seccomp"].startswith("active"), data["kernel"]
    assert data["kernel"]["landlock"].startswith("active"), data["kernel"]
    result = data["result"]
    assert result["success"], result
    return result["outputs"]["probe"]


def test_system_through_a_raw_function_pointer_starts_no_process(workflow: Path) -> None:
    target = outside_tmp_dir() / "pwned"
    tmp_target = Path("/tmp") / f"tntc-pwned-{free_port()}"
    for path in (target, tmp_target):
        out = probe(workflow, "system", str(path))
        assert out["created"] is False
        assert not path.exists()
        assert out["status"] != 0  # glibc reports a failed spawn as status 127 (or -1)


def test_raw_fork_and_execve_system_calls_are_refused_with_eperm(workflow: Path) -> None:
    assert probe(workflow, "fork syscall")["result"] == [-1, EPERM]
    assert probe(workflow, "execve syscall")["result"] == [-1, EPERM]
    assert probe(workflow, "unshare")["result"] == [-1, EPERM]


@pytest.mark.parametrize("case", ["os.fork", "subprocess", "kill parent", "raw socket"])
def test_process_and_privilege_primitives_are_refused(workflow: Path, case: str) -> None:
    out = probe(workflow, case)
    assert out["refused"], out
    assert out["type"] == "PermissionError", out


def test_packet_sockets_are_refused(workflow: Path) -> None:
    assert probe(workflow, "packet socket") == {"refused": True, "errno": EPERM, "type": "PermissionError"}


@pytest.mark.parametrize("path", ["/etc/passwd", "/proc/self/environ", "/proc/self/mem"])
def test_no_reads_outside_the_allowed_paths(workflow: Path, path: str) -> None:
    out = probe(workflow, "read", path)
    assert out == {"refused": True, "errno": EACCES, "type": "PermissionError"}


def test_no_reads_of_a_home_key_and_no_writes_outside_tmp(workflow: Path) -> None:
    home = outside_tmp_dir()
    (home / "id_rsa").write_text("key")
    assert probe(workflow, "read", str(home / "id_rsa"))["refused"]
    assert probe(workflow, "write", str(home / "pwned"))["refused"]
    assert probe(workflow, "write", str(workflow / "nodes" / "pwned.py"))["refused"]
    assert not (home / "pwned").exists()
    assert not (workflow / "nodes" / "pwned.py").exists()


def test_no_connect_to_an_undeclared_port(workflow: Path, declared_port: int) -> None:
    with http_server() as undeclared:
        out = probe(workflow, "connect", undeclared)
    assert out == {"refused": True, "errno": EACCES, "type": "PermissionError"}
    assert probe(workflow, "connect", declared_port) == {"refused": False}


def test_no_bind_of_a_listening_port(workflow: Path) -> None:
    assert probe(workflow, "bind", free_port())["refused"]


def test_threads_self_signals_tmp_and_declared_reads_still_work(workflow: Path) -> None:
    out = probe(workflow, "control", str(workflow / "workflow.yaml"))
    assert "nodes:" in out["thread read"][0]
    assert out["tmp write"] == "ok"
