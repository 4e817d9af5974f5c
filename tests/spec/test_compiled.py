"""The compiled form (workflow.compiled.json): the validated model a pod's engine starts from.

What a user relies on: a deployed engine runs exactly the workflow ``tntc deploy`` validated; a
workflow.yaml edited after the deploy, or a form this version cannot read, is validated again
(never trusted, never a crash); the form holds nothing the validated model does not.
"""

from __future__ import annotations

import datetime
import json
import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from tentacular.errors import SpecError
from tentacular.spec import (
    COMPILED_FILE,
    CompiledFormUnusable,
    compile_workflow,
    load_deployed,
    load_workflow,
)
from tentacular.spec._compiled import MODEL_FINGERPRINT, model_fingerprint
from tentacular.spec._model import WorkflowConfig
from tentacular.spec._records import COMPILED_FORMAT, MAX_COMPILED_BYTES
from tests.conftest import EXAMPLES, REPO_ROOT, WorkflowFactory
from tests.spec.test_records import assert_reads_alike

WORKFLOWS = sorted([*EXAMPLES.iterdir(), *(REPO_ROOT / "benchmarks" / "workflows").iterdir()])


def _deploy_compiled(directory: Path) -> Path:
    """What the code ConfigMap holds: workflow.yaml and its compiled form side by side."""
    loaded = load_workflow(directory)
    (directory / COMPILED_FILE).write_text(compile_workflow(loaded.workflow, loaded.text), encoding="utf-8")
    return directory


def _rewrite(directory: Path, edit: Any) -> None:
    compiled = directory / COMPILED_FILE
    document = json.loads(compiled.read_text())
    edit(document)
    compiled.write_text(json.dumps(document))


@pytest.mark.parametrize("directory", WORKFLOWS, ids=lambda d: d.name)
def test_compiling_is_deterministic_and_keeps_what_was_written(directory: Path) -> None:
    loaded = load_workflow(directory)
    compiled = compile_workflow(loaded.workflow, loaded.text)
    assert compile_workflow(load_workflow(directory).workflow, loaded.text) == compiled
    document = json.loads(compiled)
    assert document["configMapping"] == loaded.workflow.config.as_mapping()
    assert list(document["workflow"]["v"]["nodes"]["$d"]) == list(loaded.workflow.nodes)


def test_mappings_keep_the_order_they_were_written_in(make_workflow: WorkflowFactory) -> None:
    text = (
        'name: ordered\nversion: "1.0"\ntriggers: [{type: manual}]\n'
        "nodes:\n  zeta: {path: ./nodes/fetch.py}\n  alpha: {path: ./nodes/left.py}\n"
        "edges: [{from: zeta, to: alpha}]\n"
        "config: {zz: 1, aa: {y: 1, b: 2}, retries: 0, mm: 3}\n"
    )
    directory = _deploy_compiled(make_workflow(text))
    loaded = load_deployed(directory)
    assert loaded.source == "compiled"
    assert list(loaded.workflow.nodes) == ["zeta", "alpha"]
    assert json.dumps(loaded.workflow.config.as_mapping()) == json.dumps(
        load_workflow(directory).workflow.config.as_mapping()
    )
    assert list(loaded.workflow.config.as_mapping()["aa"]) == ["y", "b"]


def test_the_engine_start_uses_the_compiled_form(make_workflow: WorkflowFactory) -> None:
    directory = _deploy_compiled(make_workflow())
    loaded = load_deployed(directory)
    assert loaded.source == "compiled"
    assert_reads_alike(loaded.workflow, load_workflow(directory).workflow)
    assert loaded.workflow.config.as_mapping() == {"timeout": "30s", "retries": 1, "channel": "#ops"}
    assert loaded.workflow.contract is not None
    assert loaded.workflow.contract.dependencies["db"].effective_port == 5432


def test_load_workflow_always_validates(make_workflow: WorkflowFactory) -> None:
    directory = _deploy_compiled(make_workflow())
    assert load_workflow(directory).source == "validated"  # tntc validate, deploy, test: never the form


def test_a_workflow_yaml_edited_after_deploy_is_validated_again(make_workflow: WorkflowFactory) -> None:
    directory = _deploy_compiled(make_workflow())
    text = (directory / "workflow.yaml").read_text()
    (directory / "workflow.yaml").write_text(text.replace("'#ops'", "'#alerts'"))
    loaded = load_deployed(directory)
    assert loaded.source == "validated"
    assert loaded.workflow.config.as_mapping()["channel"] == "#alerts"
    assert loaded.compiled_skipped is not None and "another workflow.yaml" in loaded.compiled_skipped


