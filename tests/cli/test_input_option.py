"""`--input` for `tntc run` (local and deployed): inline JSON or @file, `{}` when absent or empty."""

from __future__ import annotations

from pathlib import Path

import pytest

from tentacular.cli.common import parse_input
from tentacular.errors import InputError


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, {}),
        ("", {}),
        ("null", {}),
        ('{"a": 1}', {"a": 1}),
        ("[1, 2]", [1, 2]),
        ({"k": "v"}, {"k": "v"}),
    ],
)
def test_values(value: object, expected: object) -> None:
    assert parse_input(value) == expected


def test_file(tmp_path: Path) -> None:
    payload = tmp_path / "in.json"
    payload.write_text('{"text": "from a file"}')
    assert parse_input(f"@{payload}") == {"text": "from a file"}


def test_invalid_json_names_the_source(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="--input is not valid JSON") as info:
        parse_input("{bad")
    assert info.value.exit_code == 2 and info.value.hint
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    with pytest.raises(InputError, match=r"broken\.json is not valid JSON"):
        parse_input(f"@{broken}")
    with pytest.raises(InputError, match="cannot read input file"):
        parse_input(f"@{tmp_path / 'missing.json'}")
