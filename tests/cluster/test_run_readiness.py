"""`tntc run <name>` right after `tntc deploy --no-wait` waits for the Deployment (issue 10, Build 6)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cluster.emulator import KubeEmulator
from tests.cluster.test_lifecycle import copy_example, tntc


def test_run_waits_for_the_deployment_to_be_ready(
    emulator: KubeEmulator, kubeconfig: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    emulator.ready_after_polls = 3
    code, _, _ = tntc(capsys, "deploy", str(copy_example("word-counter", tmp_path)), "--force", "--no-wait")
    assert code == 0
    deployment = emulator.get("deployments", "default", "word-counter")
    assert not (deployment.get("status") or {}).get("readyReplicas")  # the engine is not serving yet
    code, doc, err = tntc(capsys, "run", "word-counter", "--input", '{"text": "hi"}')
    assert code == 0, doc
    assert doc["status"] == "pass" and doc["summary"] == "workflow word-counter completed"
    assert doc["execution"]["outputs"] == {"echo": {"text": "hi"}}
    assert "Deployment ready (1/1)" in err


def test_run_of_a_deployment_that_never_gets_ready_times_out_on_readiness(
    emulator: KubeEmulator, kubeconfig: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    emulator.never_ready.add("word-counter")
    code, _, _ = tntc(capsys, "deploy", str(copy_example("word-counter", tmp_path)), "--force", "--no-wait")
    assert code == 0
    code, doc, _ = tntc(capsys, "run", "word-counter", "--timeout", "10s")
    assert code == 1
    assert doc["error"]["code"] == "rollout_timeout"
    assert doc["summary"].startswith(
        "timed out waiting for deployment word-counter to become ready (ready: 0/1)"
    )
    assert "tntc status word-counter" in doc["error"]["hint"]
    assert emulator.sim.runs == []  # no run pod was started
