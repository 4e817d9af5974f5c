"""The pure parts of issue 15: retention, stamps, hashes, records, re-targeting, policy, the unit format."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tentacular.deploy._manifests import ManifestOptions, build_manifests
from tentacular.deploy._release._policy import load_policy, violations
from tentacular.deploy._release._retarget import retarget
from tentacular.deploy._release._unit import FORMAT_VERSION, ReleaseUnit, read_unit, write_unit
from tentacular.deploy._versions import (
    CodeVersion,
    Stamp,
    keep_setting,
    object_hash,
    read_record,
    stamped,
    to_prune,
    with_record,
)
from tentacular.errors import ConfigError, PolicyError, ReleaseUnitError, UsageError
from tentacular.spec import load_workflow
from tests.conftest import EXAMPLES


def version(name: str, at: str, *, live: bool = False) -> CodeVersion:
    return CodeVersion(name, "1.0", None, at, None, None, None, 1, live=live)


def test_keep_prunes_the_oldest_beyond_n_but_never_live_or_protected() -> None:
    found = [version(f"v{i}", f"2026-01-0{i}T00:00:00Z", live=i == 1) for i in range(1, 7)]
    assert to_prune(found, 2) == ["v2", "v3", "v4"]
    assert to_prune(found, 2, protect=["v2"]) == ["v3", "v4"]
    assert to_prune(found, 10) == []
    with pytest.raises(UsageError):
        keep_setting({}, 0)
    assert keep_setting({"keep": 3}, None) == 3 and keep_setting(None, None) == 5
    with pytest.raises(ConfigError):
        keep_setting({"keep": "many"}, None)


def objects(namespace: str) -> list[dict[str, Any]]:
    loaded = load_workflow(EXAMPLES / "hn-digest")
    return build_manifests(
        loaded, ManifestOptions(namespace=namespace, image="reg.io/engine@sha256:" + "a" * 64)
    )


def test_object_hash_ignores_stamps_and_namespace_but_not_content() -> None:
    dev, prod = objects("dev"), objects("prod")
    assert [object_hash(o) for o in dev] == [object_hash(o) for o in prod]
    assert retarget(dev, workflow="hn-digest", source="dev", target="prod") == prod
    stamp = Stamp("alice", "2026-01-01T00:00:00Z", "r1")
    first = stamped(dev[0], None, stamp)
    again = stamped(dev[0], first, Stamp("bob", "2026-02-02T00:00:00Z", "r2"))
    assert again == first, "unchanged content keeps the live stamps"
    changed = dict(dev[0], spec={**dev[0]["spec"], "policyTypes": ["Ingress"]})
    restamped = stamped(changed, first, Stamp("bob", "2026-02-02T00:00:00Z", "r2"))
    assert restamped["metadata"]["annotations"]["tentacular.io/deployed-by"] == "bob"


def test_the_record_round_trips_per_namespace_without_secret_values() -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s"},
        "data": {"gh": "c2VjcmV0LXZhbHVl"},
    }
    recorded = with_record([*objects("dev"), secret], "r1", workflow="hn-digest", namespace="dev")
    code = next(o for o in recorded if o["kind"] == "ConfigMap")
    assert "c2VjcmV0LXZhbHVl" not in str(read_record(code))
    record = read_record(code)
    assert record is not None and record["release"] == "r1"
    assert {o["kind"] for o in record["objects"]} == {
        "NetworkPolicy",
        "Deployment",
        "Service",
        "CronJob",
        "Secret",
    }
    assert next(o for o in record["objects"] if o["kind"] == "Secret")["keys"] == ["gh"]
    assert all(o["metadata"].get("namespace") in (None, "dev") for o in record["objects"])


def test_policy_rules_and_bad_policies(tmp_path: Path) -> None:
    policy_file = tmp_path / "p.yaml"
    policy_file.write_text("gvisorRequired: true\nnoClusterScopedRbac: true\nnoDynamicTarget: true\n")
    rendered = objects("dev")
    deployment = next(o for o in rendered if o["kind"] == "Deployment")
    deployment["spec"]["template"]["spec"]["runtimeClassName"] = "runc"
    unit = {"contract": {"dependencies": {"scan": {"type": "dynamic-target"}}}}
    found = violations(load_policy(policy_file), rendered, unit)
    assert {(v["rule"], v["object"]) for v in found} >= {
        ("gvisorRequired", "Deployment/hn-digest"),
        ("noDynamicTarget", "contract.dependencies.scan"),
    }
    for text, fragment in (
        ("digestRequird: true", "unknown policy rule"),
        ("- a", "mapping"),
        ("a: [", "YAML"),
    ):
        policy_file.write_text(text)
        with pytest.raises(PolicyError, match=fragment):
            load_policy(policy_file)


def test_unit_file_round_trip_and_refusals(tmp_path: Path) -> None:
    unit = ReleaseUnit({"workflow": {"name": "w"}, "objects": [], "image": {}, "files": []})
    path = tmp_path / "u.tntc"
    write_unit(unit, path)
    assert read_unit(path).id == unit.id
    unit.record({"action": "apply"})
    assert read_unit(path).history == [{"action": "apply"}]
    path.write_bytes(b"")
    with pytest.raises(ReleaseUnitError, match="no header line"):
        read_unit(path)
    path.write_bytes(b"PK\x03\x04 not a unit\n")
    with pytest.raises(ReleaseUnitError):
        read_unit(path)
    with pytest.raises(ReleaseUnitError, match="cannot read"):
        read_unit(tmp_path / "missing.tntc")
    assert FORMAT_VERSION == 1


def test_a_secret_hash_depends_on_key_names_not_values() -> None:
    def secret(value: str, key: str = "github") -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "s", "namespace": "n"},
            "data": {key: value},
        }

    assert object_hash(secret("dmFsdWUtb25l")) == object_hash(secret("dmFsdWUtdHdv"))
    assert object_hash(secret("dmFsdWUtb25l")) != object_hash(secret("dmFsdWUtb25l", key="slack"))


def test_plan_projection_drift_and_conflicts() -> None:
    from tentacular.deploy._release._diff import immutable_conflicts, object_entry, project

    live = {
        "spec": {"replicas": 1, "strategy": {"type": "RollingUpdate"}, "ports": [{"port": 80}, {"port": 81}]}
    }
    desired = {"spec": {"replicas": 1, "ports": [{"port": 80}]}}
    assert project(live, desired) == {"spec": {"replicas": 1, "ports": [{"port": 80}, {"port": 81}]}}
    deployment = next(o for o in objects("dev") if o["kind"] == "Deployment")
    moved = {**deployment, "spec": {**deployment["spec"], "selector": {"matchLabels": {"app": "other"}}}}
    assert immutable_conflicts(deployment, moved) == ["spec.selector is immutable"]
    code = next(o for o in objects("dev") if o["kind"] == "ConfigMap")
    assert immutable_conflicts(code, {**code, "data": {"workflow.yaml": "edited"}}) == [
        "data of an immutable ConfigMap"
    ]
    applied = stamped(deployment, None, Stamp("a", "2026-01-01T00:00:00Z", "r"))
    assert object_entry(deployment, applied)["action"] == "unchanged"
    edited = {**applied, "spec": {**applied["spec"], "replicas": 4}}
    entry = object_entry(deployment, edited)
    assert entry["action"] == "drifted" and "-  replicas: 4" in entry["diff"]
    assert object_entry(deployment, None)["action"] == "create"
