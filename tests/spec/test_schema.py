"""`tntc schema` accepts every example and rejects the structural broken cases."""

from __future__ import annotations

import json

import jsonschema
import pytest
import yaml

from tentacular.cli.main import main
from tentacular.spec._schema import workflow_json_schema
from tests.conftest import EXAMPLES
from tests.spec.test_broken_workflows import BASE, CASES

STRUCTURAL = {
    "bad-name",
    "bad-version",
    "unknown-trigger-type",
    "cron-without-schedule",
    "node-path-outside-nodes",
    "malformed-auth-secret",
    "https-without-host",
    "wrong-contract-version",
}


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = workflow_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.iterdir() if p.is_dir()))
def test_examples_validate(example: str, validator: jsonschema.Draft202012Validator) -> None:
    data = yaml.safe_load((EXAMPLES / example / "workflow.yaml").read_text())
    assert list(validator.iter_errors(data)) == []


def test_base_of_broken_set_validates(validator: jsonschema.Draft202012Validator) -> None:
    assert list(validator.iter_errors(yaml.safe_load(BASE))) == []


@pytest.mark.parametrize("case", [c for c in CASES if c.id in STRUCTURAL], ids=lambda c: c.id)
def test_structural_cases_rejected(case, validator: jsonschema.Draft202012Validator) -> None:  # type: ignore[no-untyped-def]
    data = yaml.safe_load(BASE.replace(case.old, case.new, 1))
    assert list(validator.iter_errors(data)), case.id


def test_cli_prints_the_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["$schema"].endswith("2020-12/schema")
    assert printed["properties"]["name"]["pattern"]
