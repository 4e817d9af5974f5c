"""deploy → redeploy → status → run → audit → logs → list → undeploy through the CLI, as
cluster-admin, against the real control plane (tests/cluster/kube.py) in a namespace that
enforces the restricted Pod Security profile."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tentacular.cli.main import main
from tests.cluster.kube import Kube
from tests.conftest import EXAMPLES

EXAMPLE_NAMES = sorted(p.name for p in EXAMPLES.iterdir() if (p / "workflow.yaml").is_file())
MANAGED = {"app.kubernetes.io/managed-by": "tentacular"}
# What undeploy must leave none of.
TNTC_RESOURCES = ("deployments", "services", "configmaps", "cronjobs", "networkpolicies", "secrets")
PLURALS = {
    "ConfigMap": "configmaps",
    "Secret": "secrets",
    "Service": "services",
    "Deployment": "deployments",
    "CronJob": "cronjobs",
    "NetworkPolicy": "networkpolicies",
    "Ingress": "ingresses",
    "ServiceAccount": "serviceaccounts",
}


def tntc(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any], str]:
    code = main([*argv, "-o", "json"])
    out, err = capsys.readouterr()
    assert out.count("\n") == 1, f"stdout must be one JSON document, got: {out!r}"
    return code, json.loads(out), err


def copy_example(name: str, tmp_path: Path) -> Path:
    """The example in a scratch dir, its ``.secrets.yaml.example`` (uncommented) as local secrets."""
    target = tmp_path / name
    shutil.copytree(EXAMPLES / name, target, ignore=shutil.ignore_patterns("__pycache__", ".tentacular"))
    example_secrets = target / ".secrets.yaml.example"
    if example_secrets.is_file():
        lines = example_secrets.read_text().splitlines()
        (target / ".secrets.yaml").write_text("".join(line.removeprefix("# ") + "\n" for line in lines))
    return target


def touch_a_node(directory: Path) -> None:
    """A code change in one node (a comment), in the node's own language."""
    node = sorted((directory / "nodes").glob("[!_]*.*"))[0]
    comment = "// tweak\n" if node.suffix == ".ts" else "# tweak\n"
    node.write_text(node.read_text() + "\n" + comment)


def live(kube: Kube, manifests: list[dict[str, str]]) -> dict[str, dict[str, Any]]:
    """The cluster's copy of every object a deploy reported, by ``Kind/name``."""
    found = {}
    for entry in manifests:
        kind, name = entry["object"].split("/", 1)
        obj = kube.get(PLURALS[kind], name)
        assert obj is not None, f"{entry['object']} is not in the cluster"
        found[entry["object"]] = obj
    return found


def versions(objects: dict[str, dict[str, Any]]) -> dict[str, str]:
    return {key: obj["metadata"]["resourceVersion"] for key, obj in objects.items()}


def replica_sets(kube: Kube, name: str) -> dict[str, dict[str, Any]]:
    return kube.objects("replicasets", **{"app.kubernetes.io/name": name})


