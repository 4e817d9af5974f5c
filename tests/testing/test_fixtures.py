"""Fixture discovery (Q24) and malformed fixture files (file + what is wrong)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tentacular.errors import FixtureError
from tentacular.testing._fixtures import (
    MockRoute,
    discover_node_fixtures,
    load_node_fixture,
    load_pipeline_fixture,
    split_fixture_name,
)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("fetch.json", ("fetch", "default")),
        ("fetch.empty.json", ("fetch", "empty")),
        ("fetch.with.dots.json", ("fetch", "with.dots")),
        ("fetch-data.json", ("fetch-data", "default")),
        ("pipeline.json", None),
        ("fetch..json", None),
        ("fetch.txt", None),
    ],
)
def test_fixture_names(name: str, expected: tuple[str, str] | None) -> None:
    assert split_fixture_name(name) == expected


def test_node_does_not_pick_up_a_longer_node_name(tmp_path: Path) -> None:
    fixtures = tmp_path / "tests" / "fixtures"
    fixtures.mkdir(parents=True)
    for name in ("fetch.json", "fetch.empty.json", "fetch-data.json", "fetch-data.big.json", "pipeline.json"):
        (fixtures / name).write_text('{"input": {}}')
    assert [p.name for p in discover_node_fixtures(tmp_path, "fetch")] == ["fetch.empty.json", "fetch.json"]
    assert [p.name for p in discover_node_fixtures(tmp_path, "fetch-data")] == [
        "fetch-data.big.json",
        "fetch-data.json",
    ]
    assert discover_node_fixtures(tmp_path / "missing", "fetch") == []


def _write(tmp_path: Path, content: object, name: str = "node.json") -> Path:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


@pytest.mark.parametrize(
    ("content", "message", "hint"),
    [
        ('{"input": {},}', "invalid JSON", "trailing commas"),
        ("[1, 2]", "must be a JSON object, got an array", None),
        ({"expected": 1}, 'missing required field "input"', None),
        ({"input": {}, "expect": 1}, 'unknown field "expect"', 'did you mean "expected"?'),
        ({"input": {}, "contract": {}}, '"contract" is not supported', "workflow.yaml"),
        ({"input": {}, "expected": 1, "expectError": "x"}, "contradict", None),
        ({"input": {}, "expectError": ""}, '"expectError" must be a non-empty string', None),
        ({"input": {}, "config": []}, '"config" must be an object', None),
        ({"input": {}, "secrets": {"github": "tok"}}, '"secrets" must map services to keys', None),
        ({"input": {}, "mocks": {"api": {"/path": {}}}}, 'mock key "/path" must be "METHOD /path"', None),
        ({"input": {}, "mocks": {"api": {"FETCH /x": {}}}}, 'must be "METHOD /path"', None),
        ({"input": {}, "mocks": {"api": {"GET /x": {"status": 99}}}}, "HTTP status code", None),
        ({"input": {}, "mocks": {"api": {"GET /x": {"json": 1, "text": "a"}}}}, "not both", None),
        ({"input": {}, "mocks": {"api": {"GET /x": {"body": "a"}}}}, "unknown field 'body'", None),
        ({"input": {}, "mocks": {"api": {"GET /x": {"headers": {"a": 1}}}}}, "headers", None),
    ],
)
def test_malformed_fixtures_name_file_and_problem(
    tmp_path: Path, content: object, message: str, hint: str | None
) -> None:
    path = _write(tmp_path, content)
    with pytest.raises(FixtureError) as caught:
        load_node_fixture(path)
    assert str(path) in caught.value.message
    assert message in caught.value.message
    if hint:
        assert hint in (caught.value.hint or "")


def test_invalid_json_points_at_line_and_column(tmp_path: Path) -> None:
    path = _write(tmp_path, '{\n  "input": {}\n  "expected": 1\n}')
    with pytest.raises(FixtureError, match=r"node\.json:3:3: invalid JSON"):
        load_node_fixture(path)


def test_well_formed_fixture(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        {
            "description": "comments are allowed",
            "input": {"a": 1},
            "config": {"limit": 2},
            "secrets": {"api": {"token": "t"}},
            "mocks": {
                "api": {"get /items?page=1": {"json": [1]}, "POST /items": {"status": 201, "text": "ok"}}
            },
            "expected": None,
        },
        "fetch.paged.json",
    )
    fixture = load_node_fixture(path)
    assert (fixture.node, fixture.case) == ("fetch", "paged")
    assert fixture.has_expected and fixture.expected is None  # explicit null is compared (Q23)
    routes = fixture.mocks["api"]
    assert routes[MockRoute("GET", "/items")].json_body == [1]  # query string ignored
    assert routes[MockRoute("POST", "/items")].status == 201


def test_pipeline_fixture_rejects_unknown_nodes(tmp_path: Path) -> None:
    fixtures = tmp_path / "tests" / "fixtures"
    fixtures.mkdir(parents=True)
    (fixtures / "pipeline.json").write_text(json.dumps({"expected": {"nope": 1}}))
    with pytest.raises(FixtureError, match=r"not in workflow\.yaml: nope"):
        load_pipeline_fixture(tmp_path, {"a": None})


def test_missing_pipeline_fixture_means_empty_input(tmp_path: Path) -> None:
    fixture = load_pipeline_fixture(tmp_path, {"a": None})
    assert fixture.file is None and fixture.input == {} and fixture.expected == {}
