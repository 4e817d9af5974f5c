"""Structural comparison of JSON values (Q23) that names the first difference.

Objects compare without regard to key order, arrays element by element.
JSON has one number type, so ``3`` equals ``3.0``; ``true`` never equals ``1``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


class _Absent:
    """A key or item missing on one side; pickles as the one module-level instance (``tntc test``'s
    confined child sends differences back by pickle)."""

    def __repr__(self) -> str:
        return "<absent>"

    def __reduce__(self) -> str:
        return "_ABSENT"


_ABSENT: Any = _Absent()


@dataclass(frozen=True)
class Difference:
    """Where ``expected`` and ``actual`` first disagree, as a JSONPath-like ``$.a[0].b``."""

    path: str
    expected: Any
    actual: Any
    reason: str

    def render(self) -> str:
        return (
            f"first difference at {self.path}: {self.reason}\n"
            f"  expected: {describe(self.expected)}\n"
            f"  actual:   {describe(self.actual)}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "expected": None if self.expected is _ABSENT else self.expected,
            "actual": None if self.actual is _ABSENT else self.actual,
            "reason": self.reason,
        }


def first_difference(expected: Any, actual: Any, path: str = "$") -> Difference | None:
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key in expected:
            child = _child_path(path, key)
            if key not in actual:
                return Difference(child, expected[key], _ABSENT, "key missing from the output")
            found = first_difference(expected[key], actual[key], child)
            if found:
                return found
        for key in actual:
            if key not in expected:
                return Difference(
                    _child_path(path, key), _ABSENT, actual[key], "unexpected key in the output"
                )
        return None
    if isinstance(expected, list) and isinstance(actual, list):
        for index, (want, got) in enumerate(zip(expected, actual, strict=False)):
            found = first_difference(want, got, f"{path}[{index}]")
            if found:
                return found
        if len(expected) != len(actual):
            index = min(len(expected), len(actual))
            want = expected[index] if index < len(expected) else _ABSENT
            got = actual[index] if index < len(actual) else _ABSENT
            reason = f"array length differs (expected {len(expected)}, got {len(actual)})"
            return Difference(f"{path}[{index}]", want, got, reason)
        return None
    if _scalar_equal(expected, actual):
        return None
    if _kind(expected) != _kind(actual):
        reason = f"type differs (expected {_kind(expected)}, got {_kind(actual)})"
    else:
        reason = "value differs"
    return Difference(path, expected, actual, reason)


def _scalar_equal(expected: Any, actual: Any) -> bool:
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    if isinstance(expected, int | float) and isinstance(actual, int | float):
        return expected == actual
    return type(expected) is type(actual) and bool(expected == actual)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _child_path(path: str, key: Any) -> str:
    text = str(key)
    if text.isidentifier():
        return f"{path}.{text}"
    return f"{path}[{json.dumps(text, ensure_ascii=False)}]"


def describe(value: Any, limit: int = 200) -> str:
    if value is _ABSENT:
        return "(absent)"
    try:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
