"""Records (what a pod's engine reads) against the models (what tntc validates): the same fields,
the same computed properties, the same values, for every example and benchmark workflow."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from tentacular.spec import compile_workflow, load_workflow
from tentacular.spec._behaviour import Extensions
from tentacular.spec._compiled import _model_classes
from tentacular.spec._records import FIELDS, RECORDS, Record, read_compiled
from tests.conftest import EXAMPLES, REPO_ROOT

WORKFLOWS = sorted([*EXAMPLES.iterdir(), *(REPO_ROOT / "benchmarks" / "workflows").iterdir()])
_PYDANTIC_API = set(dir(BaseModel))


def public_reads(cls: type) -> set[str]:
    """Properties and methods a model class adds to pydantic's own (what the engine may call)."""
    names = set()
    for klass in cls.__mro__:
        if klass in (BaseModel, object) or klass.__module__.startswith("pydantic"):
            continue
        for name, value in vars(klass).items():
            if not name.startswith("_") and (isinstance(value, property) or inspect.isfunction(value)):
                names.add(name)
    return names - _PYDANTIC_API


def assert_reads_alike(record: Any, model: Any, where: str = "workflow") -> None:
    """``record`` reads as ``model`` does: fields, extras, fields set and every computed property."""
    if isinstance(model, BaseModel):
        assert isinstance(record, Record), where
        assert type(record) is RECORDS[type(model).__name__], where
        for field in type(model).model_fields:
            assert_reads_alike(getattr(record, field), getattr(model, field), f"{where}.{field}")
        assert record.model_extra == (model.model_extra or {}), where
        assert record.model_fields_set == model.model_fields_set, where
        for name in public_reads(type(model)):
            if name == "as_mapping" or inspect.isfunction(getattr(type(model), name)):
                continue  # methods with arguments are compared by the tests that call them
            assert_reads_alike(getattr(record, name), getattr(model, name), f"{where}.{name}")
        if isinstance(model, Extensions):
            assert record.extensions == model.extensions, where
        return
    if isinstance(model, dict):
        assert isinstance(record, dict) and list(record) == list(model), where
        for key, value in model.items():
            assert_reads_alike(record[key], value, f"{where}[{key!r}]")
        return
    if isinstance(model, list | tuple):
        assert type(record) is type(model) and len(record) == len(model), where
        for index, (left, right) in enumerate(zip(record, model, strict=True)):
            assert_reads_alike(left, right, f"{where}[{index}]")
        return
    assert type(record) is type(model) and record == model, f"{where}: {record!r} != {model!r}"


def test_the_field_table_is_the_models() -> None:
    models = _model_classes()
    assert {name: tuple(cls.model_fields) for name, cls in models.items()} == FIELDS
    assert set(RECORDS) == set(models)


@pytest.mark.parametrize("name", sorted(_model_classes()))
def test_every_record_has_what_its_model_computes(name: str) -> None:
    model = _model_classes()[name]
    record = RECORDS[name]
    missing = sorted(n for n in public_reads(model) if not hasattr(record, n))
    assert missing == [], f"{name} record lacks {missing}"
    assert issubclass(model, Extensions) == issubclass(record, Extensions)


@pytest.mark.parametrize("directory", WORKFLOWS, ids=lambda d: d.name)
def test_every_shipped_workflow_reads_alike(directory: Path) -> None:
    loaded = load_workflow(directory)
    record = read_compiled(compile_workflow(loaded.workflow, loaded.text).encode(), loaded.text)
    assert_reads_alike(record, loaded.workflow)
    assert record.config.as_mapping() == loaded.workflow.config.as_mapping()
    for kind in ("manual", "cron", "queue", "webhook"):
        assert_reads_alike(record.triggers_of(kind), loaded.workflow.triggers_of(kind))
    assert str(record) and repr(record).startswith("Workflow(")


def test_records_read_extra_keys_as_attributes_as_models_do() -> None:
    text = (REPO_ROOT / "benchmarks" / "workflows" / "trivial3" / "workflow.yaml").read_text()
    text += "x-owner: ops\n"
    from tentacular.spec import parse_workflow

    model, _issues = parse_workflow(text)
    assert model is not None
    record = read_compiled(compile_workflow(model, text).encode(), text)
    assert getattr(record, "x-owner") == getattr(model, "x-owner") == "ops"
    with pytest.raises(AttributeError):
        record.no_such_field  # noqa: B018
    assert record == read_compiled(compile_workflow(model, text).encode(), text)
