"""Code versions in the cluster: stamps, object hashes, what a version applied, retention (roadmap #9, #13).

Kubernetes is the only record of what is deployed (UX-0). Every applied object carries

* ``tentacular.io/object-hash`` – sha256 of the object as rendered, without the stamps below and
  with its namespace neutralised, so the same bits in two namespaces have the same hash;
* the stamps ``deployed-by``, ``deployed-at`` and ``release`` – who applied this content, when,
  and as which release. They are carried over from the live object when its hash is unchanged,
  so an unchanged redeploy is still a no-op under server-side apply.

Each code ConfigMap ``{wf}-code-{version}-{hash}`` also records, in ``tentacular.io/applied``,
every other object its version applied (Secret values excepted: only key names). ``tntc
rollback`` re-applies exactly that list; annotations stay mutable on an immutable ConfigMap.
"""

from __future__ import annotations

import base64
import copy
import gzip
import hashlib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tentacular.deploy._codemap import CODE_COMPONENT
from tentacular.deploy._labels import (
    APPLIED_ANNOTATION,
    CODE_HASH_ANNOTATION,
    COMPONENT_LABEL,
    DEPLOYED_AT_ANNOTATION,
    DEPLOYED_BY_ANNOTATION,
    GIT_SHA_ANNOTATION,
    KINDS_ANNOTATION,
    MANAGED_BY,
    MANAGED_BY_LABEL,
    NAME_LABEL,
    NAMESPACE_LABEL,
    OBJECT_HASH_ANNOTATION,
    RELEASE_ANNOTATION,
    VERSION_LABEL,
)
from tentacular.errors import ManifestError

DEFAULT_KEEP = 5
DEPLOYED_BY_ENV = "TNTC_DEPLOYED_BY"
STAMPS = (DEPLOYED_BY_ANNOTATION, DEPLOYED_AT_ANNOTATION, RELEASE_ANNOTATION)
# The kinds record is written at apply time, like the stamps: not part of what was rendered.
UNHASHED = frozenset({*STAMPS, OBJECT_HASH_ANNOTATION, KINDS_ANNOTATION})
NEUTRAL_NAMESPACE = "<namespace>"
_RECORD_LIMIT = 200_000  # bytes; annotations of one object may total 256 KiB


def code_selector(workflow: str) -> dict[str, str]:
    return {NAME_LABEL: workflow, MANAGED_BY_LABEL: MANAGED_BY, COMPONENT_LABEL: CODE_COMPONENT}


def is_code_configmap(obj: Mapping[str, Any]) -> bool:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return obj.get("kind") == "ConfigMap" and labels.get(COMPONENT_LABEL) == CODE_COMPONENT


def deployed_by(kubeconfig_user: str | None, environ: Mapping[str, str] | None = None) -> str:
    """``TNTC_DEPLOYED_BY``, else the kubeconfig user of the context in use, else the OS user."""
    env = os.environ if environ is None else environ
    chosen = env.get(DEPLOYED_BY_ENV) or kubeconfig_user or env.get("USER") or _os_user()
    return chosen.strip() or "unknown"


def _os_user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        return "unknown"


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Stamp:
    """Who applies, when, as which release: the volatile part of an object's metadata."""

    deployed_by: str
    deployed_at: str
    release: str

    def annotations(self) -> dict[str, str]:
        return {
            DEPLOYED_BY_ANNOTATION: self.deployed_by,
            DEPLOYED_AT_ANNOTATION: self.deployed_at,
            RELEASE_ANNOTATION: self.release,
        }


