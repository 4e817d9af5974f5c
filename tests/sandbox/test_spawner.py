"""The pre-sandbox spawner: with seccomp forbidding fork/exec in the engine, a worker (the Deno
worker's seat) can still be started, talked to over pipes, stopped and started again, and it runs
under the engine's Landlock file limits. Each case runs in a child process."""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

from tests.guard.support import PYTHON, base_env, outside_tmp_dir, write_workflow
from tests.sandbox.support import require_kernel_layer

SCRIPT = """
import json, os, signal, sys
from tentacular.engine import _guard, _kernel, _spawner, _startup

prepared = _startup.prepare(sys.argv[1], log_stream=sys.stderr)
policy = _guard.policy_for(prepared.loaded.workflow, str(prepared.workflow_dir.resolve()))
status = _kernel.apply_layers(_kernel.plan_for(policy), with_spawner=True)
report = {"kernel": status.to_dict()}
try:
    os.fork()
except PermissionError as exc:
    report["engine fork"] = "refused"

WORKER = '''
import sys
line = sys.stdin.readline()
try:
    open("/etc/passwd").read()
    passwd = "read"
except PermissionError:
    passwd = "refused"
print(line.strip().upper(), passwd, flush=True)
'''

def talk(worker, text):
    os.write(worker.stdin_fd, text.encode() + b"\\n")
    os.close(worker.stdin_fd)
    with os.fdopen(worker.stdout_fd, "rb") as out:
        return out.read().decode().strip()

env = {"PATH": "/usr/bin:/bin"}
first = _spawner.spawn_worker([sys.executable, "-c", WORKER], env=env, cwd=sys.argv[1])
report["first"] = talk(first, "hello")
report["first exit"] = first.wait(timeout=30)
sleeper = _spawner.spawn_worker([sys.executable, "-c", "import time; time.sleep(60)"], env=env, cwd="/tmp")
report["sleeper running"] = sleeper.poll() is None
sleeper.kill()
report["sleeper exit"] = sleeper.wait(timeout=30)
second = _spawner.spawn_worker([sys.executable, "-c", WORKER], env=env, cwd=sys.argv[1])
report["second"] = talk(second, "again")
report["second exit"] = second.wait(timeout=30)
try:
    _spawner.spawn_worker(["/nonexistent/deno"], env=env, cwd="/tmp")
except Exception as exc:
    report["missing program"] = str(exc)
print(json.dumps(report))
"""


def test_workers_start_restart_and_stay_under_the_file_limits() -> None:
    require_kernel_layer()
    workflow = write_workflow(
        outside_tmp_dir() / "spawner",
        {"n": "async def run(ctx, input):\n    return 1\n"},
        contract={"version": "1"},
    )
    done = subprocess.run(
        [PYTHON, "-c", textwrap.dedent(SCRIPT), str(workflow)],
        env=base_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["kernel"]["seccomp"].startswith("active")
    assert report["engine fork"] == "refused"
    assert report["first"] == "HELLO refused"  # the worker cannot read /etc/passwd either
    assert report["first exit"] == 0
    assert report["sleeper running"] is True
    assert report["sleeper exit"] == -9
    assert report["second"] == "AGAIN refused"
    assert report["second exit"] == 0
    assert "cannot start worker: FileNotFoundError" in report["missing program"]


def test_without_the_guard_workers_start_directly(tmp_path: Path) -> None:
    script = (
        "import os, sys\nfrom tentacular.engine._spawner import spawn_worker\n"
        "w = spawn_worker([sys.executable, '-c', 'print(42)'], env={}, cwd='/')\n"
        "print(os.read(w.stdout_fd, 100).decode().strip(), w.wait(timeout=30))\n"
    )
    done = subprocess.run([PYTHON, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.split() == ["42", "0"]


# A process with a tracer provider (tracing on, or an earlier in-process test) forks twice to run a
# TypeScript workflow's tests: the confined child, then the Deno spawner inside it. The provider's
# fork handler used to deadlock the spawner on a thread-pool lock the fork left held.
TRACED_THEN_CONFINED = """
import sys
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from tentacular.engine._telemetry import Observability
from tentacular.spec import load_workflow
from tentacular.testing import run_tests

workflow = load_workflow(sys.argv[1]).workflow
Observability.create(workflow, env={}, span_processor=SimpleSpanProcessor(InMemorySpanExporter()))
report = run_tests(sys.argv[1])
print("ok" if report.ok else [(r.name, r.error) for r in report.failed])
"""


def test_a_traced_process_still_starts_the_spawner_in_its_confined_child() -> None:
    example = Path(__file__).resolve().parents[2] / "example-workflows" / "uptime-report"
    done = subprocess.run(
        [PYTHON, "-c", TRACED_THEN_CONFINED, str(example)],
        env=base_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stdout + done.stderr
