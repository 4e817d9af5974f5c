"""Rough edges a new user hits (issue 10, Build 2 and 4), each as the user types it.

Each test asserts the message, the exit code and the envelope. Local runs go through a real
``tntc`` process: they install the runtime guard, which must not leak into the test process.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from tentacular.cli.main import main
from tests.conftest import EXAMPLES


def tntc(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "import sys; from tentacular.cli.main import run; run()", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env={**os.environ, "NO_COLOR": "1"},
    )


def envelope(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    document = json.loads(capsys.readouterr().out)
    assert isinstance(document, dict)
    return document


def flow(directory: Path, node: str, *, config: dict[str, Any] | None = None, **extra: Any) -> Path:
    (directory / "nodes").mkdir(parents=True)
    spec = {
        "name": "edge-flow",
        "version": "1.0",
        "triggers": [{"type": "manual"}],
        "nodes": {"only": {"path": "./nodes/only.py"}},
        "edges": [],
        "config": {"timeout": "30s", "retries": 0, **(config or {})},
        **extra,
    }
    (directory / "workflow.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    (directory / "nodes" / "only.py").write_text(textwrap.dedent(node).lstrip())
    return directory


def test_validate_rejects_the_namespace_deploy_would_reject(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Build 2: one DNS-label rule: a 70-character namespace fails in validate, not only in deploy."""
    long_namespace = "n" * 70
    directory = flow(
        tmp_path / "wf", "def run(ctx, input):\n    return 1\n", deployment={"namespace": long_namespace}
    )
    assert main(["validate", str(directory), "-o", "json"]) == 2
    document = envelope(capsys)
    assert document["status"] == "fail" and document["error"]["code"] == "invalid_workflow"
    [issue] = [e for e in document["errors"] if e["path"] == "deployment.namespace"]
    assert "DNS-1123 label" in issue["message"]
    # ... and the same rule stops a deploy given that namespace with -n:
    word_counter = str(EXAMPLES / "word-counter")
    assert main(["deploy", "--dry-run", word_counter, "-n", long_namespace, "-o", "json"]) == 2
    assert envelope(capsys)["summary"] == f'invalid namespace "{long_namespace}"'


def test_an_unknown_env_fails_test_exactly_like_deploy(capsys: pytest.CaptureFixture[str]) -> None:
    """Build 2: `--env nope` no longer warns in `test` and fails in `deploy`: it fails in both."""
    word_counter = str(EXAMPLES / "word-counter")
    results = []
    for argv in (["test", word_counter], ["deploy", "--dry-run", word_counter]):
        assert main(["--env", "nope", *argv, "-o", "json"]) == 2
        results.append(envelope(capsys))
    test_doc, deploy_doc = results
    assert test_doc["error"] == deploy_doc["error"]
    assert test_doc["error"]["code"] == "config"
    assert test_doc["summary"] == 'environment "nope" not found in config'
    assert "tntc configure --env nope" in test_doc["error"]["hint"]


def test_timeout_takes_a_duration_on_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    """Build 2: `--timeout` takes 30s, 2m or plain seconds; anything else is a usage error."""
    for argv in (
        ["run", "my-flow", "--timeout", "soon"],
        ["run", "--local", str(EXAMPLES / "word-counter"), "--timeout", "soon"],
        ["test", str(EXAMPLES / "word-counter"), "--live", "--timeout", "soon"],
        ["deploy", str(EXAMPLES / "word-counter"), "--timeout", "soon"],
    ):
        assert main([*argv, "-o", "json"]) == 2, argv
        document = envelope(capsys)
        assert document["error"]["code"] == "usage"
        assert document["summary"] == 'invalid --timeout "soon"'
        assert document["error"]["hint"] == "e.g. --timeout 30s, 2m or 90"


