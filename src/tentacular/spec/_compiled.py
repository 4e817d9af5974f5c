"""The compiled form of a validated workflow: what a pod's engine loads without re-validating.

``tntc deploy`` validates workflow.yaml, then writes ``workflow.compiled.json`` beside it in the
code ConfigMap: the validated model, object by object, with the sha256 of the workflow.yaml text
it came from. The engine rebuilds the model from it with ``model_construct`` (no YAML parser, no
validator built, issue 19 Build 5) and falls back to full validation when anything does not match:
another workflow.yaml (edited after deploy), another format, a class or field this version does
not know.

The form is trusted exactly as far as the ConfigMap is: whoever can write it can also write a
workflow.yaml that validates. What it skips is validation, so a hand-written form could hold
values the validator rejects; the engine's own checks (node paths resolved inside the workflow
directory, the guard's allow-lists) still apply to whatever it holds.

Encoding: every JSON object is tagged, so no user value can be mistaken for a model.
``{"$m": class, "v": {field: value}, "set": [fields set], "x": {extra keys}}`` is a model,
``{"$d": {...}}`` a plain mapping, ``{"$t": [...]}`` a tuple, ``{"$date": iso}`` /
``{"$datetime": iso}`` / ``{"$b64": ...}`` the YAML scalars JSON has no type for.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import re
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel

from tentacular.spec._model import Workflow

COMPILED_FILE = "workflow.compiled.json"
# Bump when a spec model gains, loses or renames a field, or a field changes type; the fingerprint
# test (tests/spec/test_compiled.py) fails until it is bumped. An engine of another format validates.
COMPILED_FORMAT = "tentacular.compiled/1"
MODEL_FINGERPRINT = "7e6b1362e87f436f"  # model_fingerprint() of the models COMPILED_FORMAT describes
MAX_COMPILED_BYTES = 2 * 1024 * 1024


class CompiledFormUnusable(ValueError):
    """The compiled form cannot stand in for workflow.yaml; the reason says why."""


def source_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def compile_workflow(workflow: Workflow, text: str) -> str:
    """The compiled form of ``workflow``, validated from ``text``; deterministic for equal input.

    Raises ``CompiledFormUnusable`` for a value it cannot encode (the deploy then ships no
    compiled form and the engine validates workflow.yaml at start, as before).
    """
    document = {"format": COMPILED_FORMAT, "sourceSha256": source_digest(text), "workflow": _encode(workflow)}
    # Not sort_keys: mappings keep the order they were written in (nodes, config keys), as a
    # validated load does; equal input still gives equal bytes.
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False) + "\n"


def load_compiled(raw: bytes, text: str) -> Workflow:
    """The workflow ``raw`` holds, if it was compiled from exactly ``text`` by this format."""
    if len(raw) > MAX_COMPILED_BYTES:
        raise CompiledFormUnusable(f"it is {len(raw)} bytes; the limit is {MAX_COMPILED_BYTES}")
    try:
        document = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise CompiledFormUnusable(f"it is not JSON ({exc})") from None
    if not isinstance(document, dict):
        raise CompiledFormUnusable("it is not a JSON object")
    if document.get("format") != COMPILED_FORMAT:
        raise CompiledFormUnusable(
            f"its format is {document.get('format')!r}, this engine reads {COMPILED_FORMAT}"
        )
    if document.get("sourceSha256") != source_digest(text):
        raise CompiledFormUnusable("it was compiled from another workflow.yaml (edited after deploy?)")
    try:
        workflow = _decode(document.get("workflow"), _model_classes())
    except (AttributeError, KeyError, TypeError, ValueError, RecursionError) as exc:  # any odd shape
        raise CompiledFormUnusable(f"it does not match this version's model ({exc})") from None
    if not isinstance(workflow, Workflow):
        raise CompiledFormUnusable("it does not hold a workflow")
    return workflow


def model_fingerprint() -> str:
    """A digest of every spec model's fields, aliases and types (validators included by name)."""
    parts = [
        f"{name}.{field}:{info.alias}:" + re.sub(r" at 0x[0-9a-f]+", "", repr(info.annotation))
        for name, cls in sorted(_model_classes().items())
        for field, info in cls.model_fields.items()
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


# --- encoding -----------------------------------------------------------------------------------


def _encode(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, BaseModel):
        return _encode_model(value)
    if isinstance(value, list):
        return [_encode(item) for item in value]
    if isinstance(value, tuple):
        return {"$t": [_encode(item) for item in value]}
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            raise CompiledFormUnusable("a mapping has keys that are not strings")
        return {"$d": {key: _encode(item) for key, item in value.items()}}
    if isinstance(value, datetime.datetime):  # before date: a datetime is a date
        return {"$datetime": value.isoformat()}
    if isinstance(value, datetime.date):
        return {"$date": value.isoformat()}
    if isinstance(value, bytes):
        return {"$b64": base64.b64encode(value).decode("ascii")}
    raise CompiledFormUnusable(f"a value of type {type(value).__name__} has no compiled form")


def _encode_model(model: BaseModel) -> dict[str, Any]:
    cls = type(model)
    fields = {name: _encode(getattr(model, name)) for name in cls.model_fields}
    encoded: dict[str, Any] = {"$m": cls.__qualname__, "v": fields, "set": sorted(model.model_fields_set)}
    if model.model_extra:
        encoded["x"] = {key: _encode(item) for key, item in model.model_extra.items()}
    return encoded


# --- decoding -----------------------------------------------------------------------------------


def _model_classes() -> dict[str, type[BaseModel]]:
    """Every model the spec defines, by name: the only classes a compiled form may name."""
    return {
        cls.__qualname__: cls
        for cls in _subclasses(BaseModel)
        if cls.__module__.startswith("tentacular.spec.")
    }


def _subclasses(cls: type[BaseModel]) -> Iterator[type[BaseModel]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _decode(value: Any, classes: dict[str, type[BaseModel]]) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list):
        return [_decode(item, classes) for item in value]
    if not isinstance(value, dict) or len(value) == 0:
        raise ValueError(f"unexpected {type(value).__name__}")
    if "$m" in value:
        return _decode_model(value, classes)
    ((tag, payload),) = value.items()
    if tag == "$d":
        return {key: _decode(item, classes) for key, item in payload.items()}
    if tag == "$t":
        return tuple(_decode(item, classes) for item in payload)
    if tag == "$datetime":
        return datetime.datetime.fromisoformat(payload)
    if tag == "$date":
        return datetime.date.fromisoformat(payload)
    if tag == "$b64":
        return base64.b64decode(payload, validate=True)
    raise ValueError(f"unknown tag {tag!r}")


def _decode_model(value: dict[str, Any], classes: dict[str, type[BaseModel]]) -> BaseModel:
    cls = classes[value["$m"]]
    fields: dict[str, Any] = value["v"]
    if set(fields) != set(cls.model_fields):
        raise ValueError(
            f"{cls.__qualname__} has fields {sorted(cls.model_fields)}, the form {sorted(fields)}"
        )
    values = {name: _decode(item, classes) for name, item in fields.items()}
    extra = {key: _decode(item, classes) for key, item in value.get("x", {}).items()}
    if set(extra) & set(values) or any(key in _aliases(cls) for key in extra):
        raise ValueError(f"{cls.__qualname__}: an extra key repeats a field")
    fields_set = set(value["set"])
    if not fields_set <= set(values) | set(extra):  # pydantic counts extra keys as set
        raise ValueError(f"{cls.__qualname__}: fields set that it does not have")
    # model_construct takes field names; it files keys that are no field under model_extra.
    model = cls.model_construct(_fields_set=fields_set, **values)
    if extra:  # set directly: as keyword arguments they could be taken for a field's alias
        object.__setattr__(model, "__pydantic_extra__", extra)
    return model


def _aliases(cls: type[BaseModel]) -> set[str]:
    return {field.alias for field in cls.model_fields.values() if field.alias}
