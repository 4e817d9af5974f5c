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
    for field in ("data", "stringData"):
        if isinstance(copy.get(field), Mapping):
            copy[field] = dict.fromkeys(copy[field], MASK)
    return copy