def test_run_local_timeout_is_honoured(tmp_path: Path) -> None:
    """Build 2: `tntc run --local DIR --timeout 1s` stops a run that would take 30 s."""
    directory = flow(
        tmp_path / "slow", "import asyncio\n\nasync def run(ctx, input):\n    await asyncio.sleep(30)\n"
    )
    done = tntc("run", "--local", str(directory), "--timeout", "1s", "-o", "json")
    assert done.returncode == 1, done.stderr
    document = json.loads(done.stdout)
    assert document["command"] == "run" and document["status"] == "fail"
    assert document["error"]["code"] == "run_timeout"
    assert document["summary"] == "edge-flow did not finish within 1s (--timeout); its nodes were cancelled"


def test_a_hot_reload_of_config_timeout_reaches_the_shared_http_client(tmp_path: Path) -> None:
    """Build 2: the reloaded `config.timeout` is the HTTP client's timeout, not the one at start."""
    from tentacular.engine._startup import boot

    directory = flow(tmp_path / "wf", "async def run(ctx, input):\n    return 1\n", config={"timeout": "5s"})
    engine, _ = boot(directory, cluster_secrets=None)
    client = engine.services.http.get()
    assert client.timeout.read == 5.0
    spec = yaml.safe_load((directory / "workflow.yaml").read_text())
    spec["config"]["timeout"] = "42s"
    (directory / "workflow.yaml").write_text(yaml.safe_dump(spec))
    engine.reload()
    assert engine.services.http.get() is client  # the pool survives the reload
    assert client.timeout.read == 42.0
    asyncio.run(engine.services.http.aclose())


def test_run_of_a_path_without_local_suggests_local(capsys: pytest.CaptureFixture[str]) -> None:
    """Build 4: `tntc run ./dir` (a path where a name is expected) says to use --local."""
    target = "./example-workflows/word-counter"
    assert main(["run", target]) == 2
    err = capsys.readouterr().err
    assert f'"{target}" is a path, but tntc run without --local runs a deployed workflow by name' in err
    assert f"hint: to run it on the embedded engine: tntc run --local {target}" in err
    assert main(["run", target, "-o", "json"]) == 2
    assert envelope(capsys)["error"]["code"] == "usage"


@pytest.mark.parametrize(
    "argv",
    [["status", "Bad_Name"], ["logs", "Bad_Name"], ["undeploy", "Bad_Name", "--yes"], ["run", "Bad_Name"]],
)
def test_names_are_dns_labels_checked_before_any_api_call(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Build 4: a bad name is refused locally; with no kubeconfig an API call would say so instead."""
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing-kubeconfig"))
    assert main([*argv, "-o", "json"]) == 2
    document = envelope(capsys)
    assert document["error"]["code"] == "invalid_input"
    assert document["summary"].startswith('"Bad_Name" is not a workflow name')
    assert "tntc list" in document["error"]["hint"]


def test_the_quick_start_works_as_written(tmp_path: Path) -> None:
    """Build 7: `tntc init` then the README's `run --local ... --input` uses the input; next steps
    name `tntc dev`."""
    created = tntc("init", "my-wf", cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    assert "tntc dev my-wf" in created.stdout
    assert 'tntc run --local my-wf --input \'{"name": "you"}\'' in created.stdout
    done = tntc("run", "--local", "my-wf", "--input", '{"name": "you"}', "-o", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["execution"]["outputs"]["hello"] == {"message": "Hello, you!"}
    tested = tntc("test", "my-wf", cwd=tmp_path)
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_an_invalid_port_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """Build 4: `tntc dev -p 70000` is refused as usage (exit 2) before anything starts."""
    assert main(["dev", str(EXAMPLES / "word-counter"), "-p", "70000", "-o", "json"]) == 2
    document = envelope(capsys)
    assert document["command"] == "dev" and document["error"]["code"] == "usage"
    assert document["summary"].endswith("less than or equal to 65535")


def test_a_port_in_use_suggests_another_with_p() -> None:
    """Build 4: "address already in use" says which flag picks another port."""
    import socket

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        done = tntc("dev", str(EXAMPLES / "word-counter"), "-p", str(port))
    assert done.returncode == 1, done.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
    assert f"hint: another process holds port {port}; pick another with -p" in done.stderr
