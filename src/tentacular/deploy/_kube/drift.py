"""Drift: fields on tntc's objects that other field managers own (issue 13, Build 6).

Server-side apply records, per object, which manager owns which field (``managedFields``).
tntc applies as ``tntc`` with force, so every field it renders is its own after a deploy;
what another manager owns on top — ``kubectl set env`` (manager ``kubectl-set``), an added
sidecar, a volume, ``kubectl scale`` — is drift. Changed values of tntc's own fields move to
the changer too, so they show up here until the next deploy takes them back.

Never reads or reports a value: only paths and managers (an env var may hold a secret).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tentacular.deploy._kube.client import FIELD_MANAGER, describe
from tentacular.deploy._secrets_sync import SYNC_FIELD_MANAGER

#: tntc's own managers: the deploy itself and ``tntc secrets sync`` (its secrets-hash annotation).
OWN_MANAGERS = frozenset({FIELD_MANAGER, SYNC_FIELD_MANAGER})
#: Fields the control plane itself writes on objects tntc owns; never drift.
_SYSTEM_FIELDS = frozenset({("metadata", "annotations", "deployment.kubernetes.io/revision")})
_POD_SPEC_PREFIXES = (("spec", "template", "spec"), ("spec", "jobTemplate", "spec", "template", "spec"))
_POD_TEMPLATE_LABELS = (("spec", "template", "metadata", "labels"),)
#: Pod-spec fields whose foreign ownership changes scheduling or sizing, not what the pod may do.
_BENIGN_POD_FIELDS = frozenset(
    {
        "tolerations",
        "nodeSelector",
        "affinity",
        "topologySpreadConstraints",
        "priorityClassName",
        "priority",
        "preemptionPolicy",
        "terminationGracePeriodSeconds",
        "dnsPolicy",
        "schedulerName",
        "readinessGates",
    }
)
_BENIGN_CONTAINER_FIELDS = frozenset(
    {
        "resources",
        "livenessProbe",
        "readinessProbe",
        "startupProbe",
        "imagePullPolicy",
        "terminationMessagePath",
        "terminationMessagePolicy",
    }
)
_CONTAINER_LISTS = frozenset({"containers", "initContainers"})

Token = str  # a fieldsV1 key: "f:name", 'k:{"name":"x"}', 'v:"x"'


@dataclass(frozen=True)
class DriftField:
    object: str  # Kind/name
    path: str  # spec.template.spec.containers[name=engine].env[name=FOO]
    manager: str
    security: bool
    node: tuple[Token, ...]  # the top-most field tntc does not own (what --reclaim removes)

    def to_dict(self) -> dict[str, Any]:
        return {"object": self.object, "path": self.path, "manager": self.manager, "security": self.security}

    def render(self) -> str:
        kind = "security-relevant" if self.security else "not security-relevant"
        return f"{self.object} {self.path} is owned by {self.manager} ({kind})"


def _merge(into: dict[str, Any], tree: Mapping[str, Any]) -> None:
    for key, child in tree.items():
        _merge(into.setdefault(key, {}), child or {})


def _entries(obj: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list((obj.get("metadata") or {}).get("managedFields") or [])


def _foreign_nodes(
    tree: Mapping[str, Any], own: Mapping[str, Any] | None, path: tuple[Token, ...]
) -> Iterable[tuple[tuple[Token, ...], tuple[Token, ...]]]:
    """(top-most node not owned by tntc, an item-level path within it for display)."""
    for key, child in tree.items():
        if key == ".":
            continue
        own_child = None if own is None else own.get(key)
        here = (*path, key)
        child = child or {}
        if own_child is not None:
            yield from _foreign_nodes(child, own_child, here)
            continue
        if child and "." not in child and all(k.startswith("f:") for k in child):
            # A map the manager only writes keys into (annotations, say): the keys are the drift.
            yield from _foreign_nodes(child, None, here)
            continue
        items = [k for k in child if k[:2] in ("k:", "v:")]
        if items:
            for item in items:
                yield here, (*here, item)
        else:
            yield here, here


def _field_names(tokens: Sequence[Token]) -> list[str]:
    return [t[2:] for t in tokens if t.startswith("f:")]


def display(tokens: Sequence[Token]) -> str:
    out = ""
    for token in tokens:
        kind, value = token[:2], token[2:]
        if kind == "f:":
            out += ("." if out else "") + value
        elif kind == "k:":
            keys = json.loads(value)
            out += "[" + ",".join(f"{k}={v}" for k, v in keys.items()) + "]"
        elif kind == "v:":
            out += f"[{json.loads(value)}]"
        else:
            out += f"[{value}]"
    return out


def is_security_relevant(kind: str, tokens: Sequence[Token]) -> bool:
    names = tuple(_field_names(tokens))
    if kind in ("ConfigMap", "Secret"):
        return names[:1] in (("data",), ("binaryData",), ("stringData",))
    annotations = any(names[i : i + 2] == ("metadata", "annotations") for i in range(len(names)))
    if names[:1] == ("metadata",) or annotations:
        return False
    if any(names[: len(p)] == p for p in _POD_TEMPLATE_LABELS):
        return True
    for prefix in _POD_SPEC_PREFIXES:
        if names[: len(prefix)] == prefix:
            rest = names[len(prefix) :]
            if not rest:
                return True
            if rest[0] in _CONTAINER_LISTS:
                # A whole new container is always security-relevant; within one, sizing is not.
                return len(rest) < 2 or rest[1] not in _BENIGN_CONTAINER_FIELDS
            return rest[0] not in _BENIGN_POD_FIELDS
    if kind in ("Deployment", "CronJob"):
        return names[:2] == ("spec", "template") or names[:2] == ("spec", "jobTemplate")
    return names[:1] == ("spec",)


def drift_of(obj: Mapping[str, Any]) -> list[DriftField]:
    """Fields of one live object owned by managers other than tntc's (status writers excepted)."""
    own: dict[str, Any] = {}
    foreign: list[Mapping[str, Any]] = []
    for entry in _entries(obj):
        if entry.get("subresource") == "status":
            continue
        if entry.get("manager") in OWN_MANAGERS:
            _merge(own, entry.get("fieldsV1") or {})
        else:
            foreign.append(entry)
    if not own:
        return []  # not tntc's object (a Secret created with kubectl, say): nothing to drift from
    found: dict[tuple[str, str], DriftField] = {}
    ref = describe(obj)
    for entry in foreign:
        manager = str(entry.get("manager") or "(unnamed manager)")
        for node, item in _foreign_nodes(entry.get("fieldsV1") or {}, own, ()):
            if tuple(_field_names(item)) in _SYSTEM_FIELDS:
                continue
            path = display(item)
            security = is_security_relevant(str(obj.get("kind")), item)
            found.setdefault((path, manager), DriftField(ref, path, manager, security, node))
    return sorted(found.values(), key=lambda d: (d.object, d.path, d.manager))


