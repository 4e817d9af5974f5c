"""The compiled form of a validated workflow: what a pod's engine loads without re-validating.

``tntc deploy`` validates workflow.yaml, then writes ``workflow.compiled.json`` beside it in the
code ConfigMap: the validated model, object by object, with the sha256 of the workflow.yaml text
it came from. The engine reads it into plain records (``_records``: no pydantic, no YAML parser,
issue 19 Build 5) and falls back to full validation when anything does not match: another
workflow.yaml (edited after deploy), another format, a class or field this version does not know.

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
from tentacular.spec._records import COMPILED_FORMAT, CompiledFormUnusable, source_digest

MODEL_FINGERPRINT = "7e6b1362e87f436f"  # model_fingerprint() of the models COMPILED_FORMAT describes


def compile_workflow(workflow: Workflow, text: str) -> str:
    """The compiled form of ``workflow``, validated from ``text``; deterministic for equal input.

    Raises ``CompiledFormUnusable`` for a value it cannot encode (the deploy then ships no
    compiled form and the engine validates workflow.yaml at start, as before).
    """
    try:  # ctx.config as the model dumps it (YAML dates become strings, as in a validated load)
        mapping = workflow.config.as_mapping()
    except ValueError as exc:  # a value pydantic cannot dump (binary that is not UTF-8)
        raise CompiledFormUnusable(f"config has no JSON form ({exc})") from None
    document = {
        "format": COMPILED_FORMAT,
        "sourceSha256": source_digest(text),
        "workflow": _encode(workflow),
        "configMapping": mapping,
    }
    # Not sort_keys: mappings keep the order they were written in (nodes, config keys), as a
    # validated load does; equal input still gives equal bytes.
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False) + "\n"


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
