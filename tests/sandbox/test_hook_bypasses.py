"""Regression tests for the audit-hook bypass classes (issue 11, Build 2), one per class.

Each runs in a child process under the guard alone (no kernel layer), so what is refused here
is refused by the audit hooks; the kernel layer is tested on its own in test_kernel_alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.guard.support import http_server, outside_tmp_dir, run_guarded


def refused(run: dict[str, Any], name: str, fragment: str) -> None:
    outcome = run["results"][name]
    assert not outcome["ok"], (name, outcome)
    assert outcome["permission"], (name, outcome)
    assert fragment in outcome["error"], (name, outcome)


@pytest.fixture(scope="module")
def outside() -> Path:
    directory = outside_tmp_dir()
    (directory / "id_rsa").write_text("key")
    return directory


def test_native_code_without_a_library_load(outside: Path) -> None:
    # ctypes imported before the guard (as the kernel layer does) is forgotten: a node's import
    # reaches the hook. A module object kept from before still cannot load libraries, look up
    # symbols or read raw memory. (CPython 3.11 raises no event for calling a raw function
    # pointer; the kernel layer is what stops system() then: test_kernel_alone.)
    run = run_guarded(
        """
        attempt("import ctypes", lambda: __import__("ctypes"))
        attempt("import _ctypes", lambda: __import__("_ctypes"))
        attempt("library through a kept module", lambda: KEPT.CDLL("libc.so.6"))
        attempt("symbol through a kept module", lambda: KEPT.CDLL(None).system)
        attempt("raw memory through a kept module", lambda: KEPT.c_int.from_address(ADDRESS))
        """,
        policy={"hosts": []},
        prelude_before_install="import ctypes as KEPT\nADDRESS = id(KEPT)",
    )
    refused(run, "import ctypes", "importing ctypes refused")
    refused(run, "import _ctypes", "importing _ctypes refused")
    refused(run, "library through a kept module", "loading native library 'libc.so.6' (ctypes) refused")
    refused(run, "symbol through a kept module", "resolving native symbol 'system' (ctypes) refused")
    refused(run, "raw memory through a kept module", "reading raw memory (ctypes from_address) refused")


def test_extension_modules_from_writable_directories_are_refused(tmp_path: Path) -> None:
    import _json  # any compiled stdlib module serves as the "planted" extension

    suffix = Path(str(_json.__file__)).name.split(".", 1)[1]
    run = run_guarded(
        f"""
        import importlib.util, shutil
        target = "/tmp/{tmp_path.name}_planted." + {suffix!r}
        shutil.copy({str(_json.__file__)!r}, target)
        def load():
            spec = importlib.util.spec_from_file_location("_json", target)
            return importlib.util.module_from_spec(spec)
        attempt("planted extension", load)
        """,
        policy={"hosts": []},
    )
    refused(run, "planted extension", "compiled modules load only from the interpreter's")


def test_process_primitives_re_created_through_importlib() -> None:
    run = run_guarded(
        """
        import sys, importlib, signal
        del sys.modules["_posixsubprocess"]
        attempt("re-import _posixsubprocess", lambda: importlib.import_module("_posixsubprocess"))
        """,
        policy={"hosts": []},
    )
    refused(run, "re-import _posixsubprocess", "re-importing _posixsubprocess refused")


def test_node_code_may_not_disable_sigterm(tmp_path: Path) -> None:
    nodes = tmp_path / "nodes"
    nodes.mkdir()
    (nodes / "evil.py").write_text(
        "import signal\n"
        "def ignore():\n    return signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "def block():\n    return signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGTERM])\n"
        "def other():\n    return str(signal.signal(signal.SIGUSR1, signal.SIG_IGN))\n"
    )
    run = run_guarded(
        f"""
        import sys
        sys.path.insert(0, {str(nodes)!r})
        import evil
        attempt("SIG_IGN for SIGTERM", evil.ignore)
        attempt("block SIGTERM", evil.block)
        attempt("other signals", evil.other)
        """,
        policy={"hosts": [], "read_paths": [str(tmp_path)]},
        node_dirs=[str(nodes)],
    )
    refused(run, "SIG_IGN for SIGTERM", "changing the handler of signal 15 refused")
    refused(run, "block SIGTERM", "blocking SIGTERM/SIGINT refused")
    assert run["results"]["other signals"]["ok"]


def test_path_tricks(outside: Path) -> None:
    run = run_guarded(
        f"""
        import os, sqlite3, tempfile
        OUT = {str(outside)!r}
        deep = tempfile.mkdtemp(dir="/tmp")
        # /tmp/<x>/link -> OUT/a/b ; "link/../../id_rsa" is OUT/id_rsa to the kernel, /tmp/... to a lexer
        os.makedirs(deep + "/real")
        os.symlink(OUT, deep + "/out")
        os.makedirs(deep + "/x")
        os.symlink(deep + "/out/../" + os.path.basename(OUT), deep + "/x/hop")
        lexical_trick = deep + "/out/../" + os.path.basename(OUT) + "/id_rsa"
        attempt("symlink then ..", lambda: open(deep + "/out/../../" + OUT.lstrip("/") + "/id_rsa").read())
        attempt("symlink with .. inside", lambda: open(lexical_trick).read())
        tmp_fd = os.open("/tmp", os.O_RDONLY)
        rel = os.path.relpath(OUT + "/id_rsa", "/tmp")
        attempt("dir_fd read", lambda: os.read(os.open(rel, os.O_RDONLY, dir_fd=tmp_fd), 10))
        new = os.path.relpath(OUT, "/tmp") + "/new"
        attempt("dir_fd write", lambda: os.open(new, os.O_WRONLY | os.O_CREAT, dir_fd=tmp_fd))
        attempt("sqlite3 outside", lambda: sqlite3.connect(OUT + "/db.sqlite"))
        uri = "file:" + OUT + "/db2.sqlite?mode=rwc"
        attempt("sqlite3 uri outside", lambda: sqlite3.connect(uri, uri=True))
        attempt("sqlite3 in tmp", lambda: sqlite3.connect(deep + "/ok.sqlite").close())
        attempt("sqlite3 memory", lambda: sqlite3.connect(":memory:").close())
        attempt("mkfifo outside", lambda: os.mkfifo(OUT + "/fifo"))
        attempt("mknod", lambda: os.mknod(deep + "/node"))
        """,
        policy={"hosts": []},
    )
    refused(run, "symlink then ..", "outside the paths nodes may read")
    refused(run, "symlink with .. inside", "outside the paths nodes may read")
    refused(run, "dir_fd read", "outside the paths nodes may read")
    refused(run, "dir_fd write", "nodes may write only under")
    refused(run, "sqlite3 outside", "opening the SQLite database")
    refused(run, "sqlite3 uri outside", "opening the SQLite database")
    assert run["results"]["sqlite3 in tmp"]["ok"], run["results"]["sqlite3 in tmp"]
    assert run["results"]["sqlite3 memory"]["ok"]
    refused(run, "mkfifo outside", "creating the FIFO")
    refused(run, "mknod", "nodes may not create device files")
    assert not (outside / "db.sqlite").exists()
    assert not (outside / "new").exists()


def test_values_that_only_look_like_strings(outside: Path) -> None:
    with http_server() as port:
        run = run_guarded(
            f"""
            import os, socket
            OUT = {str(outside)!r}
            class Sly(str):
                def startswith(self, *a): return True
                def __str__(self): return "/tmp/harmless"
                def __fspath__(self): return "/tmp/harmless"
                def __eq__(self, other): return True
                def __hash__(self): return hash("localhost")
            class Flip:
                calls = 0
                def __fspath__(self):
                    Flip.calls += 1
                    return "/tmp/harmless" if Flip.calls == 1 else OUT + "/id_rsa"
            attempt("str subclass path", lambda: open(Sly(OUT + "/id_rsa")).read())
            attempt("flip-flop path object", lambda: os.open(Flip(), os.O_RDONLY))
            attempt("str subclass host", lambda: socket.create_connection((Sly("192.0.2.10"), {port}), 2))
            class Port(int):
                def __int__(self): return {port}
                def __index__(self): return {port}
            attempt("int subclass port", lambda: socket.socket().connect(("127.0.0.1", Port(1))))
            """,
            policy={"hosts": [["127.0.0.1", port, "TCP", "local"]]},
        )
    refused(run, "str subclass path", "outside the paths nodes may read")
    refused(run, "flip-flop path object", "only str, bytes and pathlib paths are accepted")
    refused(run, "str subclass host", "192.0.2.10")
    # the int subclass carries 1 whatever its methods say: judged as port 1, refused
    refused(run, "int subclass port", "127.0.0.1:1 refused")


def test_replacing_resolver_functions_does_not_grant_addresses() -> None:
    run = run_guarded(
        """
        import _socket, socket
        fake = [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("192.0.2.66", 443))]
        _socket.getaddrinfo = lambda *a, **k: fake
        def smuggle():
            try:  # the guard resolves with the real C resolver: the fake answer is never seen
                socket.getaddrinfo("api.declared.test", 443)
            except socket.gaierror:
                pass
            return socket.create_connection(("192.0.2.66", 443), 2)
        attempt("fake resolver", smuggle)
        """,
        policy={"hosts": [["api.declared.test", 443, "TCP", "api"]]},
    )
    refused(run, "fake resolver", "192.0.2.66:443 refused")


def test_the_guard_state_is_not_reachable_through_gc() -> None:
    run = run_guarded(
        """
        import gc
        attempt("gc.get_objects", lambda: len(gc.get_objects()))
        attempt("gc.get_referrers", lambda: len(gc.get_referrers(GUARD)))
        attempt("gc.get_referents", lambda: len(gc.get_referents(GUARD)))
        """,
        policy={"hosts": []},
    )
    for name in ("gc.get_objects", "gc.get_referrers", "gc.get_referents"):
        refused(run, name, f"{name} refused")


def test_binding_listening_sockets_is_refused() -> None:
    run = run_guarded(
        """
        import socket
        attempt("tcp listen", lambda: socket.socket().bind(("127.0.0.1", 0)))
        udp = lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        attempt("udp fixed port", lambda: udp().bind(("127.0.0.1", 5353)))
        attempt("udp ephemeral", lambda: udp().bind(("127.0.0.1", 0)))
        attempt("abstract unix", lambda: socket.socket(socket.AF_UNIX).bind("\\0tntc-test"))
        """,
        policy={"hosts": []},
    )
    refused(run, "tcp listen", "binding TCP port 0 refused: nodes may not listen")
    refused(run, "udp fixed port", "binding UDP port 5353 refused")
    assert run["results"]["udp ephemeral"]["ok"]
    refused(run, "abstract unix", "binding an abstract Unix socket refused")
