"""deploy → status → run → logs → list → undeploy through the CLI against the API emulator."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tentacular.cli.main import main
from tests.cluster.emulator import APPLY_PATCH, KubeEmulator
from tests.conftest import EXAMPLES

EXAMPLE_NAMES = sorted(p.name for p in EXAMPLES.iterdir() if (p / "workflow.yaml").is_file())


def tntc(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any], str]:
    code = main([*argv, "-o", "json"])
    out, err = capsys.readouterr()
    assert out.count("\n") == 1, f"stdout must be one JSON document, got: {out!r}"
    return code, json.loads(out), err


def copy_example(name: str, tmp_path: Path) -> Path:
    target = tmp_path / name
    shutil.copytree(EXAMPLES / name, target, ignore=shutil.ignore_patterns("__pycache__", ".tentacular"))
    return target


@pytest.mark.parametrize("example", EXAMPLE_NAMES)
def test_full_lifecycle(
    example: str, emulator: KubeEmulator, kubeconfig: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = copy_example(example, tmp_path)
    code, doc, err = tntc(
        capsys, "deploy", str(directory), "--force", "--runtime-class", "", "--allow-missing-secrets"
    )
    assert code == 0, doc
    assert doc["command"] == "deploy" and doc["status"] == "pass"
    assert doc["summary"] == f"deployed {example} to default"
    assert [p["name"] for p in doc["phases"]] == ["contract", "render", "preflight", "apply", "wait"]
    assert all(m["action"] == "created" for m in doc["manifests"])
    assert f"Deploying {example} to namespace default..." in err

    patches = emulator.calls("PATCH")
    assert patches and all(p.content_type == APPLY_PATCH for p in patches)
    assert all(p.query["fieldManager"] == "tntc" for p in patches)
    applied_kinds = [p.body["kind"] for p in patches]
    assert applied_kinds.index("ConfigMap") < applied_kinds.index("Deployment")
    prune_lists = [r for r in emulator.calls("GET", "cronjobs") if "labelSelector" in r.query]
    assert prune_lists and all(
        r.query["labelSelector"]
        == f"app.kubernetes.io/name={example},app.kubernetes.io/managed-by=tentacular"
        for r in prune_lists
    )

    code, doc, _ = tntc(capsys, "status", example, "--detail")
    assert code == 0 and doc["workflow"]["ready"] is True
    assert doc["workflow"]["pods"] and doc["workflow"]["pods"][0]["phase"] == "Running"

    code, doc, _ = tntc(capsys, "run", example, "--input", '{"text": "a b a"}')
    assert code == 0, doc
    assert doc["execution"]["success"] is True
    assert doc["execution"]["outputs"] == {"echo": {"text": "a b a"}}
    run_pod = next(r.body for r in emulator.calls("POST", "pods"))
    assert run_pod["metadata"]["labels"]["tentacular.io/role"] == "trigger"
    assert "app.kubernetes.io/name" not in run_pod["metadata"]["labels"]
    container = run_pod["spec"]["containers"][0]
    assert container["command"][1:3] == ["-m", "tentacular.engine.trigger_client"]
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert run_pod["spec"]["securityContext"]["runAsNonRoot"] is True
    assert not emulator.objects("pods", "default").keys() & {run_pod["metadata"]["name"]}, "run pod deleted"

    code, doc, _ = tntc(capsys, "logs", example, "--tail", "2")
    assert code == 0 and len(doc["lines"]) == 2

    code, doc, _ = tntc(capsys, "list")
    assert code == 0 and [w["name"] for w in doc["workflows"]] == [example]
    lists = [r for r in emulator.calls("GET", "deployments") if "labelSelector" in r.query]
    assert lists[-1].query["labelSelector"] == "app.kubernetes.io/managed-by=tentacular"

    code, doc, _ = tntc(capsys, "undeploy", example, "--yes")
    assert code == 0 and doc["removed"]
    assert "NetworkPolicy/" + f"{example}-netpol" in doc["removed"]
    for resource in (
        "deployments",
        "services",
        "configmaps",
        "cronjobs",
        "networkpolicies",
        "secrets",
        "pods",
    ):
        assert emulator.objects(resource, "default") == {}, resource


def test_redeploy_unchanged_changes_nothing(
    emulator: KubeEmulator, kubeconfig: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = copy_example("hn-digest", tmp_path)
    assert tntc(capsys, "deploy", str(directory), "--force")[0] == 0
    before = {r: emulator.objects(r, "default") for r in ("configmaps", "deployments", "cronjobs")}
    code, doc, _ = tntc(capsys, "deploy", str(directory), "--force")
    assert code == 0
    assert {m["action"] for m in doc["manifests"]} == {"unchanged"}
    assert emulator.sim.rollouts["hn-digest"] == 1
    after = {r: emulator.objects(r, "default") for r in ("configmaps", "deployments", "cronjobs")}
    assert {r: {n: o["metadata"]["resourceVersion"] for n, o in v.items()} for r, v in before.items()} == {
        r: {n: o["metadata"]["resourceVersion"] for n, o in v.items()} for r, v in after.items()
    }


def test_changing_one_node_changes_configmap_and_hash_only(
    emulator: KubeEmulator, kubeconfig: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = copy_example("hn-digest", tmp_path)
    assert tntc(capsys, "deploy", str(directory), "--force")[0] == 0
    old = emulator.get("deployments", "default", "hn-digest")
    assert old is not None
    node = directory / "nodes" / "format_digest.py"
    node.write_text(node.read_text() + "\n# tweak\n")
    code, doc, _ = tntc(capsys, "deploy", str(directory), "--force")
    assert code == 0
    changed = {m["object"]: m["action"] for m in doc["manifests"] if m["action"] != "unchanged"}
    (code_map,) = [ref for ref in changed if ref.startswith("ConfigMap/")]
    assert changed == {code_map: "created", "Deployment/hn-digest": "configured"}
    new_code = new_code_name = code_map.removeprefix("ConfigMap/")
    assert new_code.startswith("hn-digest-code-1.0-")
    old_code = old["spec"]["template"]["spec"]["volumes"][0]["configMap"]["name"]
    assert old_code != new_code and emulator.get("configmaps", "default", old_code) is not None
    new = emulator.get("deployments", "default", "hn-digest")
    assert new is not None
    old_t, new_t = old["spec"]["template"], new["spec"]["template"]
    assert (
        old_t["metadata"]["annotations"]["tentacular.io/code-hash"]
        != new_t["metadata"]["annotations"]["tentacular.io/code-hash"]
    )
    old_t["metadata"]["annotations"].pop("tentacular.io/code-hash")
    new_t["metadata"]["annotations"].pop("tentacular.io/code-hash")
    assert new_t["spec"]["volumes"][0]["configMap"]["name"] == new_code_name
    old_t["spec"]["volumes"][0]["configMap"]["name"] = new_code_name
    old_items = old_t["spec"]["volumes"][0]["configMap"]["items"]
    assert old_items == new_t["spec"]["volumes"][0]["configMap"]["items"]
    assert old_t == new_t
    assert emulator.sim.rollouts["hn-digest"] == 2


def test_removing_cron_trigger_prunes_cronjob(
    emulator: KubeEmulator, kubeconfig: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = copy_example("hn-digest", tmp_path)
    assert tntc(capsys, "deploy", str(directory), "--force")[0] == 0
    assert set(emulator.objects("cronjobs", "default")) == {"hn-digest-cron"}
    spec = directory / "workflow.yaml"
    text = spec.read_text()
    spec.write_text(text.replace('  - type: cron\n    name: morning\n    schedule: "0 8 * * *"\n', ""))
    code, doc, _ = tntc(capsys, "deploy", str(directory), "--force")
    assert code == 0, doc
    assert {"object": "CronJob/hn-digest-cron", "action": "pruned"} in doc["manifests"]
    assert emulator.objects("cronjobs", "default") == {}


def test_logs_follow_streams_the_running_pod(
    emulator: KubeEmulator, kubeconfig: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = copy_example("word-counter", tmp_path)
    code, doc, _ = tntc(capsys, "deploy", str(directory), "--force", "--runtime-class", "")
    assert code == 0, doc
    pod = next(iter(emulator.objects("pods", "default")))
    emulator.sim.logs[("default", pod)] = ["first line", "second line"]
    emulator.clear_requests()

    assert main(["logs", "word-counter", "-f", "--tail", "5"]) == 0
    out, err = capsys.readouterr()
    assert out == "first line\nsecond line\n"  # the log itself, nothing else, on stdout
    assert f"Logs of {pod}" in err
    (request,) = [r for r in emulator.calls("GET", "pods") if r.path.endswith("/log")]
    assert request.query["follow"] == "true"
    assert request.query["tailLines"] == "5"
