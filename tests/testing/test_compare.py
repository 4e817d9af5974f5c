"""Structural equality (Q23) with the first differing JSON path."""

from __future__ import annotations

from typing import Any

import pytest

from tentacular.testing._compare import first_difference


@pytest.mark.parametrize(
    ("expected", "actual"),
    [
        ({"a": 1, "b": [1, {"c": 2}]}, {"b": [1, {"c": 2}], "a": 1}),  # key order does not matter
        (3, 3.0),  # JSON has one number type
        (None, None),
        ([], []),
    ],
)
def test_equal(expected: Any, actual: Any) -> None:
    assert first_difference(expected, actual) is None


@pytest.mark.parametrize(
    ("expected", "actual", "path", "reason"),
    [
        ({"a": {"b": [1, 2, 3]}}, {"a": {"b": [1, 5, 3]}}, "$.a.b[1]", "value differs"),
        ({"a": 1, "b": 2}, {"a": 1}, "$.b", "key missing"),
        ({"a": 1}, {"a": 1, "z": 0}, "$.z", "unexpected key"),
        ([1, 2], [1, 2, 3], "$[2]", "array length differs (expected 2, got 3)"),
        ({"ok": True}, {"ok": 1}, "$.ok", "type differs (expected boolean, got number)"),
        ({"x y": "a"}, {"x y": "b"}, '$["x y"]', "value differs"),
        (None, {}, "$", "type differs (expected null, got object)"),
    ],
)
def test_first_difference(expected: Any, actual: Any, path: str, reason: str) -> None:
    difference = first_difference(expected, actual)
    assert difference is not None
    assert difference.path == path
    assert reason in difference.reason


def test_render_shows_both_values() -> None:
    difference = first_difference({"stories": [{"score": 300}]}, {"stories": [{"score": 301}]})
    assert difference is not None
    text = difference.render()
    assert "$.stories[0].score" in text
    assert "expected: 300" in text and "actual:   301" in text
