"""Secret ``{wf}-secrets`` from the workflow's local secrets (D5, INVENTORY §7.7, Q38).

Each service becomes one file in the mounted volume, in the shape the engine reads
back (``engine.secrets.load_directory``): a plain ``{value: x}`` service is the bare
value, any other map is JSON. Values are base64 ``data`` rather than ``stringData``
so server-side apply owns every key and a removed key is really removed.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

MASK = "<masked>"  # not base64 on purpose: a masked manifest cannot be applied by mistake
PROVENANCE_ANNOTATION = "tentacular.io/secret-sources"


def provenance_annotation(provenance: Mapping[str, str] | None) -> dict[str, str]:
    """Which source supplied each ``service.key`` (``vault:kv/app#token``, ``.secrets.yaml``), no values."""
    if not provenance:
        return {}
    return {PROVENANCE_ANNOTATION: json.dumps(dict(sorted(provenance.items())), separators=(",", ":"))}


def secret_file_content(keys: Mapping[str, Any]) -> str:
    if set(keys) == {"value"}:
        value = keys["value"]
        return value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return json.dumps(dict(keys), sort_keys=True, separators=(",", ":"))


def secret(*, meta: dict[str, object], secrets: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    data = {
        service: base64.b64encode(secret_file_content(keys).encode("utf-8")).decode("ascii")
        for service, keys in sorted(secrets.items())
    }
    return {"apiVersion": "v1", "kind": "Secret", "metadata": meta, "type": "Opaque", "data": data}


def masked(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a Secret with every value replaced; key names (service names) stay visible."""
    copy = dict(manifest)
    annotations = (manifest.get("metadata") or {}).get("annotations") or {}
    try:
        provenance: dict[str, str] = json.loads(annotations.get(PROVENANCE_ANNOTATION) or "{}")
    except ValueError:
        provenance = {}
    for field in ("data", "stringData"):
        if isinstance(copy.get(field), Mapping):
            copy[field] = {service: _mask_for(service, provenance) for service in copy[field]}
    return copy


def _mask_for(service: str, provenance: Mapping[str, str]) -> str:
    """``<from vault:kv/app#token>`` when every key of the service came from a provider (K-S9)."""
    labels = [label for ref, label in sorted(provenance.items()) if ref.split(".", 1)[0] == service]
    if labels and all(":" in label for label in labels):
        return f"<from {', '.join(dict.fromkeys(labels))}>"
    return MASK
