"""Release units end to end on the real control plane: bundle, plan, apply, verify, promote;
integrity, policy, bad input (issue 15)."""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.cluster.kube import Kube
from tests.cluster.test_lifecycle import copy_example, tntc

DIGEST = "sha256:" + "ab" * 32
SECRET_VALUES = ("ghp-DISTINCTIVE-7f3a9c-token", "https://hooks.example/DISTINCTIVE-b41d")
SERVER_FIELDS = ("resourceVersion", "uid", "creationTimestamp", "managedFields", "generation", "namespace")
STAMPS = ("tentacular.io/deployed-at", "tentacular.io/deployed-by")


class Registry:
    """The two manifest HEAD requests a registry answers (no registry is reachable from here)."""

    def __init__(self) -> None:
        self.manifests: dict[str, str] = {
            "tentacular-engine/manifests/1.0": DIGEST,
            f"tentacular-engine/manifests/{DIGEST}": DIGEST,
        }
        registry = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_HEAD(self) -> None:
                found = registry.manifests.get(self.path.removeprefix("/v2/"))
                self.send_response(200 if found else 404)
                if found:
                    self.send_header("Docker-Content-Digest", found)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def registry() -> Iterator[Registry]:
    served = Registry()
    try:
        yield served
    finally:
        served.server.shutdown()


@dataclass(frozen=True)
class Environments:
    dev: str
    prod: str


RUN_RESULT = json.dumps({"success": True, "outputs": {"post": {"ok": True}}})


@pytest.fixture
def envs(admin_kubeconfig: Path, kube: Kube, pod_logs: Callable[[list[str]], None]) -> Environments:
    """Environments dev (the test's namespace) and prod (another one), in the user's config."""
    from tentacular.deploy._settings import user_config_path

    found = Environments(kube.namespace, kube.make_namespace("prod"))
    config = user_config_path()
    current = yaml.safe_load(config.read_text()) or {}
    current["environments"] = {
        "dev": {"namespace": found.dev, "config_overrides": {"channel": "#dev"}},
        "prod": {"namespace": found.prod, "config_overrides": {"channel": "#dev"}},
    }
    config.write_text(yaml.safe_dump(current))
    pod_logs([RUN_RESULT])  # what the verification run's trigger pod prints (kwok serves one log)
    return found


def flow(tmp_path: Path) -> Path:
    directory = copy_example("repo-digest", tmp_path)
    secrets = {"github": {"token": SECRET_VALUES[0]}, "slack": {"webhook_url": SECRET_VALUES[1]}}
    (directory / ".secrets.yaml").write_text(yaml.safe_dump(secrets))
    return directory


def comparable(obj: dict[str, Any], namespace: str) -> str:
    meta = obj["metadata"]
    for key in SERVER_FIELDS:
        meta.pop(key, None)
    for key in STAMPS:
        (meta.get("annotations") or {}).pop(key, None)
    obj.pop("status", None)
    for allocated in ("clusterIP", "clusterIPs"):  # a Service's address, allocated per namespace
        (obj.get("spec") or {}).pop(allocated, None)
    return json.dumps(obj, sort_keys=True).replace(f".{namespace}.svc", ".<ns>.svc")