def neutral(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The object without stamps and with every namespace-bearing field neutralised: what its hash covers."""
    from tentacular.deploy._release._retarget import retarget

    meta = obj.get("metadata") or {}
    labels = meta.get("labels") or {}
    namespace = meta.get("namespace") or labels.get(NAMESPACE_LABEL)
    workflow = str(labels.get(NAME_LABEL) or "")
    copied = (
        retarget([obj], workflow=workflow, source=str(namespace), target=NEUTRAL_NAMESPACE)[0]
        if namespace
        else copy.deepcopy(dict(obj))
    )
    copied_meta = copied.setdefault("metadata", {})
    annotations = {k: v for k, v in (copied_meta.get("annotations") or {}).items() if k not in UNHASHED}
    if annotations:
        copied_meta["annotations"] = annotations
    else:
        copied_meta.pop("annotations", None)
    return copied


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def object_hash(obj: Mapping[str, Any]) -> str:
    """A Secret's hash covers its key names, never its values: a value's hash in an annotation
    would let anyone who can read annotations test guesses of the secret."""
    if obj.get("kind") == "Secret":
        obj = {
            **obj,
            "data": dict.fromkeys(sorted({*(obj.get("data") or {}), *(obj.get("stringData") or {})}), ""),
        }
        obj.pop("stringData", None)
    return "sha256:" + hashlib.sha256(canonical(neutral(obj))).hexdigest()


def release_id(objects: Iterable[Mapping[str, Any]]) -> str:
    """A plain deploy's release id: the digest of its object hashes (a unit has its own id)."""
    hasher = hashlib.sha256()
    for obj in objects:
        hasher.update(object_hash(obj).encode())
    return "deploy-" + hasher.hexdigest()[:16]


def stamped(obj: Mapping[str, Any], live: Mapping[str, Any] | None, stamp: Stamp) -> dict[str, Any]:
    """The object with its hash and stamps; the live stamps when the live content is the same."""
    result = copy.deepcopy(dict(obj))
    digest = object_hash(result)
    meta = result.setdefault("metadata", {})
    live_annotations = ((live or {}).get("metadata") or {}).get("annotations") or {}
    if live_annotations.get(OBJECT_HASH_ANNOTATION) == digest and all(k in live_annotations for k in STAMPS):
        stamps = {k: live_annotations[k] for k in STAMPS}
    else:
        stamps = stamp.annotations()
    meta["annotations"] = {**(meta.get("annotations") or {}), **stamps, OBJECT_HASH_ANNOTATION: digest}
    return result


def secret_stub(secret: Mapping[str, Any]) -> dict[str, Any]:
    """A Secret reduced to what may be recorded anywhere: its name and key names, never a value."""
    meta = secret.get("metadata") or {}
    keys = sorted({*(secret.get("data") or {}), *(secret.get("stringData") or {})})
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": meta.get("name")}, "keys": keys}


def with_record(
    objects: Sequence[Mapping[str, Any]], release: str, *, workflow: str, namespace: str
) -> list[dict[str, Any]]:
    """Copies of ``objects`` whose code ConfigMap records every other object (Secrets as stubs).

    The record is namespace-neutral, so the same release in two namespaces records the same bytes."""
    from tentacular.deploy._release._retarget import retarget

    others = retarget(
        [secret_stub(o) if o.get("kind") == "Secret" else o for o in objects if not is_code_configmap(o)],
        workflow=workflow,
        source=namespace,
        target=NEUTRAL_NAMESPACE,
    )
    payload = gzip.compress(canonical({"release": release, "objects": others}), mtime=0)
    record = base64.b64encode(payload).decode("ascii")
    if len(record) > _RECORD_LIMIT:
        raise ManifestError(
            f"the record of this version's objects is {len(record)} bytes, more than {_RECORD_LIMIT}",
            hint="fewer or smaller objects (CronJobs, routes) per workflow",
        )
    result: list[dict[str, Any]] = []
    for obj in objects:
        copied = copy.deepcopy(dict(obj))
        if is_code_configmap(copied):
            meta = copied.setdefault("metadata", {})
            meta["annotations"] = {**(meta.get("annotations") or {}), APPLIED_ANNOTATION: record}
        result.append(copied)
    return result


def read_record(configmap: Mapping[str, Any]) -> dict[str, Any] | None:
    """What this version applied (in the ConfigMap's namespace), or None when the ConfigMap predates
    records or the record is damaged."""
    raw = ((configmap.get("metadata") or {}).get("annotations") or {}).get(APPLIED_ANNOTATION)
    if not raw:
        return None
    try:
        record = json.loads(gzip.decompress(base64.b64decode(raw, validate=True)))
    except (ValueError, OSError, EOFError):
        return None
    if not isinstance(record, dict) or not isinstance(record.get("objects"), list):
        return None
    from tentacular.deploy._release._retarget import retarget

    meta = configmap.get("metadata") or {}
    workflow = str((meta.get("labels") or {}).get(NAME_LABEL, ""))
    record["objects"] = retarget(
        record["objects"], workflow=workflow, source=NEUTRAL_NAMESPACE, target=str(meta.get("namespace"))
    )
    return record


@dataclass(frozen=True)
class CodeVersion:
    """One retained code ConfigMap, as ``tntc versions`` lists it."""

    name: str
    version: str | None
    code_hash: str | None
    deployed_at: str | None
    deployed_by: str | None
    git_sha: str | None
    release: str | None
    size: int
    live: bool = False
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "codeHash": self.code_hash,
            "deployedAt": self.deployed_at,
            "deployedBy": self.deployed_by,
            "gitSha": self.git_sha,
            "release": self.release,
            "size": self.size,
            "live": self.live,
        }


