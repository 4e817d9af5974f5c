"""`tntc test` on the command line: text, the JSON envelope, exit codes, --warn, --env, --live."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tentacular.cli.main import main
from tests.conftest import EXAMPLES
from tests.testing.conftest import BuildWorkflow

FAILING = {
    "score": "async def run(ctx, input):\n    return {'score': 1}\n",
    "boom": "async def run(ctx, input):\n    raise RuntimeError('kaputt')\n",
}
FAILING_FIXTURES = {
    "score.json": {"input": {}, "expected": {"score": 2}},
    "boom.json": {"input": {}},
}
DRIFTING = {"n": "async def run(ctx, input):\n    return (await ctx.fetch('github', '/user')).json()\n"}


def test_text_output_for_a_passing_workflow(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["test", str(EXAMPLES / "hn-digest")]) == 0
    out, _err = capsys.readouterr()
    assert "─── Test Results: hn-digest ───" in out
    assert "  ✓ fetch-stories[upstream-error] (" in out
    assert "5/5 tests passed" in out
    assert "=== Contract Drift Report ===" in out and "Has violations: NO" in out
    assert "[PASS] hn-digest: 5/5 tests passed" in out


def test_text_output_for_failures(make_wf: BuildWorkflow, capsys: pytest.CaptureFixture[str]) -> None:
    directory = make_wf(FAILING, fixtures=FAILING_FIXTURES)
    assert main(["test", str(directory)]) == 1
    out, err = capsys.readouterr()
    assert "✗ score[default]" in out
    assert "first difference at $.score: value differs" in out
    assert "expected: 2" in out and "actual:   1" in out
    assert "RuntimeError: kaputt" in out
    assert 'File "nodes/boom.py", line 2, in run' in out
    assert "Traceback" not in out + err  # only the node's own lines, never ours
    assert "[FAIL] drift-lab: 2 of 2 tests failed" in err


def test_json_envelope_only_on_stdout_and_non_zero_exit(
    make_wf: BuildWorkflow, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = make_wf(FAILING, fixtures=FAILING_FIXTURES)
    assert main(["test", str(directory), "-o", "json"]) == 1
    out, _err = capsys.readouterr()
    assert out.count("\n") == 1
    document = json.loads(out)
    assert (document["command"], document["status"]) == ("test", "fail")
    assert document["summary"] == "drift-lab: 2 of 2 tests failed"
    by_node = {r["node"]: r for r in document["results"]}
    assert set(by_node["score"]) >= {"node", "case", "passed", "durationMs", "expected", "actual", "error"}
    assert by_node["score"]["expected"] == {"score": 2} and by_node["score"]["actual"] == {"score": 1}
    assert by_node["score"]["difference"]["path"] == "$.score"
    assert by_node["boom"]["traceback"][0] == 'File "nodes/boom.py", line 2, in run'
    assert document["drift"]["summary"]["hasViolations"] is False


def test_json_envelope_for_a_passing_pipeline(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["test", str(EXAMPLES / "word-counter"), "--pipeline", "-o", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["status"] == "pass" and document["mode"] == "pipeline"
    assert [r["node"] for r in document["results"]] == ["tokenize", "count-words", "measure", "report"]


def test_strict_drift_fails_and_warn_passes(
    make_wf: BuildWorkflow, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = make_wf(DRIFTING, fixtures={"n.json": {"input": {}}})
    assert main(["test", str(directory)]) == 1
    out, err = capsys.readouterr()
    assert "[direct-fetch]" in out and "❌ STRICT MODE" in out
    assert "use --warn" in err
    assert main(["test", str(directory), "--warn"]) == 0
    out, _err = capsys.readouterr()
    assert "WARNINGS (audit mode):" in out and "AUDIT MODE" in out
    assert main(["test", str(directory), "--warn", "-o", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["drift"]["enforcement"] == "audit"
    assert document["drift"]["warnings"][0]["type"] == "direct-fetch"


def test_environment_enforcement_audit(
    make_wf: BuildWorkflow,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.yaml").write_text(
        "environments:\n  ci:\n    enforcement: strict\n  dev:\n    enforcement: audit\n"
    )
    monkeypatch.setenv("TENTACULAR_HOME", str(home))
    monkeypatch.delenv("TENTACULAR_ENV", raising=False)
    monkeypatch.chdir(tmp_path)
    directory = make_wf(DRIFTING, fixtures={"n.json": {"input": {}}})
    assert main(["test", str(directory), "--env", "dev"]) == 0
    assert main(["test", str(directory), "--env", "ci"]) == 1
    monkeypatch.setenv("TENTACULAR_ENV", "dev")
    assert main(["test", str(directory)]) == 0
    capsys.readouterr()


def test_missing_target_and_unknown_node(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["test", str(tmp_path / "nope" / "x")]) == 2
    assert "neither a workflow directory" in capsys.readouterr().err
    assert main(["test", str(EXAMPLES / "hn-digest" / "nope"), "-o", "json"]) == 2
    document = json.loads(capsys.readouterr().out)
    assert 'Node "nope" is not defined' in document["summary"]
    assert "fetch-stories" in document["hints"][0]


def test_live_is_handed_to_the_deploy_face(monkeypatch: pytest.MonkeyPatch) -> None:
    import tentacular.deploy as face
    from tentacular.deploy._kube.trigger import RunOutcome
    from tentacular.deploy._report import DeployReport

    calls: list[tuple[str, Any]] = []

    def live_test(target: str, options: Any, **_kw: Any) -> DeployReport:
        calls.append((target, options))
        return DeployReport("wf", execution=RunOutcome("p", "Succeeded", {"success": True}, ""))

    monkeypatch.setattr(face, "live_test", live_test)
    assert main(["test", "wf", "--live", "--keep", "--timeout", "2m", "--env", "stage"]) == 0
    [(target, options)] = calls
    assert target == "wf"
    assert options == face.LiveTestOptions(env="stage", keep=True, timeout=120.0, warn=False)
    assert main(["test", "wf", "--live", "--timeout", "soon"]) == 2
    assert len(calls) == 1  # a bad duration is refused before anything is deployed


def test_node_prints_do_not_corrupt_the_json_envelope(
    make_wf: BuildWorkflow, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = make_wf(
        {"chatty": "def run(ctx, input):\n    print('hello from the node')\n    return 1\n"},
        fixtures={"chatty.json": {"input": {}, "expected": 1}},
    )
    assert main(["test", str(directory), "-o", "json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["status"] == "pass"
    assert "hello from the node" in err