def drift_of_all(objects: Iterable[Mapping[str, Any] | None]) -> list[DriftField]:
    return [field for obj in objects if obj is not None for field in drift_of(obj)]


def _pointer_part(value: str) -> str:
    return value.replace("~", "~0").replace("/", "~1")


def json_pointer(obj: Mapping[str, Any], tokens: Sequence[Token]) -> list[str | int] | None:
    """The fieldsV1 path resolved against the live object: keys and list indices (None: gone)."""
    current: Any = obj
    parts: list[str | int] = []
    for token in tokens:
        kind, value = token[:2], token[2:]
        if kind == "f:" and isinstance(current, Mapping) and value in current:
            parts.append(value)
            current = current[value]
        elif kind in ("k:", "v:") and isinstance(current, list):
            wanted = json.loads(value)
            index = next(
                (
                    i
                    for i, item in enumerate(current)
                    if (
                        isinstance(item, Mapping) and all(item.get(k) == v for k, v in wanted.items())
                        if kind == "k:"
                        else item == wanted
                    )
                ),
                None,
            )
            if index is None:
                return None
            parts.append(index)
            current = current[index]
        else:
            return None
    return parts


def reclaim_patch(obj: Mapping[str, Any], fields: Sequence[DriftField]) -> list[dict[str, Any]]:
    """JSON patch removing the foreign nodes, guarded by the resourceVersion they were read at."""
    nodes = sorted({f.node for f in fields}, key=len)
    topmost: list[tuple[Token, ...]] = []
    for node in nodes:
        if not any(node[: len(top)] == top for top in topmost):
            topmost.append(node)
    pointers = [p for p in (json_pointer(obj, node) for node in topmost) if p]
    # Later list items first, so earlier indices stay valid while the patch applies.
    pointers.sort(reverse=True)
    version = (obj.get("metadata") or {}).get("resourceVersion")
    operations: list[dict[str, Any]] = [{"op": "test", "path": "/metadata/resourceVersion", "value": version}]
    for pointer in pointers:
        operations.append({"op": "remove", "path": "/" + "/".join(_pointer_part(str(p)) for p in pointer)})
    return operations if len(operations) > 1 else []