@pytest.mark.parametrize("example", EXAMPLE_NAMES)
def test_full_lifecycle(
    example: str,
    admin_kubeconfig: Path,
    kube: Kube,
    pod_logs: Callable[[list[str]], None],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    directory = copy_example(example, tmp_path)
    deploy = ("deploy", str(directory), "--force")
    code, doc, err = tntc(capsys, *deploy)
    assert code == 0, (doc, err)
    assert doc["command"] == "deploy" and doc["status"] == "pass"
    assert doc["summary"] == f"deployed {example} to {kube.namespace}"
    assert [p["name"] for p in doc["phases"]] == ["contract", "render", "preflight", "apply", "wait"]
    assert all(m["action"] == "created" for m in doc["manifests"])
    assert f"Deploying {example} to namespace {kube.namespace}..." in err

    # Every object went in by server-side apply as field manager tntc, and was admitted.
    applies = kube.writes("patch")
    assert applies and all(w.query.get("fieldManager") == "tntc" for w in applies)
    assert all(w.code in (200, 201) and w.user == "admin" for w in applies)
    applied = [w.resource for w in applies]
    assert applied.index("configmaps") < applied.index("deployments")
    objects = live(kube, doc["manifests"])
    for key, obj in objects.items():
        managers = {(m["manager"], m["operation"]) for m in obj["metadata"]["managedFields"]}
        assert ("tntc", "Apply") in managers, key
    deployment = objects[f"Deployment/{example}"]
    assert deployment["status"]["readyReplicas"] == 1
    (pod,) = kube.objects("pods", **{"app.kubernetes.io/name": example}).values()
    assert pod["status"]["phase"] == "Running"

    # A no-op redeploy writes nothing the server would count as a change.
    kube.clear_writes()
    code, doc, _ = tntc(capsys, *deploy)
    assert code == 0, doc
    assert {m["action"] for m in doc["manifests"]} == {"unchanged"}
    assert versions(live(kube, doc["manifests"])) == versions(objects)
    assert len(replica_sets(kube, example)) == 1

    # A changed node: a new immutable code ConfigMap, a new pod template, one rollout to Ready.
    touch_a_node(directory)
    code, doc, _ = tntc(capsys, *deploy)
    assert code == 0, doc
    changed = {m["object"]: m["action"] for m in doc["manifests"] if m["action"] != "unchanged"}
    (code_map,) = [ref for ref in changed if ref.startswith("ConfigMap/")]
    assert code_map.startswith(f"ConfigMap/{example}-code-")
    assert changed == {code_map: "created", f"Deployment/{example}": "configured"}
    sets = replica_sets(kube, example)
    assert len(sets) == 2
    assert sorted(rs["status"].get("readyReplicas", 0) for rs in sets.values()) == [0, 1]

    code, doc, _ = tntc(capsys, "status", example, "--detail")
    assert code == 0 and doc["workflow"]["ready"] is True
    assert doc["workflow"]["pods"] and all(p["phase"] == "Running" for p in doc["workflow"]["pods"])

    code, doc, _ = tntc(capsys, "list")
    assert code == 0 and [w["name"] for w in doc["workflows"]] == [example]

    code, doc, _ = tntc(capsys, "audit", str(directory))
    assert code == 0, doc
    assert doc["audit"]["overall"] == "pass"

    pod_logs(["engine up", "GET /health 200", "POST /run 200"])
    code, doc, _ = tntc(capsys, "logs", example, "--tail", "2")
    assert code == 0 and doc["lines"] == ["GET /health 200", "POST /run 200"]

    code, doc, _ = tntc(capsys, "undeploy", example, "--yes")
    assert code == 0 and doc["removed"]
    assert f"NetworkPolicy/{example}-netpol" in doc["removed"]
    for resource in TNTC_RESOURCES:
        assert kube.objects(resource, **MANAGED) == {}, resource
    kube.wait_for("the garbage collector to remove the pods", lambda: not kube.objects("pods"))


def test_run_executes_in_a_hardened_trigger_pod(
    admin_kubeconfig: Path,
    kube: Kube,
    pod_logs: Callable[[list[str]], None],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert tntc(capsys, "deploy", str(copy_example("word-counter", tmp_path)), "--force")[0] == 0
    result = {"success": True, "outputs": {"echo": {"text": "a b a"}}, "errors": {}, "timing": {}}
    pod_logs(["retrying in 0.1s", json.dumps(result)])
    kube.clear_writes()
    code, doc, _ = tntc(capsys, "run", "word-counter", "--input", '{"text": "a b a"}')
    assert code == 0, doc
    assert doc["execution"] == result
    (created,) = kube.writes("create", "pods")
    assert created.code == 201, "the restricted profile admitted the trigger pod"
    run_pod = created.body
    assert run_pod is not None
    assert run_pod["metadata"]["labels"]["tentacular.io/role"] == "trigger"
    assert "app.kubernetes.io/name" not in run_pod["metadata"]["labels"]
    container = run_pod["spec"]["containers"][0]
    assert container["command"][1:3] == ["-m", "tentacular.engine.trigger_client"]
    assert '{"text":"a b a"}' in container["command"]
    assert [w.name for w in kube.writes("delete", "pods")] == [created.name], "run pod deleted"


def test_changing_one_node_changes_configmap_and_hash_only(
    admin_kubeconfig: Path, kube: Kube, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = copy_example("hn-digest", tmp_path)
    assert tntc(capsys, "deploy", str(directory), "--force")[0] == 0
    old = kube.get("deployments", "hn-digest")
    assert old is not None
    node = directory / "nodes" / "format_digest.py"
    node.write_text(node.read_text() + "\n# tweak\n")
    code, doc, _ = tntc(capsys, "deploy", str(directory), "--force")
    assert code == 0
    changed = {m["object"]: m["action"] for m in doc["manifests"] if m["action"] != "unchanged"}
    (code_map,) = [ref for ref in changed if ref.startswith("ConfigMap/")]
    assert changed == {code_map: "created", "Deployment/hn-digest": "configured"}
    new_code = code_map.removeprefix("ConfigMap/")
    assert new_code.startswith("hn-digest-code-1.0-")
    old_code = old["spec"]["template"]["spec"]["volumes"][0]["configMap"]["name"]
    assert old_code != new_code and kube.get("configmaps", old_code) is not None, "old version kept"
    assert kube.get("configmaps", new_code)["immutable"] is True  # type: ignore[index]
    new = kube.get("deployments", "hn-digest")
    assert new is not None
    old_t, new_t = old["spec"]["template"], new["spec"]["template"]
    hash_key = "tentacular.io/code-hash"
    assert old_t["metadata"]["annotations"][hash_key] != new_t["metadata"]["annotations"][hash_key]
    old_t["metadata"]["annotations"].pop(hash_key)
    new_t["metadata"]["annotations"].pop(hash_key)
    assert new_t["spec"]["volumes"][0]["configMap"]["name"] == new_code
    old_t["spec"]["volumes"][0]["configMap"]["name"] = new_code
    assert old_t == new_t
    assert new["metadata"]["generation"] == old["metadata"]["generation"] + 1
    assert len(replica_sets(kube, "hn-digest")) == 2


def test_removing_cron_trigger_prunes_cronjob(
    admin_kubeconfig: Path, kube: Kube, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = copy_example("hn-digest", tmp_path)
    assert tntc(capsys, "deploy", str(directory), "--force")[0] == 0
    assert set(kube.objects("cronjobs")) == {"hn-digest-cron"}
    spec = directory / "workflow.yaml"
    text = spec.read_text()
    spec.write_text(text.replace('  - type: cron\n    name: morning\n    schedule: "0 8 * * *"\n', ""))
    kube.clear_writes()
    code, doc, _ = tntc(capsys, "deploy", str(directory), "--force")
    assert code == 0, doc
    assert {"object": "CronJob/hn-digest-cron", "action": "pruned"} in doc["manifests"]
    assert kube.objects("cronjobs") == {}
    assert [(w.resource, w.name) for w in kube.writes("delete")] == [("cronjobs", "hn-digest-cron")]


def test_logs_follow_streams_the_running_pod(
    admin_kubeconfig: Path,
    kube: Kube,
    pod_logs: Callable[[list[str]], None],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``logs -f`` prints the log and keeps the stream open (a running container's log has no end),
    so it runs as its own process here and is stopped like a user stops it: Ctrl-C."""
    directory = copy_example("word-counter", tmp_path)
    code, doc, _ = tntc(capsys, "deploy", str(directory), "--force")
    assert code == 0, doc
    (pod,) = kube.objects("pods", **{"app.kubernetes.io/name": "word-counter"})
    pod_logs(["first line", "second line"])

    command = [sys.executable, "-c", "from tentacular.cli.main import run; run()", "logs", "word-counter"]
    follow = subprocess.Popen(
        [*command, "-f", "--tail", "5"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert follow.stdout is not None
        assert [follow.stdout.readline() for _ in range(2)] == ["first line\n", "second line\n"]
        assert follow.poll() is None, "the stream stays open"
    finally:
        follow.send_signal(signal.SIGINT)
        _, err = follow.communicate(timeout=30)
    assert f"Logs of {pod}" in err
    assert "Traceback" not in err
