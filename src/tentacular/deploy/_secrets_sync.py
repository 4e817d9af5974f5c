"""``tntc secrets sync`` and ``tntc secrets diff`` (INVENTORY §6.5.14 Phase C).

sync: server-side apply of the Secret alone (rendered exactly as deploy renders it, so
both own the same fields), then a roll of the Deployment only when the content changed:
the pod template gets ``tentacular.io/secrets-hash`` (strategic merge patch, like
``kubectl rollout restart``). An unchanged sync writes nothing.

diff: per ``service.key`` only-local / only-cluster / differs / same. Values are compared
by HMAC-SHA256 under a key drawn for this run and then forgotten, so neither the output
nor anything persisted can be used to guess a value.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets as random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from tentacular.deploy._kube.client import DEPLOYMENT, SECRET, KubeClient, connect
from tentacular.deploy._plan import render_objects
from tentacular.deploy._secret_manifest import PROVENANCE_ANNOTATION
from tentacular.deploy._secrets_ops import provisioned_secrets
from tentacular.deploy._settings import DeployTarget
from tentacular.engine._secret_sources import ResolvedSecrets
from tentacular.errors import ClusterNotFoundError, SecretsError
from tentacular.spec import LoadedWorkflow

SECRETS_HASH_ANNOTATION = "tentacular.io/secrets-hash"
SYNC_FIELD_MANAGER = "tntc-secrets-sync"
KeyState = Literal["only-local", "only-cluster", "differs", "same"]


@dataclass(frozen=True)
class KeyComparison:
    ref: str
    status: KeyState

    def to_dict(self) -> dict[str, str]:
        return {"ref": self.ref, "status": self.status}


@dataclass
class SecretsDiff:
    workflow: str
    namespace: str
    secret: str
    in_cluster: bool
    keys: list[KeyComparison] = field(default_factory=list)

    @property
    def differences(self) -> list[KeyComparison]:
        return [k for k in self.keys if k.status != "same"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "workflow": self.workflow,
            "namespace": self.namespace,
            "secret": self.secret,
            "inCluster": self.in_cluster,
            "keys": [k.to_dict() for k in self.keys],
        }


@dataclass
class SyncReport:
    diff: SecretsDiff
    changed: bool
    rolled: bool
    sources: dict[str, str]

    def to_dict(self) -> dict[str, Any]:
        data = self.diff.to_dict()
        data.update({"changed": self.changed, "rolled": self.rolled, "sources": self.sources})
        return data


def diff_secrets(
    loaded: LoadedWorkflow,
    target: DeployTarget,
    *,
    explicit: Path | None = None,
    client: KubeClient | None = None,
) -> SecretsDiff:
    local = provisioned_secrets(loaded, target, explicit)
    kube = client or connect(target.cluster)
    try:
        current = kube.get(SECRET, _secret_name(loaded), target.namespace.value)
    finally:
        if client is None:
            kube.close()
    return _compare(loaded, target, _desired_secret(loaded, target, local), current)


def sync_secrets(
    loaded: LoadedWorkflow,
    target: DeployTarget,
    *,
    explicit: Path | None = None,
    client: KubeClient | None = None,
) -> SyncReport:
    local = provisioned_secrets(loaded, target, explicit)
    if not local:
        raise SecretsError(
            f"{loaded.workflow.name} has no local secrets to sync",
            hint=f"create them with: tntc secrets init {loaded.directory}",
        )
    name, namespace = loaded.workflow.name, target.namespace.value
    desired = _desired_secret(loaded, target, local)
    kube = client or connect(target.cluster)
    try:
        if kube.get(DEPLOYMENT, name, namespace) is None:
            raise ClusterNotFoundError(
                f"workflow {name} is not deployed in namespace {namespace}",
                hint=f"deploy it first: tntc deploy {loaded.directory}",
            )
        current = kube.get(SECRET, desired["metadata"]["name"], namespace)
        diff = _compare(loaded, target, desired, current)
        content_changed = current is None or (current.get("data") or {}) != desired["data"]
        audit_changed = _annotation(current) != _annotation(desired)
        if content_changed or audit_changed:
            kube.apply(_stamped(kube, desired, current))
        if content_changed:
            kube.patch(DEPLOYMENT, name, namespace, _roll_patch(desired), field_manager=SYNC_FIELD_MANAGER)
    finally:
        if client is None:
            kube.close()
    return SyncReport(diff, content_changed or audit_changed, content_changed, local.from_providers())


def _stamped(kube: KubeClient, desired: dict[str, Any], current: dict[str, Any] | None) -> dict[str, Any]:
    """With the hash and deployed-by/at stamps every applied object carries (deploy._versions)."""
    from tentacular.deploy._labels import RELEASE_ANNOTATION
    from tentacular.deploy._revision import stamp_for
    from tentacular.deploy._versions import stamped

    release = ((current or {}).get("metadata") or {}).get("annotations", {}).get(RELEASE_ANNOTATION)
    return stamped(desired, current, stamp_for(kube, release or "secrets-sync"))


def _secret_name(loaded: LoadedWorkflow) -> str:
    return f"{loaded.workflow.name}-secrets"


def _desired_secret(loaded: LoadedWorkflow, target: DeployTarget, local: ResolvedSecrets) -> dict[str, Any]:
    """The Secret exactly as ``tntc deploy`` renders it (same labels, annotations, encoding)."""
    if not local:
        return {"metadata": {"name": _secret_name(loaded)}, "data": {}}
    for obj in render_objects(loaded, target, local):
        if obj["kind"] == "Secret":
            return obj
    raise SecretsError(f"no Secret rendered for {loaded.workflow.name}")  # unreachable with secrets


def _annotation(obj: dict[str, Any] | None) -> str | None:
    value = ((obj or {}).get("metadata") or {}).get("annotations", {}).get(PROVENANCE_ANNOTATION)
    return None if value is None else str(value)


def _roll_patch(desired: dict[str, Any]) -> dict[str, Any]:
    """A new pod-template annotation rolls the pods; its value is a keyed hash nobody can invert."""
    key = random.token_bytes(32)
    content = json.dumps(desired["data"], sort_keys=True).encode()
    digest = hmac.new(key, content, hashlib.sha256).hexdigest()[:32]
    return {"spec": {"template": {"metadata": {"annotations": {SECRETS_HASH_ANNOTATION: digest}}}}}


def _compare(
    loaded: LoadedWorkflow, target: DeployTarget, desired: dict[str, Any], current: dict[str, Any] | None
) -> SecretsDiff:
    key = random.token_bytes(32)
    local = _fingerprints(desired.get("data") or {}, key)
    remote = _fingerprints((current or {}).get("data") or {}, key)
    keys = []
    for ref in sorted(set(local) | set(remote)):
        if ref not in remote:
            status: KeyState = "only-local"
        elif ref not in local:
            status = "only-cluster"
        else:
            status = "same" if hmac.compare_digest(local[ref], remote[ref]) else "differs"
        keys.append(KeyComparison(ref, status))
    return SecretsDiff(
        loaded.workflow.name, target.namespace.value, _secret_name(loaded), current is not None, keys
    )


def _fingerprints(data: dict[str, str], key: bytes) -> dict[str, bytes]:
    """``service.key`` → HMAC of its value, reading each Secret file as the engine does."""
    result: dict[str, bytes] = {}
    for service, encoded in data.items():
        try:
            text = base64.b64decode(encoded, validate=True).decode("utf-8")
        except ValueError:
            text = ""
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        keys = parsed if isinstance(parsed, dict) else {"value": text.strip()}
        for name, value in keys.items():
            canonical = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
            result[f"{service}.{name}"] = hmac.new(key, canonical.encode("utf-8"), hashlib.sha256).digest()
    return result