def code_version(configmap: Mapping[str, Any], live_name: str | None) -> CodeVersion:
    meta = configmap.get("metadata") or {}
    annotations = meta.get("annotations") or {}
    data = configmap.get("data") or {}
    binary = configmap.get("binaryData") or {}
    size = sum(len(str(v).encode()) for v in data.values()) + sum(len(str(v)) for v in binary.values())
    return CodeVersion(
        name=str(meta.get("name")),
        version=(meta.get("labels") or {}).get(VERSION_LABEL),
        code_hash=annotations.get(CODE_HASH_ANNOTATION),
        deployed_at=annotations.get(DEPLOYED_AT_ANNOTATION) or meta.get("creationTimestamp"),
        deployed_by=annotations.get(DEPLOYED_BY_ANNOTATION),
        git_sha=annotations.get(GIT_SHA_ANNOTATION),
        release=annotations.get(RELEASE_ANNOTATION),
        size=size,
        live=meta.get("name") == live_name,
        raw=configmap,
    )


def newest_first(versions: Iterable[CodeVersion]) -> list[CodeVersion]:
    return sorted(versions, key=lambda v: (v.deployed_at or "", v.name), reverse=True)


def live_code_name(deployment: Mapping[str, Any] | None) -> str | None:
    """The code ConfigMap the Deployment's pod template mounts."""
    if deployment is None:
        return None
    for volume in ((deployment.get("spec") or {}).get("template") or {}).get("spec", {}).get("volumes") or []:
        if volume.get("name") == "code" and volume.get("configMap"):
            return str(volume["configMap"].get("name"))
    return None


def to_prune(versions: Sequence[CodeVersion], keep: int, protect: Iterable[str | None] = ()) -> list[str]:
    """The code ConfigMaps beyond the ``keep`` newest; never the live one or a protected one."""
    if keep < 1:
        raise ManifestError(f"--keep must be at least 1, got {keep}", hint="the live version is always kept")
    protected = {name for name in protect if name}
    ordered = newest_first(versions)
    kept = {v.name for v in ordered[:keep]} | {v.name for v in ordered if v.live} | protected
    return [v.name for v in reversed(ordered) if v.name not in kept]


def keep_setting(environment_fields: Mapping[str, Any] | None, flag: int | None) -> int:
    """``--keep`` > the environment's ``keep`` > 5; checked before anything is applied."""
    if flag is not None:
        if flag < 1:
            from tentacular.errors import UsageError

            raise UsageError(f"--keep must be at least 1, got {flag}", hint="the live version is always kept")
        return flag
    value = (environment_fields or {}).get("keep")
    if value is None:
        return DEFAULT_KEEP
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        from tentacular.errors import ConfigError

        raise ConfigError(f"environment keep must be a positive integer, got {value!r}", hint="e.g. keep: 5")
    return value
