"""Fixture files (D8, INVENTORY §5.1, §5.2): discovery and strict parsing.

``tests/fixtures/<node>.json`` is the case ``default`` of ``<node>``;
``tests/fixtures/<node>.<case>.json`` is the case ``<case>``. Node ids cannot
contain dots, so the first dot ends the node id: ``fetch`` never picks up
``fetch-data.json`` (Q24). ``pipeline.json`` drives ``tntc test --pipeline``.

Unknown keys are errors rather than warnings: a misspelt ``"expect"`` would
otherwise silently turn a comparison into a does-not-raise check.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tentacular.errors import FixtureError

FIXTURES_DIR = Path("tests") / "fixtures"
PIPELINE_FILE = "pipeline.json"
DEFAULT_CASE = "default"
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

_NODE_KEYS = frozenset({"input", "expected", "expectError", "config", "secrets", "mocks"})
_PIPELINE_KEYS = frozenset({"input", "expected", "config", "secrets", "mocks"})
_COMMENT_KEYS = frozenset({"description", "$comment"})
_RESPONSE_KEYS = frozenset({"status", "headers", "json", "text"})


@dataclass(frozen=True)
class MockResponse:
    """One canned answer: what the node's real request code receives instead of the network."""

    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    json_body: Any = None
    text_body: str | None = None
    has_json: bool = False


@dataclass(frozen=True)
class MockRoute:
    method: str
    path: str

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"


DependencyMocks = Mapping[str, Mapping[MockRoute, MockResponse]]


class OriginalMocks(dict[str, dict[MockRoute, MockResponse]]):
    """A fixture without a ``mocks`` key: the original mock context's semantics (INVENTORY §5.5).

    Every dependency ``fetch`` answers 200 ``{"mock": true, "dependency": <name>, "path": <path>}``
    (recorded for drift) instead of failing as an unmocked request.
    """


@dataclass(frozen=True)
class NodeFixture:
    """One test case of one node."""

    node: str
    case: str
    file: Path
    input: Any
    config: Mapping[str, Any]
    secrets: Mapping[str, Mapping[str, Any]]
    mocks: DependencyMocks
    expected: Any = None
    has_expected: bool = False
    expect_error: str | None = None


@dataclass(frozen=True)
class PipelineFixture:
    """Root input, mocks and per-node expectations of a whole-DAG run."""

    file: Path | None
    input: Any
    config: Mapping[str, Any]
    secrets: Mapping[str, Mapping[str, Any]]
    mocks: DependencyMocks
    expected: Mapping[str, Any]


def fixtures_dir(workflow_dir: Path) -> Path:
    return workflow_dir / FIXTURES_DIR


def split_fixture_name(filename: str) -> tuple[str, str] | None:
    """``fetch.json`` → (fetch, default); ``fetch.empty.json`` → (fetch, empty); else None."""
    if not filename.endswith(".json") or filename == PIPELINE_FILE:
        return None
    stem = filename[: -len(".json")]
    node, dot, case = stem.partition(".")
    if not node or (dot and not case):
        return None
    return node, case or DEFAULT_CASE


def fixture_files(workflow_dir: Path) -> list[Path]:
    """Every node fixture file, sorted; missing directory means none."""
    directory = fixtures_dir(workflow_dir)
    if not directory.is_dir():
        return []
    return sorted(
        path for path in directory.iterdir() if path.is_file() and split_fixture_name(path.name) is not None
    )


def discover_node_fixtures(workflow_dir: Path, node: str) -> list[Path]:
    """The fixture files of ``node``: exact id match only (Q24)."""
    return [path for path in fixture_files(workflow_dir) if _node_of(path) == node]


def orphan_fixtures(workflow_dir: Path, nodes: Mapping[str, Any]) -> list[Path]:
    """Fixture files whose node id is not in workflow.yaml (usually a typo or a renamed node)."""
    return [path for path in fixture_files(workflow_dir) if _node_of(path) not in nodes]


def _node_of(path: Path) -> str:
    parts = split_fixture_name(path.name)
    assert parts is not None
    return parts[0]


def load_node_fixture(path: Path) -> NodeFixture:
    parts = split_fixture_name(path.name)
    if parts is None:
        raise FixtureError(
            f"{path}: not a node fixture name", hint="name it <node>.json or <node>.<case>.json"
        )
    data = _read_object(path)
    _check_keys(path, data, _NODE_KEYS)
    if "input" not in data:
        raise FixtureError(f'{path}: missing required field "input"', hint='add "input": {} for a root node')
    expect_error = data.get("expectError")
    if expect_error is not None and (not isinstance(expect_error, str) or not expect_error):
        raise FixtureError(
            f'{path}: "expectError" must be a non-empty string (a substring of the error message)'
        )
    if expect_error is not None and "expected" in data:
        raise FixtureError(
            f'{path}: "expected" and "expectError" contradict each other',
            hint="a case either returns a value or fails; split it into two fixture files",
        )
    return NodeFixture(
        node=parts[0],
        case=parts[1],
        file=path,
        input=data["input"],
        config=_config(path, data),
        secrets=_secrets(path, data),
        mocks=_mocks(path, data),
        expected=data.get("expected"),
        has_expected="expected" in data,
        expect_error=expect_error,
    )


