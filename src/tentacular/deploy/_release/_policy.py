"""Release policy (K-R9): rules a unit must meet in an environment, checked before anything is applied.

A policy is a YAML mapping; every rule is optional::

    digestRequired: true          # every container image is pinned by digest
    gvisorRequired: true          # every pod runs under RuntimeClass ``runtimeClass`` (default gvisor)
    runtimeClass: gvisor
    noDynamicTarget: true         # no contract dependency of type dynamic-target
    noClusterScopedRbac: true     # no ClusterRole / ClusterRoleBinding
    forbiddenKinds: [Ingress]     # object kinds the environment does not accept

``--policy FILE`` wins over the environment's ``policy:`` setting (a path, relative to the
directory tntc runs in).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tentacular.deploy._imageref import ImageRef
from tentacular.errors import PolicyError, PolicyViolationError
from tentacular.spec import DEFAULT_RUNTIME_CLASS

RULES = (
    "digestRequired",
    "gvisorRequired",
    "runtimeClass",
    "noDynamicTarget",
    "noClusterScopedRbac",
    "forbiddenKinds",
)
CLUSTER_RBAC_KINDS = ("ClusterRole", "ClusterRoleBinding")


@dataclass(frozen=True)
class Policy:
    source: str
    rules: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "rules": dict(self.rules)}


def load_policy(path: str | Path) -> Policy:
    import yaml

    file = Path(path).expanduser()
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PolicyError(f"cannot read policy {file}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{file}:{mark.line + 1}" if mark is not None else str(file)
        raise PolicyError(f"{where}: policy is not valid YAML", hint="a mapping of rule: value") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise PolicyError(f"{file}: a policy is a mapping of rules", hint=f"rules: {', '.join(RULES)}")
    unknown = sorted(set(data) - set(RULES))
    if unknown:
        raise PolicyError(
            f"{file}: unknown policy rule(s): {', '.join(map(str, unknown))}",
            hint=f"known: {', '.join(RULES)}",
        )
    for key in ("digestRequired", "gvisorRequired", "noDynamicTarget", "noClusterScopedRbac"):
        if key in data and not isinstance(data[key], bool):
            raise PolicyError(f"{file}: {key} must be true or false, got {data[key]!r}")
    kinds = data.get("forbiddenKinds", [])
    if not isinstance(kinds, list) or not all(isinstance(k, str) for k in kinds):
        raise PolicyError(
            f"{file}: forbiddenKinds must be a list of kinds", hint="e.g. [Ingress, ClusterRole]"
        )
    return Policy(str(file), data)


def raw_contract(loaded: Any) -> Any:
    """The contract block as written in workflow.yaml (what a unit records)."""
    import yaml

    document = yaml.safe_load(loaded.text) or {}
    return document.get("contract") if isinstance(document, dict) else None


def choose_policy(flag: str | Path | None, environment_fields: Mapping[str, Any] | None) -> Policy | None:
    chosen = flag if flag is not None else (environment_fields or {}).get("policy")
    return load_policy(chosen) if chosen else None


def _pod_specs(obj: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    spec = obj.get("spec") or {}
    if obj.get("kind") == "Deployment":
        yield spec.get("template", {}).get("spec", {})
    elif obj.get("kind") == "CronJob":
        yield spec.get("jobTemplate", {}).get("spec", {}).get("template", {}).get("spec", {})


def violations(
    policy: Policy, objects: list[dict[str, Any]], unit: Mapping[str, Any]
) -> list[dict[str, str]]:
    """Every rule the unit breaks, each with the object it concerns."""
    rules = policy.rules
    found: list[dict[str, str]] = []

    def add(rule: str, ref: str, message: str) -> None:
        found.append({"rule": rule, "object": ref, "message": message})

    runtime = str(rules.get("runtimeClass") or DEFAULT_RUNTIME_CLASS)
    for obj in objects:
        ref = f"{obj['kind']}/{obj['metadata']['name']}"
        if obj["kind"] in (rules.get("forbiddenKinds") or []):
            add("forbiddenKinds", ref, f"kind {obj['kind']} is forbidden in this environment")
        if rules.get("noClusterScopedRbac") and obj["kind"] in CLUSTER_RBAC_KINDS:
            add("noClusterScopedRbac", ref, "cluster-scoped RBAC is not allowed (use namespaced access)")
        for pod in _pod_specs(obj):
            if rules.get("gvisorRequired") and pod.get("runtimeClassName") != runtime:
                have = pod.get("runtimeClassName") or "none"
                add("gvisorRequired", ref, f"pods must run under RuntimeClass {runtime}, not {have}")
            for container in [*(pod.get("initContainers") or []), *(pod.get("containers") or [])]:
                image = str(container.get("image", ""))
                if rules.get("digestRequired") and ImageRef.parse(image).digest is None:
                    add("digestRequired", ref, f"image {image} is a tag, not a digest")
    if rules.get("noDynamicTarget"):
        dependencies = ((unit.get("contract") or {}).get("dependencies")) or {}
        for name, dependency in sorted(dependencies.items()):
            if isinstance(dependency, dict) and dependency.get("type") == "dynamic-target":
                add(
                    "noDynamicTarget",
                    f"contract.dependencies.{name}",
                    "dynamic-target dependencies are not allowed",
                )
    return found


def enforce(
    policy: Policy | None, objects: list[dict[str, Any]], unit: Mapping[str, Any]
) -> list[dict[str, str]]:
    """Raise PolicyViolationError (exit 1) listing every violation; nothing has been applied yet."""
    if policy is None:
        return []
    broken = violations(policy, objects, unit)
    if broken:
        lines = "; ".join(f"{v['rule']}: {v['object']}: {v['message']}" for v in broken)
        raise PolicyViolationError(
            f"policy {policy.source} violated ({len(broken)}): {lines} -- nothing was applied",
            hint="fix the unit (e.g. bundle with an image digest) or the environment's policy",
            violations=broken,
            policy=policy.to_dict(),
        )
    return []
