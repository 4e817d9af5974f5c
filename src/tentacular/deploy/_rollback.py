"""``tntc versions`` and ``tntc rollback``: retained code versions, read from the cluster (#10, #11).

Nothing here reads the workflow directory: what is deployed, what each version applied and
their code all come from the code ConfigMaps (UX-0).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

from tentacular.deploy._cluster_ops import check_name
from tentacular.deploy._kube.apply import ApplyReport
from tentacular.deploy._kube.client import SECRET, connect
from tentacular.deploy._kube.waiting import wait_for_rollout
from tentacular.deploy._labels import APPLIED_ANNOTATION
from tentacular.deploy._operations import resolve_target
from tentacular.deploy._options import DEFAULT_DEPLOY_TIMEOUT, TargetOptions
from tentacular.deploy._revision import (
    applied_deployment,
    apply_revision,
    code_versions,
    retained_after,
    stamp_for,
)
from tentacular.deploy._settings import load_settings
from tentacular.deploy._versions import (
    UNHASHED,
    CodeVersion,
    newest_first,
    read_record,
)
from tentacular.errors import VersionNotFoundError, VersionRecordError
from tentacular.events import Event, EventSink, ignore_events

_MIN_HASH_PREFIX = 4


@dataclass(frozen=True)
class VersionsReport:
    name: str
    namespace: str
    versions: list[CodeVersion]

    @property
    def live(self) -> CodeVersion | None:
        return next((v for v in self.versions if v.live), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "namespace": self.namespace,
            "versions": [v.to_dict() for v in self.versions],
        }


def _retained(kube: Any, name: str, namespace: str) -> list[CodeVersion]:
    versions, _ = code_versions(kube, name, namespace)
    return newest_first(versions)


def versions(name: str, *, target: TargetOptions) -> VersionsReport:
    """Every retained code version of ``name``, newest first, the live one marked."""
    check_name(name)
    resolved = resolve_target(load_settings(), target)
    namespace = resolved.namespace.value
    with connect(resolved.cluster) as kube:
        found = _retained(kube, name, namespace)
    if not found:
        raise VersionNotFoundError(
            f"no code versions of {name} in namespace {namespace}",
            hint=f"deploy it first (tntc deploy), or list what is deployed: tntc list -n {namespace}",
        )
    return VersionsReport(name, namespace, found)


def pick(found: list[CodeVersion], ref: str, *, name: str) -> CodeVersion:
    """A version by ConfigMap name, code-hash prefix (4+ hex digits) or workflow version (newest wins)."""
    wanted = ref.strip().removeprefix("sha256:")
    by_name = [v for v in found if v.name == wanted]
    by_version = [v for v in found if v.version == wanted]
    by_hash = [
        v
        for v in found
        if len(wanted) >= _MIN_HASH_PREFIX and (v.code_hash or "").removeprefix("sha256:").startswith(wanted)
    ]
    for matches in (by_name, by_hash):
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise VersionNotFoundError(
                f'"{ref}" matches {len(matches)} versions of {name}: {", ".join(v.name for v in matches)}',
                hint="give more digits of the code hash, or the ConfigMap name",
            )
    if by_version:  # several code versions of one workflow version: the newest
        return newest_first(by_version)[0]
    retained = ", ".join(f"{v.version} ({_short(v)})" for v in found) or "none"
    raise VersionNotFoundError(
        f'no retained version of {name} matches "{ref}"; retained: {retained}',
        hint="it may have been pruned (deploy --keep N keeps the newest N); see: tntc versions " + name,
    )


def _short(version: CodeVersion) -> str:
    return (version.code_hash or version.name).removeprefix("sha256:")[:10]


@dataclass(frozen=True)
class VersionDiff:
    name: str
    old: CodeVersion
    new: CodeVersion
    diff: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "from": self.old.to_dict(), "to": self.new.to_dict(), "diff": self.diff}


def _files(version: CodeVersion) -> dict[str, str]:
    """Shipped path → text, with paths from the recorded Deployment's volume items when there is one."""
    paths: dict[str, str] = {}
    record = read_record(version.raw) or {}
    for obj in record.get("objects") or []:
        if obj.get("kind") == "Deployment":
            for volume in obj["spec"]["template"]["spec"].get("volumes") or []:
                for item in (volume.get("configMap") or {}).get("items") or []:
                    paths[item["key"]] = item["path"]
    files = {paths.get(k, k.replace("__", "/")): str(v) for k, v in (version.raw.get("data") or {}).items()}
    for key, value in (version.raw.get("binaryData") or {}).items():
        files[paths.get(key, key.replace("__", "/"))] = f"<binary, {len(value)} base64 characters>\n"
    return files