def load_pipeline_fixture(workflow_dir: Path, nodes: Mapping[str, Any]) -> PipelineFixture:
    """``pipeline.json`` when present, else the upstream default: root input ``{}``, original mocks."""
    path = fixtures_dir(workflow_dir) / PIPELINE_FILE
    if not path.is_file():
        return PipelineFixture(None, {}, {}, {}, OriginalMocks(), {})
    data = _read_object(path)
    _check_keys(path, data, _PIPELINE_KEYS)
    expected = data.get("expected", {})
    if not isinstance(expected, dict):
        raise FixtureError(f'{path}: "expected" must map node ids to their expected outputs')
    unknown = sorted(set(expected) - set(nodes))
    if unknown:
        raise FixtureError(
            f'{path}: "expected" names nodes that are not in workflow.yaml: {", ".join(unknown)}',
            hint="nodes: " + ", ".join(nodes),
        )
    return PipelineFixture(
        file=path,
        input=data.get("input", {}),
        config=_config(path, data),
        secrets=_secrets(path, data),
        mocks=_mocks(path, data),
        expected=expected,
    )


def _read_object(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FixtureError(f"{path}: cannot read fixture: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FixtureError(
            f"{path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}",
            hint="fixtures are plain JSON: no comments, no trailing commas",
        ) from None
    if not isinstance(data, dict):
        raise FixtureError(f"{path}: a fixture must be a JSON object, got {_json_type(data)}")
    return data


def _check_keys(path: Path, data: Mapping[str, Any], allowed: frozenset[str]) -> None:
    for key in data:
        if key in allowed or key in _COMMENT_KEYS:
            continue
        if key == "contract":
            raise FixtureError(
                f'{path}: "contract" is not supported in fixtures',
                hint='tests always use the contract of workflow.yaml (Q22); mock responses go in "mocks"',
            )
        close = difflib.get_close_matches(key, sorted(allowed), n=1)
        hint = f'did you mean "{close[0]}"?' if close else "allowed: " + ", ".join(sorted(allowed))
        raise FixtureError(f'{path}: unknown field "{key}"', hint=hint)


def _config(path: Path, data: Mapping[str, Any]) -> dict[str, Any]:
    config = data.get("config", {})
    if not isinstance(config, dict):
        raise FixtureError(f'{path}: "config" must be an object, got {_json_type(config)}')
    return config


def _secrets(path: Path, data: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    secrets = data.get("secrets", {})
    if not isinstance(secrets, dict) or not all(isinstance(v, dict) for v in secrets.values()):
        raise FixtureError(
            f'{path}: "secrets" must map services to keys, e.g. {{"github": {{"token": "test"}}}}'
        )
    return secrets


def _mocks(path: Path, data: Mapping[str, Any]) -> dict[str, dict[MockRoute, MockResponse]]:
    if "mocks" not in data:
        return OriginalMocks()
    mocks = data.get("mocks", {})
    if not isinstance(mocks, dict):
        raise FixtureError(f'{path}: "mocks" must map dependency names to responses')
    parsed: dict[str, dict[MockRoute, MockResponse]] = {}
    for dependency, routes in mocks.items():
        where = f"{path}: mocks.{dependency}"
        if not isinstance(routes, dict):
            raise FixtureError(f'{where} must map "METHOD /path" keys to responses')
        parsed[dependency] = {
            parse_route(key, where): _response(response, f"{where}.{key}") for key, response in routes.items()
        }
    return parsed


def check_mocked_dependencies(path: Path, mocks: DependencyMocks, declared: Collection[str] | None) -> None:
    """Mocks of a dependency the contract does not declare never answer: a typo, said before running."""
    if declared is None or isinstance(mocks, OriginalMocks):
        return
    for name in mocks:
        if name in declared:
            continue
        close = difflib.get_close_matches(name, sorted(declared), n=1)
        raise FixtureError(
            f"{path.name}: mocks.{name} names no dependency of the contract",
            hint=f'did you mean "{close[0]}"?'
            if close
            else "declared dependencies: " + (", ".join(sorted(declared)) or "(none)"),
        )


def parse_route(key: str, where: str) -> MockRoute:
    method, _, target = key.strip().partition(" ")
    target = target.strip()
    if method.upper() not in HTTP_METHODS or not target.startswith("/"):
        raise FixtureError(
            f'{where}: mock key "{key}" must be "METHOD /path"',
            hint='e.g. "GET /repos/octo/repo/issues" (the query string is ignored)',
        )
    return MockRoute(method.upper(), urlsplit(target).path)


def _response(value: Any, where: str) -> MockResponse:
    if not isinstance(value, dict):
        raise FixtureError(f"{where}: a mock response must be an object with status, headers, json or text")
    unknown = sorted(set(value) - _RESPONSE_KEYS)
    if unknown:
        raise FixtureError(
            f"{where}: unknown field {unknown[0]!r}", hint="allowed: status, headers, json, text"
        )
    if "json" in value and "text" in value:
        raise FixtureError(f'{where}: give either "json" or "text", not both')
    status = value.get("status", 200)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise FixtureError(f'{where}: "status" must be an HTTP status code (100-599), got {status!r}')
    headers = value.get("headers", {})
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        raise FixtureError(f'{where}: "headers" must map header names to strings')
    text = value.get("text")
    if text is not None and not isinstance(text, str):
        raise FixtureError(f'{where}: "text" must be a string; use "json" for structured bodies')
    return MockResponse(
        status=status,
        headers=headers,
        json_body=value.get("json"),
        text_body=text,
        has_json="json" in value,
    )


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")
