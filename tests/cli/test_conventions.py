"""CLI conventions: global options anywhere, the JSON envelope, exit codes, no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tentacular.cli.main import hoist_global_options, main
from tests.conftest import EXAMPLES, REPO_ROOT

TNTC = [sys.executable, "-m", "tentacular.cli.main"]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["validate", "x", "-o", "json"], ["-o", "json", "validate", "x"]),
        (["validate", "--output=json", "x"], ["--output=json", "validate", "x"]),
        (["status", "wf", "-n", "prod", "--env", "dev"], ["-n", "prod", "--env", "dev", "status", "wf"]),
        (["run", "--debug", "wf"], ["--debug", "run", "wf"]),
        (["run", "--", "-o", "json"], ["run", "--", "-o", "json"]),
        (["-ojson", "validate"], ["-ojson", "validate"]),
    ],
)
def test_global_options_are_hoisted(argv: list[str], expected: list[str]) -> None:
    assert hoist_global_options(argv) == expected


def test_envelope_shape(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(EXAMPLES / "hn-digest"), "-o", "json"]) == 0
    out, _err = capsys.readouterr()
    document = json.loads(out)
    assert out.count("\n") == 1
    assert document["version"] == "1"
    assert document["command"] == "validate"
    assert document["status"] == "pass"
    assert document["hints"] == []
    assert document["timing"]["startedAt"].endswith("Z")
    assert isinstance(document["timing"]["durationMs"], int)
    assert document["derived"]["egressRules"][2]["host"] == "hacker-news.firebaseio.com"
    assert document["stages"] == [["fetch-stories"], ["filter-stories"], ["format-digest"]]


def test_unknown_option_is_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--bogus"]) == 2
    _out, err = capsys.readouterr()
    assert "No such option" in err
    assert "Traceback" not in err


def test_usage_error_in_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--bogus", "-o", "json"]) == 2
    document = json.loads(capsys.readouterr().out)
    assert document["status"] == "fail"
    assert document["error"]["code"] == "usage"


def test_missing_workflow_is_input_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "no workflow.yaml found" in err
    assert "tntc init" in err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib.metadata import version

    assert main(["version", "-o", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["tntcVersion"] == version("tentacular")  # from the package metadata (D1)
    head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=REPO_ROOT)
    if head.returncode == 0:  # this checkout is the installed (editable) package
        assert document["commit"] == head.stdout.strip()


def test_help_imports_nothing_heavy() -> None:
    """The import budget of `tntc --help`: no Kubernetes client, HTTP server or HTTP client."""
    probe = (
        "import sys\n"
        "from tentacular.cli.main import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = ('lightkube', 'httpx', 'httpcore', 'starlette', 'uvicorn', 'nats', 'watchfiles',\n"
        "         'tentacular.engine', 'tentacular.deploy', 'tentacular.testing', 'opentelemetry')\n"
        "print('HEAVY:' + ','.join(sorted({m.split('.')[0] if not m.startswith('tentacular') else m\n"
        "    for m in sys.modules if any(m == h or m.startswith(h + '.') for h in heavy)})))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip().splitlines()[-1] == "HEAVY:", result.stdout


def test_validate_imports_no_runtime() -> None:
    """The import budget of `tntc validate`: the spec layer plus the settings and secret checks its
    warnings need; never the engine's runtime (context, executor, Deno, telemetry), the testing
    layer, the Kubernetes client or an HTTP stack."""
    heavy = (
        "lightkube",
        "httpx",
        "httpx2",
        "httpcore",
        "starlette",
        "uvicorn",
        "nats",
        "watchfiles",
        "opentelemetry",
        "rich",
        "tentacular.engine._context",
        "tentacular.engine._core",
        "tentacular.engine._executor",
        "tentacular.engine._deno",
        "tentacular.engine._telemetry",
        "tentacular.engine._guard",
        "tentacular.testing",
        "tentacular.deploy._kube",
        "tentacular.deploy._manifests",
        "tentacular.agent",
    )
    probe = (
        "import sys\n"
        "from tentacular.cli.main import main\n"
        f"assert main(['validate', {str(EXAMPLES / 'hn-digest')!r}]) == 0\n"
        f"heavy = {heavy!r}\n"
        "print('LOADED', sorted({h for h in heavy for m in sys.modules\n"
        "    if m == h or m.startswith(h + '.')}))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert "LOADED []" in result.stdout, result.stdout


def test_console_script_runs_without_traceback_on_bad_input(tmp_path: Path) -> None:
    (tmp_path / "workflow.yaml").write_text("name: [\n")
    result = subprocess.run([*TNTC, "validate", str(tmp_path)], capture_output=True, text=True, cwd=REPO_ROOT)
    assert result.returncode == 2
    assert "invalid YAML" in result.stderr
    assert "Traceback" not in result.stderr