def version_diff(name: str, old: str, new: str, *, target: TargetOptions) -> VersionDiff:
    """A unified diff of workflow.yaml and every node file between two retained versions."""
    report = versions(name, target=target)
    a, b = pick(report.versions, old, name=name), pick(report.versions, new, name=name)
    left, right = _files(a), _files(b)
    chunks: list[str] = []
    for path in sorted(left.keys() | right.keys()):
        chunks.extend(
            difflib.unified_diff(
                left.get(path, "").splitlines(keepends=True),
                right.get(path, "").splitlines(keepends=True),
                fromfile=f"{a.name}/{path}" if path in left else "/dev/null",
                tofile=f"{b.name}/{path}" if path in right else "/dev/null",
            )
        )
    text = "".join(line if line.endswith("\n") else line + "\n" for line in chunks)
    return VersionDiff(name, a, b, text)


@dataclass
class RollbackReport:
    name: str
    namespace: str
    previous: CodeVersion | None
    target: CodeVersion
    apply: ApplyReport = field(default_factory=ApplyReport)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "namespace": self.namespace,
            "from": self.previous.to_dict() if self.previous else None,
            "to": self.target.to_dict(),
            "manifests": self.apply.to_list(),
            "warnings": self.warnings,
        }


def _code_object(version: CodeVersion) -> dict[str, Any]:
    """The live code ConfigMap as tntc applied it: server fields, stamps and record dropped."""
    meta = version.raw["metadata"]
    annotations = {
        k: v for k, v in (meta.get("annotations") or {}).items() if k not in UNHASHED | {APPLIED_ANNOTATION}
    }
    obj: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": meta["name"],
            "namespace": meta.get("namespace"),
            "labels": dict(meta.get("labels") or {}),
            "annotations": annotations,
        },
        "immutable": True,
        "data": dict(version.raw.get("data") or {}),
    }
    if version.raw.get("binaryData"):
        obj["binaryData"] = dict(version.raw["binaryData"])
    return obj


def rollback(
    name: str,
    *,
    target: TargetOptions,
    to: str | None = None,
    timeout: float = DEFAULT_DEPLOY_TIMEOUT,
    on_event: EventSink = ignore_events,
) -> RollbackReport:
    """Re-apply exactly what the chosen version applied (default: the newest one not live), then wait."""
    check_name(name)
    resolved = resolve_target(load_settings(), target)
    namespace = resolved.namespace.value
    with connect(resolved.cluster) as kube:
        found = _retained(kube, name, namespace)
        live = next((v for v in found if v.live), None)
        if to is not None:
            chosen = pick(found, to, name=name)
        else:
            older = [v for v in found if not v.live]
            if not older:
                raise VersionNotFoundError(
                    f"{name} has no retained version to roll back to in namespace {namespace}",
                    hint=f"see what is retained: tntc versions {name} -n {namespace}",
                )
            chosen = older[0]
        report = RollbackReport(name, namespace, live, chosen)
        record = read_record(chosen.raw)
        if record is None:
            raise VersionRecordError(
                f"version {chosen.name} has no record of the objects it applied; nothing was changed",
                hint="it was deployed by an older tntc: redeploy that code with tntc deploy",
            )
        objects = [_code_object(chosen)]
        for obj in record["objects"]:
            if obj.get("kind") == "Secret":
                report.warnings.extend(_secret_gaps(kube, obj, namespace))
                continue
            objects.append(obj)
        on_event(Event(f"Rolling back {name} in {namespace} to {chosen.version} ({_short(chosen)})..."))
        for warning in report.warnings:
            on_event(Event(warning, "warning"))
        report.apply = apply_revision(
            kube,
            objects,
            workflow=name,
            namespace=namespace,
            stamp=stamp_for(kube, str(record.get("release") or "")),
            on_action=lambda a: on_event(Event(f"  {a.action} {a.ref}")),
        )
        rolled = wait_for_rollout(
            kube, name, namespace, timeout=timeout, deployment=applied_deployment(report.apply, name)
        )
        retained, _ = retained_after(kube, name, namespace, deployment=rolled, live_state=report.apply.live)
        report.target = next(v for v in retained if v.name == chosen.name)
    return report


def _secret_gaps(kube: Any, stub: dict[str, Any], namespace: str) -> list[str]:
    """The rolled-back version's Secret keys that the live Secret lacks (values are never recorded)."""
    live = kube.get(SECRET, stub["metadata"]["name"], namespace)
    have = set((live or {}).get("data") or {})
    missing = [key for key in stub.get("keys") or [] if key not in have]
    if not missing:
        return []
    return [
        f"Secret {stub['metadata']['name']} lacks key(s) {', '.join(missing)} that this version used; "
        "provision them with: tntc secrets sync"
    ]
