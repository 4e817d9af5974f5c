"""Every broken workflow fails with its location, field path and message: text and JSON, exit 2."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from tentacular.cli.main import main
from tentacular.spec import parse_workflow

BASE = """\
name: sample-flow
version: "1.0"
triggers:
  - type: manual
  - type: cron
    name: nightly
    schedule: "0 2 * * *"
nodes:
  fetch:
    path: ./nodes/fetch.py
  left:
    path: ./nodes/left.py
  join:
    path: ./nodes/join.py
edges:
  - from: fetch
    to: left
  - from: left
    to: join
contract:
  version: "1"
  dependencies:
    github:
      protocol: https
      host: api.github.com
      auth:
        type: bearer-token
        secret: github.token
    scanner:
      protocol: https
      type: dynamic-target
      cidr: 10.0.0.0/8
      dynPorts: ["443/TCP"]
      reason: probes internal services
"""


@dataclass(frozen=True)
class Case:
    id: str
    old: str
    new: str
    path: str
    message: str
    marker: str | None  # the text on the reported line; None when no line applies
    column: int | None = None
    occurrence: int = 1  # which line starting with ``marker`` is meant


CASES = [
    Case(
        "malformed-yaml",
        "  fetch:\n    path: ./nodes/fetch.py",
        "  fetch: [unclosed\n    path: x",
        "",
        "invalid YAML",
        "    path: x",
    ),
    Case("bad-name", "name: sample-flow", "name: Sample_Flow", "name", "kebab-case", "name: Sample_Flow", 7),
    Case("bad-version", 'version: "1.0"', 'version: "v1"', "version", "MAJOR.MINOR", 'version: "v1"', 10),
    Case(
        "unknown-trigger-type",
        "  - type: manual",
        "  - type: bogus",
        "triggers[0]",
        'invalid trigger type "bogus"',
        "  - type: bogus",
        5,
    ),
    Case(
        "cron-without-schedule",
        '    schedule: "0 2 * * *"\n',
        "",
        "triggers[1].schedule",
        "schedule is required",
        "  - type: cron",
        5,
    ),
    Case(
        "cron-invalid-schedule",
        '"0 2 * * *"',
        '"61 2 * * *"',
        "triggers[1].schedule",
        'invalid cron schedule "61 2 * * *"',
        '    schedule: "61 2 * * *"',
        15,
    ),
    Case(
        "duplicate-trigger-names",
        "  - type: manual",
        "  - type: manual\n    name: nightly",
        "triggers[1].name",
        'duplicate trigger name "nightly"',
        "    name: nightly",
        11,
        occurrence=2,
    ),
    Case(
        "missing-node-file",
        "./nodes/join.py",
        "./nodes/absent.py",
        "nodes.join.path",
        'node file "nodes/absent.py" does not exist',
        "    path: ./nodes/absent.py",
        11,
    ),
    Case(
        "node-path-outside-nodes",
        "./nodes/join.py",
        "../elsewhere/join.py",
        "nodes.join.path",
        "must be a .py or .ts file inside nodes/",
        "    path: ../elsewhere/join.py",
        11,
    ),
    Case(
        "edge-to-unknown-node",
        "    to: left\n",
        "    to: lefty\n",
        "edges[0].to",
        'to node "lefty" is not defined',
        "    to: lefty",
        9,
    ),
    Case(
        "self-loop",
        "  - from: left\n    to: join",
        "  - from: left\n    to: left",
        "edges[1]",
        'self-loop on "left"',
        "  - from: left",
        5,
    ),
    Case(
        "three-node-cycle",
        "    to: join\n",
        "    to: join\n  - from: join\n    to: fetch\n",
        "edges[0]",
        "cycle detected: fetch → left → join → fetch",
        "  - from: fetch",
        5,
    ),
    Case(
        "malformed-auth-secret",
        "secret: github.token",
        "secret: GITHUB_TOKEN",
        "contract.dependencies.github.auth.secret",
        'must be in "service.key" format',
        "        secret: GITHUB_TOKEN",
        17,
    ),
    Case(
        "https-without-host",
        "      host: api.github.com\n",
        "",
        "contract.dependencies.github.host",
        "https dependency requires host",
        "      protocol: https",
        7,
    ),
    Case(
        "invalid-cidr",
        "cidr: 10.0.0.0/8",
        "cidr: 10.0.0.0/33",
        "contract.dependencies.scanner.cidr",
        'invalid CIDR format "10.0.0.0/33"',
        "      cidr: 10.0.0.0/33",
        13,
    ),
    Case(
        "wrong-contract-version",
        '  version: "1"',
        '  version: "2"',
        "contract.version",
        'contract.version must be "1"',
        '  version: "2"',
        12,
    ),
]


def _write(tmp_path: Path, case: Case) -> tuple[Path, str]:
    assert case.old in BASE, case.id
    text = BASE.replace(case.old, case.new, 1)
    nodes = tmp_path / "nodes"
    nodes.mkdir(parents=True)
    for name in ("fetch", "left", "join"):
        (nodes / f"{name}.py").write_text("async def run(ctx, input):\n    return input\n")
    (tmp_path / "workflow.yaml").write_text(text)
    return tmp_path, text


def _expected_line(text: str, case: Case) -> int | None:
    if case.marker is None:
        return None
    hits = [i for i, line in enumerate(text.splitlines(), 1) if line.startswith(case.marker)]
    return hits[case.occurrence - 1]


def test_base_workflow_is_valid(tmp_path: Path) -> None:
    directory, _ = _write(tmp_path, Case("none", "name", "name", "", "", None))
    workflow, issues = parse_workflow(BASE, directory=directory)
    assert workflow is not None
    assert [i for i in issues if i.severity == "error"] == []


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_text_output(case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    directory, text = _write(tmp_path, case)
    code = main(["validate", str(directory)])
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert "Traceback" not in err
    line = _expected_line(text, case)
    location = f"workflow.yaml:{line}:" if line else "workflow.yaml"
    matching = [row for row in err.splitlines() if case.message in row]
    assert matching, err
    assert location in matching[0]
    assert f": {case.path}: " in matching[0] or (case.path == "" and ": <root>: " in matching[0])
    assert "hint:" in err


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_json_output(case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    directory, text = _write(tmp_path, case)
    code = main(["validate", str(directory), "-o", "json"])
    out, err = capsys.readouterr()
    assert code == 2
    assert "Traceback" not in out + err
    envelope = json.loads(out)
    assert envelope["status"] == "fail"
    assert envelope["command"] == "validate"
    errors = [e for e in envelope["errors"] if case.message in e["message"]]
    assert errors, envelope["errors"]
    error = errors[0]
    assert error["path"] == case.path
    assert error["file"].endswith("workflow.yaml")
    assert error["line"] == _expected_line(text, case)
    if case.column is not None:
        assert error["column"] == case.column
    assert error["hint"]
    assert set(error) >= {"file", "line", "column", "path", "message", "hint"}


def test_all_errors_reported_at_once(tmp_path: Path) -> None:
    text = BASE.replace("name: sample-flow", "name: Bad").replace('"0 2 * * *"', '"nope"')
    text = text.replace("    to: left\n", "    to: ghost\n")
    workflow, issues = parse_workflow(text)
    assert workflow is None
    paths = {issue.path for issue in issues if issue.severity == "error"}
    assert {"name", "triggers[1].schedule", "edges[0].to"} <= paths
