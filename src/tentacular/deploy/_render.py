"""Printing manifests: multi-document YAML or JSON, with Secret values masked (D5)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import yaml

from tentacular.deploy._secret_manifest import masked


def mask_secrets(objects: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Copies of ``objects`` in which no Secret value survives."""
    return [masked(obj) if obj.get("kind") == "Secret" else dict(obj) for obj in objects]


class _ManifestDumper(yaml.SafeDumper):
    """Multi-line strings (node code) as literal blocks, so reviews read like the source."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_ManifestDumper.add_representer(str, _represent_str)


def to_yaml(objects: Iterable[Mapping[str, Any]]) -> str:
    """``kubectl apply -f -`` ready: one document per object, in the given (apply) order."""
    return yaml.dump_all(
        [dict(obj) for obj in objects],
        Dumper=_ManifestDumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        explicit_start=True,
        width=1_000_000,
    )


def to_json(objects: Iterable[Mapping[str, Any]]) -> str:
    """A ``v1/List``, which kubectl accepts as well."""
    document = {"apiVersion": "v1", "kind": "List", "items": [dict(obj) for obj in objects]}
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
