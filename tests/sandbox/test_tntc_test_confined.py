"""`tntc test` runs nodes under the same guard and kernel layer as `run --local` (Build 5): a node
that reaches an undeclared host, reads outside the allowed paths or spawns a process fails its
test instead of passing, and the process that called `tntc test` is not confined itself."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tentacular.cli.main import main
from tests.guard.support import base_env, http_server, outside_tmp_dir, tntc
from tests.testing.conftest import build_workflow

NODES = {
    "spawn": "import subprocess\nasync def run(ctx, input):\n    return subprocess.run(['id']).returncode\n",
    "passwd": "async def run(ctx, input):\n    return open('/etc/passwd').read()[:10]\n",
    "egress": (
        "import socket\nasync def run(ctx, input):\n"
        "    socket.create_connection(('127.0.0.1', input['port']), timeout=5).close()\n    return 'sent'\n"
    ),
    "native": ("import ctypes\nasync def run(ctx, input):\n    return ctypes.CDLL('libc.so.6').getpid()\n"),
    "honest": "async def run(ctx, input):\n    print('hello from the node')\n    return {'ok': True}\n",
}


@pytest.fixture
def hostile(tmp_path: Path) -> Path:
    with http_server() as port:
        fixtures = {f"{node}.json": {"input": {"port": port}} for node in NODES}
        fixtures["honest.json"] = {"input": {}, "expected": {"ok": True}}
        yield build_workflow(outside_tmp_dir() / "confined", NODES, fixtures=fixtures)


def test_hostile_nodes_fail_their_tests_with_the_refusal(hostile: Path) -> None:
    done = tntc("-o", "json", "test", str(hostile), env=base_env())
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    results = {r["node"]: r for r in report["results"]}
    assert results["honest"]["passed"], results["honest"]
    expected = {
        "spawn": "starting a process (subprocess.Popen: ['id']) refused",
        "passwd": "reading /etc/passwd refused: outside the paths nodes may read",
        "egress": "refused: address not resolved from a declared host",
        "native": "importing ctypes refused: nodes may not load or call native code",
    }
    for node, refusal in expected.items():
        assert not results[node]["passed"], results[node]
        assert refusal in results[node]["error"], results[node]
    assert "hello from the node" in done.stderr  # node prints reach stderr, not the JSON envelope


def test_the_calling_process_is_not_confined(hostile: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["test", str(hostile / "honest")]) == 0
    assert "hello from the node" in capsys.readouterr().err
    # This pytest process can still start programs and read files the nodes could not.
    assert subprocess.run(["true"], check=False).returncode == 0
    assert Path("/etc/passwd").read_text()
    assert os.environ.get("PATH")


def test_a_node_ending_the_process_fails_its_test_and_a_crash_is_a_clear_error(tmp_path: Path) -> None:
    nodes = {"quit": "import os\nasync def run(ctx, input):\n    os._exit(3)\n"}
    directory = build_workflow(tmp_path / "quit", nodes, fixtures={"quit.json": {"input": {}}})
    done = tntc("test", str(directory), env=base_env())
    assert done.returncode == 1
    assert "os._exit(3) refused: a node may not end or signal the engine process" in done.stdout

    nodes = {"crash": "import faulthandler\nasync def run(ctx, input):\n    faulthandler._sigsegv()\n"}
    directory = build_workflow(tmp_path / "crash", nodes, fixtures={"crash.json": {"input": {}}})
    done = tntc("test", str(directory), env=base_env())
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert "was killed by signal 11 before reporting" in done.stdout + done.stderr