def workflow_objects(kube: Kube, namespace: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for resource in ("configmaps", "deployments", "services", "cronjobs", "networkpolicies"):
        for name, obj in kube.objects(
            resource, namespace, **{"app.kubernetes.io/managed-by": "tentacular"}
        ).items():
            found[f"{resource}/{name}"] = comparable(obj, namespace)
    return found


def test_bundle_plan_apply_verify_promote(
    kube: Kube,
    envs: Environments,
    registry: Registry,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    unit = tmp_path / "repo-digest.tntc"
    image = f"{registry.host}/tentacular-engine:1.0"
    code, doc, _ = tntc(
        capsys, "release", "bundle", str(flow(tmp_path)), "--out", str(unit), "--env", "dev", "--image", image
    )
    assert code == 0, doc
    assert doc["image"] == {
        "reference": image,
        "digest": DIGEST,
        "source": "registry",
        "image": f"{registry.host}/tentacular-engine@{DIGEST}",
    }
    raw = unit.read_bytes()
    body = gzip.decompress(raw.split(b"\n", 1)[1])
    for value in SECRET_VALUES:
        assert value.encode() not in raw and value.encode() not in body

    code, doc, _ = tntc(capsys, "release", "plan", str(unit), "--env", "dev")
    assert code == 0, doc
    assert {o["action"] for o in doc["objects"]} == {"create"} and doc["changes"] == len(doc["objects"])
    assert doc["image"] == {"live": None, "unit": f"{registry.host}/tentacular-engine@{DIGEST}"}
    assert "NetworkPolicy/repo-digest-netpol" in doc["networkRbac"]
    assert doc["secret"]["missingKeys"] == ["github", "slack"]
    deployment_diff = next(o["diff"] for o in doc["objects"] if o["object"] == "Deployment/repo-digest")
    assert "+  name: repo-digest" in deployment_diff and "runtimeClassName" in deployment_diff
    assert kube.objects("deployments") == {}, "plan applies nothing"

    code, doc, _ = tntc(capsys, "release", "apply", str(unit), "--env", "dev")
    assert code == 0, doc
    assert {m["action"] for m in doc["manifests"]} == {"created"}
    deployment = kube.get("deployments", "repo-digest")
    assert deployment is not None
    assert (
        deployment["metadata"]["annotations"]["tentacular.io/release"]
        == json.loads(gzip.decompress(unit.read_bytes().split(b"\n", 1)[1]))["id"]
    )
    code, doc, _ = tntc(capsys, "release", "apply", str(unit), "--env", "dev")
    assert code == 0 and {m["action"] for m in doc["manifests"]} == {"unchanged"}, doc

    code, doc, _ = tntc(capsys, "release", "verify", str(unit), "--env", "dev")
    assert code == 0, doc["checks"]
    assert doc["result"] == "pass" and {c["name"] for c in doc["checks"]} >= {
        "code hash",
        "image",
        "verification run",
    }

    code, doc, _ = tntc(capsys, "release", "promote", str(unit), "--to", "prod")
    assert code == 0, doc
    assert doc["plan"]["namespace"] == envs.prod and doc["verify"]["result"] == "pass"
    dev, prod = workflow_objects(kube, envs.dev), workflow_objects(kube, envs.prod)
    assert len(dev) == 5 and dev == prod

    code, doc, _ = tntc(capsys, "release", "show", str(unit))
    assert code == 0
    assert [(h["action"], h["namespace"], h["result"]) for h in doc["history"]] == [
        ("apply", envs.dev, "pass"),
        ("apply", envs.dev, "pass"),
        ("verify", envs.dev, "pass"),
        ("apply", envs.prod, "pass"),
        ("verify", envs.prod, "pass"),
    ]


def object_writes(kube: Kube) -> list[str]:
    """What tntc wrote to the cluster since the mark, access reviews (questions, not changes) aside."""
    return [f"{w.verb} {w.resource}/{w.name}" for w in kube.writes() if "accessreviews" not in w.resource]


def bundled(tmp_path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> Path:
    unit = tmp_path / "unit.tntc"
    code, doc, _ = tntc(
        capsys, "release", "bundle", str(flow(tmp_path)), "--out", str(unit), "--env", "dev", *extra
    )
    assert code == 0, doc
    return unit


def test_show_works_offline_and_every_changed_byte_is_detected(
    isolated: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = isolated / ".tentacular" / "config.yaml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(
        yaml.safe_dump(
            {"environments": {"dev": {"namespace": "dev", "config_overrides": {"channel": "#dev"}}}}
        )
    )
    unit = bundled(tmp_path, capsys, "--digest", DIGEST)
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-such-kubeconfig"))
    code, doc, _ = tntc(capsys, "release", "show", str(unit))
    assert code == 0, doc
    assert doc["workflow"]["name"] == "repo-digest" and doc["derived"]["secrets"] == [
        "github.token",
        "slack.webhook_url",
    ]
    assert doc["config"]["channel"] == "#dev", "post-merge config"
    assert all(o["hash"].startswith("sha256:") for o in doc["objects"])
    assert all(f["sha256"].startswith("sha256:") for f in doc["files"])
    original = unit.read_bytes()
    for position in (0, 20, len(original) // 2, len(original) - 1):
        tampered = bytearray(original)
        tampered[position] ^= 0x01
        unit.write_bytes(bytes(tampered))
        code, doc, _ = tntc(capsys, "release", "show", str(unit))
        assert code == 2 and doc["error"]["code"] == "release_unit_invalid", position
    unit.write_bytes(original[: len(original) // 3])
    code, doc, _ = tntc(capsys, "release", "show", str(unit))
    assert code == 2 and "checksum" in doc["error"]["message"]
    unit.write_bytes(original.replace(b"TNTC-RELEASE-UNIT 1 ", b"TNTC-RELEASE-UNIT 2 ", 1))
    code, doc, _ = tntc(capsys, "release", "show", str(unit))
    assert code == 2 and doc["error"]["code"] == "release_unit_too_new"
    assert "upgrade tntc" in doc["error"]["hint"]


def test_policy_violation_stops_plan_and_apply(
    kube: Kube, envs: Environments, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    unit = bundled(tmp_path, capsys, "--image", "127.0.0.1:9/tentacular-engine:1.0", "--allow-tag")
    policy = tmp_path / "policy.yaml"
    policy.write_text("digestRequired: true\nforbiddenKinds: [CronJob]\n")
    kube.clear_writes()
    for command in ("plan", "apply"):
        code, doc, _ = tntc(capsys, "release", command, str(unit), "--env", "dev", "--policy", str(policy))
        assert code == 1, doc
        assert doc["error"]["code"] == "policy_violation"
        rules = {v["rule"] for v in doc["error"]["violations"]}
        assert rules == {"digestRequired", "forbiddenKinds"}
    # The environment's own policy, and the one-step deploy path under it.
    from tentacular.deploy._settings import user_config_path

    config = yaml.safe_load(user_config_path().read_text())
    config["environments"]["dev"]["policy"] = str(policy)
    user_config_path().write_text(yaml.safe_dump(config))
    code, doc, _ = tntc(capsys, "release", "plan", str(unit), "--env", "dev")
    assert code == 1 and doc["error"]["code"] == "policy_violation", doc
    directory = tmp_path / "repo-digest"
    code, doc, _ = tntc(capsys, "deploy", str(directory), "--env", "dev", "--force", "--image", "engine:1.0")
    assert code == 1 and doc["error"]["code"] == "policy_violation", doc
    assert kube.objects("deployments") == {} and object_writes(kube) == [], "nothing was applied"


def test_digest_gone_and_hand_edits(
    kube: Kube,
    envs: Environments,
    registry: Registry,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    unit = bundled(tmp_path, capsys, "--image", f"{registry.host}/tentacular-engine:1.0")
    assert tntc(capsys, "release", "apply", str(unit), "--env", "dev")[0] == 0
    kube.patch("deployments", "repo-digest", {"spec": {"replicas": 3}})  # someone's kubectl scale
    kube.patch("networkpolicies", "repo-digest-netpol", {"spec": {"egress": [{}]}})  # "allow all egress"
    code, doc, _ = tntc(capsys, "release", "plan", str(unit), "--env", "dev")
    assert code == 0, doc
    entry = next(o for o in doc["objects"] if o["object"] == "Deployment/repo-digest")
    assert entry["action"] == "drifted"
    assert "-  replicas: 3" in entry["diff"] and "+  replicas: 1" in entry["diff"]
    netpol = next(o for o in doc["objects"] if o["object"] == "NetworkPolicy/repo-digest-netpol")
    assert netpol["action"] == "drifted" and "NetworkPolicy/repo-digest-netpol" in doc["networkRbac"]

    registry.manifests.clear()
    kube.clear_writes()
    for command in ("plan", "apply"):
        code, doc, _ = tntc(capsys, "release", command, str(unit), "--env", "dev")
        assert code == 1 and doc["error"]["code"] == "image_digest", doc
        assert "no longer resolves" in doc["error"]["message"]
    assert object_writes(kube) == [], "nothing was applied"


def test_plan_of_a_new_unit_shows_the_code_diff(
    kube: Kube, envs: Environments, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = flow(tmp_path)
    first, second = tmp_path / "first.tntc", tmp_path / "second.tntc"
    bundle = ("release", "bundle", str(directory), "--env", "dev", "--digest", DIGEST, "--out")
    assert tntc(capsys, *bundle, str(first))[0] == 0
    assert tntc(capsys, "release", "apply", str(first), "--env", "dev")[0] == 0
    node = next((directory / "nodes").glob("*.py"))
    node.write_text(node.read_text() + "\n# the second release\n")
    assert tntc(capsys, *bundle, str(second))[0] == 0
    code, doc, _ = tntc(capsys, "release", "plan", str(second), "--env", "dev")
    assert code == 0, doc
    assert doc["code"]["live"] != doc["code"]["unit"]
    assert (
        f"+++ unit/nodes__{node.name}" in doc["code"]["diff"]
        and "+# the second release" in doc["code"]["diff"]
    )
    assert doc["image"]["live"] == doc["image"]["unit"]
    actions = {o["object"].split("/")[0]: o["action"] for o in doc["objects"]}
    assert actions["ConfigMap"] == "create" and actions["Deployment"] == "update"
    assert actions["Service"] == "unchanged"


def test_failed_verification_is_recorded_and_blocks_promotion(
    kube: Kube,
    envs: Environments,
    pod_logs: Callable[[list[str]], None],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    unit = bundled(tmp_path, capsys, "--digest", DIGEST)
    assert tntc(capsys, "release", "apply", str(unit), "--env", "dev")[0] == 0
    kube.patch(
        "deployments", "repo-digest", {"spec": {"template": {"spec": {"automountServiceAccountToken": True}}}}
    )
    # The patch rolls the pod: verify reads pods once, so let the new one exist first (in the
    # moment between the old pod's deletion and the new one's creation it would find none).
    kube.wait_for(
        "the patched template's pod",
        lambda: [
            p
            for p in kube.objects("pods", **{"app.kubernetes.io/name": "repo-digest"}).values()
            if p["spec"].get("automountServiceAccountToken") and p["status"].get("phase") == "Running"
        ],
    )
    pod_logs([json.dumps({"success": False, "errors": {"post": "HTTP 500"}})])
    code, doc, _ = tntc(capsys, "release", "verify", str(unit), "--env", "dev")
    assert code == 1 and doc["result"] == "fail", doc
    failed = {c["name"] for c in doc["checks"] if not c["passed"]}
    assert "verification run" in failed
    assert "podLogs" in doc["diagnostics"] and "events" in doc["diagnostics"]

    code, doc, _ = tntc(capsys, "release", "plan", str(unit), "--env", "dev")
    assert "Deployment/repo-digest: pod automountServiceAccountToken" in doc["risky"], doc["risky"]

    code, doc, _ = tntc(capsys, "release", "promote", str(unit), "--to", "prod")
    assert code == 1 and doc["error"]["code"] == "release_verify_failed", doc
    assert "failed verification in dev" in doc["error"]["message"] and "--force" in doc["error"]["hint"]
    assert kube.objects("deployments", envs.prod) == {}
    pod_logs([RUN_RESULT])
    code, doc, _ = tntc(capsys, "release", "promote", str(unit), "--to", "prod", "--force")
    assert code == 0 and doc["verify"]["result"] == "pass", doc
    code, doc, _ = tntc(capsys, "release", "show", str(unit))
    assert [(h["action"], h["result"]) for h in doc["history"]] == [
        ("apply", "pass"),
        ("verify", "fail"),
        ("apply", "pass"),
        ("verify", "pass"),
    ]
    assert doc["history"][1]["diagnostics"]["podLogs"]
