"""The JSON Schema of workflow.yaml, for editors and agents (`tntc schema`)."""

from __future__ import annotations

from typing import Any

from tentacular.spec._model import Workflow
from tentacular.spec._ports import KNOWN_PROTOCOLS

SCHEMA_ID = "https://tentacular.dev/schemas/workflow.json"


def workflow_json_schema() -> dict[str, Any]:
    schema = Workflow.model_json_schema(by_alias=True, mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = SCHEMA_ID
    defs = schema.get("$defs", {})
    dependency = defs.get("Dependency")
    if dependency is not None:
        dependency["allOf"] = _dependency_rules()
    return schema


def _dependency_rules() -> list[dict[str, Any]]:
    """Per-protocol required fields, which pydantic cannot express as a schema by itself."""
    rules: list[dict[str, Any]] = [
        {
            "if": {"properties": {"type": {"const": "dynamic-target"}}, "required": ["type"]},
            "then": {"required": ["cidr", "dynPorts"]},
        }
    ]
    required = {
        "https": ["host"],
        "http": ["host"],
        "postgresql": ["host", "database", "user"],
        "nats": ["host", "subject"],
        "blob": ["host", "container"],
    }
    for protocol in KNOWN_PROTOCOLS:
        rules.append(
            {
                "if": {
                    "properties": {"protocol": {"const": protocol}},
                    "required": ["protocol"],
                    "not": {
                        "properties": {"type": {"const": "dynamic-target"}},
                        "required": ["type"],
                    },
                },
                "then": {"required": required[protocol]},
            }
        )
    return rules