def test_an_edit_that_breaks_the_workflow_is_still_an_error(make_workflow: WorkflowFactory) -> None:
    directory = _deploy_compiled(make_workflow())
    (directory / "workflow.yaml").write_text("name: Not-Valid\n")
    with pytest.raises(SpecError):
        load_deployed(directory)


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (lambda d: d.update(format="tentacular.compiled/0"), "format"),
        (lambda d: d["workflow"].update({"$m": "BaseModel"}), "model"),  # not a spec class
        (lambda d: d["workflow"].update({"$m": "os.system"}), "model"),
        (lambda d: d["workflow"]["v"].pop("edges"), "model"),  # a field this version has
        (lambda d: d["workflow"]["v"].update(surprise=1), "model"),  # a field it does not have
        (lambda d: d["workflow"].update(x={"nodes": {}}), "model"),  # an extra key repeating a field
        (lambda d: d["workflow"].update(set=["nope"]), "model"),
        (lambda d: d["workflow"]["v"].update(edges=[{"$what": 1}]), "model"),
        (lambda d: d["workflow"]["v"].update(edges=[{}]), "model"),
        (lambda d: d["workflow"].update(x=[]), "model"),  # wrong shapes where mappings belong
        (lambda d: d["workflow"]["v"].update(config={"$d": 5}), "model"),
        (lambda d: d["workflow"]["v"].update(config={"$t": 5}), "model"),
        (lambda d: d["workflow"]["v"].update(config={"$date": 5}), "model"),
        (lambda d: d["workflow"]["v"].update(config={"$b64": "!!"}), "model"),
        (lambda d: d["workflow"].update(set=[{}]), "model"),
        (lambda d: d.pop("configMapping"), "model"),
        (lambda d: d.update(configMapping=[]), "workflow"),
        (lambda d: d.update(workflow={"$d": {}}), "workflow"),
        (lambda d: d.clear(), "format"),
    ],
)
def test_a_form_this_version_cannot_read_is_skipped(
    make_workflow: WorkflowFactory, edit: Any, reason: str
) -> None:
    directory = _deploy_compiled(make_workflow())
    _rewrite(directory, edit)
    loaded = load_deployed(directory)
    assert loaded.source == "validated"
    assert loaded.compiled_skipped is not None and reason in loaded.compiled_skipped


@pytest.mark.parametrize(
    "content", [b"", b"\xff\xfe", b"[1, 2]", b"{" * 100_000, b" " * (MAX_COMPILED_BYTES + 1)]
)
def test_odd_files_are_skipped_in_bounded_time(make_workflow: WorkflowFactory, content: bytes) -> None:
    directory = make_workflow()
    (directory / COMPILED_FILE).write_bytes(content)
    loaded = load_deployed(directory)
    assert loaded.source == "validated"
    assert loaded.compiled_skipped is not None


def test_a_directory_in_its_place_is_ignored(make_workflow: WorkflowFactory) -> None:
    directory = make_workflow()
    (directory / COMPILED_FILE).mkdir()
    loaded = load_deployed(directory)
    assert (loaded.source, loaded.compiled_skipped) == ("validated", None)


def test_yaml_scalars_json_lacks_round_trip(
    make_workflow: WorkflowFactory, valid_workflow: dict[str, Any]
) -> None:
    text = yaml.safe_dump(valid_workflow, sort_keys=False).replace(
        "channel: '#ops'",
        "channel: '#ops'\n  since: 2026-12-03\n  at: 2026-12-03 10:00:00\n  blob: !!binary aGk=",
    )
    directory = make_workflow(text)
    loaded = load_workflow(directory)
    config = loaded.workflow.config.model_extra or {}
    assert config["since"] == datetime.date(2026, 12, 3) and config["blob"] == b"hi"
    directory = _deploy_compiled(directory)
    rebuilt = load_deployed(directory)
    assert rebuilt.source == "compiled"
    assert rebuilt.workflow.config.as_mapping() == loaded.workflow.config.as_mapping()
    assert rebuilt.workflow.config.as_mapping()["since"] == "2026-12-03"


def test_a_value_without_a_compiled_form_is_refused_at_compile(
    make_workflow: WorkflowFactory, valid_workflow: dict[str, Any]
) -> None:
    text = yaml.safe_dump(valid_workflow, sort_keys=False).replace("channel: '#ops'", "channel: !!set {a, b}")
    loaded = load_workflow(make_workflow(text))
    with pytest.raises(CompiledFormUnusable, match="set"):
        compile_workflow(loaded.workflow, loaded.text)


def test_the_form_is_deterministic_and_names_its_source(make_workflow: WorkflowFactory) -> None:
    loaded = load_workflow(make_workflow())
    first = compile_workflow(loaded.workflow, loaded.text)
    assert first == compile_workflow(load_workflow(make_workflow()).workflow, loaded.text)
    document = json.loads(first)
    assert document["format"] == COMPILED_FORMAT
    assert len(document["sourceSha256"]) == 64


def test_a_model_change_bumps_the_format() -> None:
    assert model_fingerprint() == MODEL_FINGERPRINT, (
        "the spec models changed: bump COMPILED_FORMAT in spec/_compiled.py (engines of the old format "
        f"then validate workflow.yaml instead) and set MODEL_FINGERPRINT = {model_fingerprint()!r}"
    )


_plain_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=60, deadline=None)
@given(
    extra=st.dictionaries(
        st.text(min_size=1, max_size=8).filter(lambda k: k not in {"timeout", "retries"}),
        _plain_json,
        max_size=4,
    )
)
def test_config_mapping_matches_pydantic(extra: dict[str, Any]) -> None:
    config = WorkflowConfig.model_validate({"retries": 2, **extra})
    expected = config.model_dump(mode="json", by_alias=True, exclude_unset=True)
    mapping = config.as_mapping()
    assert mapping == expected
    assert list(mapping) == list(expected)
    mapping["retries"] = 99  # a node mutating ctx.config changes only its own copy
    assert config.as_mapping()["retries"] == 2


def test_config_mapping_of_non_finite_floats_matches_pydantic() -> None:
    config = WorkflowConfig.model_validate({"ratio": math.inf})
    assert config.as_mapping() == config.model_dump(mode="json", by_alias=True, exclude_unset=True)
