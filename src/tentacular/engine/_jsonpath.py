"""Where in a node's output the value that is not JSON sits: ``$.names: set``.

Run only after encoding has failed, so the happy path pays nothing. The walk is
iterative and bounded, so a hostile output (deep nesting, a cycle) is answered quickly.
"""

from __future__ import annotations

import math
import re
from typing import Any

MAX_VISITED = 100_000
_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def non_json_path(value: Any) -> str | None:
    """``"$.a[2].b: set"`` for the first value strict JSON cannot carry, else None."""
    pending: list[tuple[str | None, Any]] = [("$", value)]
    active: set[int] = set()  # containers on the current path: a cycle, not a shared value
    visited = 0
    while pending and visited < MAX_VISITED:
        path, current = pending.pop()
        if path is None:  # every child of this container is checked
            active.discard(current)
            continue
        visited += 1
        kind = type(current)
        if current is None or kind in (str, int, bool):
            continue
        if kind is float:
            if not math.isfinite(current):
                return f"{path}: {current!r} (JSON has no NaN or Infinity)"
            continue
        if isinstance(current, dict | list | tuple):
            if id(current) in active:
                return f"{path}: a reference to itself (circular)"
            active.add(id(current))
            pending.append((None, id(current)))
            children: list[tuple[str | None, Any]]
            if isinstance(current, dict):
                children = []
                for key, item in current.items():
                    if not isinstance(key, str):
                        return f"{path}: key {key!r} ({type(key).__name__}; JSON keys are strings)"
                    children.append((_member(path, key), item))
            else:
                children = [(f"{path}[{index}]", item) for index, item in enumerate(current)]
            pending.extend(reversed(children))
            continue
        return f"{path}: {kind.__name__}"
    return None


def _member(path: str, key: str) -> str:
    return f"{path}.{key}" if _PLAIN_KEY.match(key) else f"{path}[{key!r}]"
