"""A pod's engine reads the compiled form into plain records: the model's fields and computed
properties, without pydantic (issue 19: pydantic is ~40 % of a start that imports the models).

Each record class stands for one spec model of the same name: its fields come from the form,
its properties from the behaviour mixin the model itself uses (``_behaviour``), so both read a
workflow the same way. Records are what the engine reads; they do not validate and have none of
pydantic's API beyond ``model_extra``, ``model_fields_set`` and extra keys read as attributes.
``tests/spec/test_records.py`` holds every record to its model, field by field and property by
property, for every example workflow.
"""

from __future__ import annotations

import base64
import copy
import datetime
import hashlib
import json
from typing import Any

from tentacular.spec._behaviour import (
    AuthBehaviour,
    ContractBehaviour,
    DependencyBehaviour,
    Extensions,
    NodeSpecBehaviour,
    PortSpecBehaviour,
    QueueTriggerBehaviour,
    TelemetrySpecBehaviour,
    UnknownKeys,
    WebhookTriggerBehaviour,
    WorkflowBehaviour,
    WorkflowConfigBehaviour,
)

COMPILED_FILE = "workflow.compiled.json"
# Bump when a spec model gains, loses or renames a field, or a field changes type; the fingerprint
# test (tests/spec/test_compiled.py) fails until it is bumped. An engine of another format validates.
COMPILED_FORMAT = "tentacular.compiled/1"
MAX_COMPILED_BYTES = 2 * 1024 * 1024


# Every spec model's field names, in the model's order: a record has exactly these attributes.
# tests/spec/test_records.py holds this table to the models.
FIELDS: dict[str, tuple[str, ...]] = {
    "Auth": ("type", "secret"),
    "ClusterRoleSpec": ("rules",),
    "Contract": ("version", "dependencies", "network_policy", "allow_ffi"),
    "CronTrigger": ("name", "type", "schedule"),
    "Dependency": (
        "protocol",
        "host",
        "port",
        "database",
        "user",
        "subject",
        "container",
        "auth",
        "type",
        "cidr",
        "dyn_ports",
        "reason",
    ),
    "DeploymentSpec": ("namespace", "service_account", "rbac", "monitoring", "webhook"),
    "Edge": ("from_", "to"),
    "EgressOverride": ("to_cidr", "ports", "reason"),
    "ExtensibleModel": (),
    "GatewayRef": ("name", "namespace", "section_name"),
    "ManualTrigger": ("name", "type"),
    "MonitoringSpec": ("prometheus", "scraper", "interval"),
    "NetworkPolicyOverrides": ("additional_egress",),
    "NodeSpec": ("path", "description", "capabilities"),
    "PolicyRule": ("api_groups", "resources", "verbs", "resource_names"),
    "PortSpec": ("port", "protocol"),
    "PythonRuntime": ("requirements", "requirements_file"),
    "QueueTrigger": (
        "name",
        "type",
        "subject",
        "jetstream",
        "stream",
        "durable",
        "max_concurrency",
        "rate_limit",
        "max_deliver",
        "dead_letter",
        "max_payload",
        "schema_file",
    ),
    "RbacSpec": ("cluster_role",),
    "RuntimeSpec": ("python",),
    "ScraperSpec": ("namespace", "pod_selector"),
    "SpecModel": (),
    "TelemetrySpec": ("exporter", "endpoint", "protocol", "sampling_ratio", "resource_attributes"),
    "WebhookExposure": (
        "host",
        "ingress_namespaces",
        "ingress_pod_labels",
        "class_name",
        "tls_secret",
        "gateway",
    ),
    "WebhookTrigger": (
        "name",
        "type",
        "path",
        "provider",
        "event",
        "actions",
        "secret",
        "auth",
        "header",
        "algorithm",
        "subject",
        "replay_window",
        "schema_file",
    ),
    "Workflow": (
        "name",
        "version",
        "description",
        "triggers",
        "nodes",
        "edges",
        "config",
        "contract",
        "deployment",
        "runtime",
        "telemetry",
    ),
    "WorkflowConfig": ("timeout", "retries"),
    "_TriggerBase": ("name",),
}


class CompiledFormUnusable(ValueError):
    """The compiled form cannot stand in for workflow.yaml; the reason says why."""


class Record(UnknownKeys):
    """One model object as the form holds it: fields as attributes, in the model's field order."""

    __slots__ = ("_extra", "_fields_set")

    def __init__(self, fields: dict[str, Any], extra: dict[str, Any], fields_set: set[str]) -> None:
        self.__dict__.update(fields)
        self._extra = extra
        self._fields_set = fields_set

    @property
    def model_extra(self) -> dict[str, Any]:
        return self._extra

    @property
    def model_fields_set(self) -> set[str]:
        return self._fields_set

    def __getattr__(self, name: str) -> Any:  # extra keys read as attributes, as on the models
        if not name.startswith("_"):
            extra = self._extra
            if name in extra:
                return extra[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, Record)
        return self.__dict__ == other.__dict__ and self._extra == other._extra

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={value!r}" for name, value in self.__dict__.items())
        return f"{type(self).__name__}({fields})"


class WorkflowConfigRecord(WorkflowConfigBehaviour, Record):
    __slots__ = ("_mapping",)
    _mapping: dict[str, Any]

    def as_mapping(self) -> dict[str, Any]:
        """The config block as written, as the validated model dumped it at deploy."""
        return copy.deepcopy(self._mapping)


class PortSpecRecord(PortSpecBehaviour, Record):
    __slots__ = ()

    def __hash__(self) -> int:  # frozen on the model side
        return hash((self.port, self.protocol))


def _record(name: str, *bases: type) -> type[Record]:
    return type(name, (*bases, Record), {"__slots__": ()})


RECORDS: dict[str, type[Record]] = {
    "Workflow": _record("Workflow", WorkflowBehaviour),
    "WorkflowConfig": WorkflowConfigRecord,
    "NodeSpec": _record("NodeSpec", NodeSpecBehaviour),
    "Auth": _record("Auth", AuthBehaviour),
    "Dependency": _record("Dependency", DependencyBehaviour, Extensions),
    "Contract": _record("Contract", ContractBehaviour, Extensions),
    "QueueTrigger": _record("QueueTrigger", QueueTriggerBehaviour),
    "WebhookTrigger": _record("WebhookTrigger", WebhookTriggerBehaviour),
    "TelemetrySpec": _record("TelemetrySpec", TelemetrySpecBehaviour),
    "PortSpec": PortSpecRecord,
    "ExtensibleModel": _record("ExtensibleModel", Extensions),
}
# Every other model: fields only.
RECORDS.update({name: _record(name) for name in FIELDS if name not in RECORDS})


def source_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def read_compiled(raw: bytes, text: str) -> Record:
    """The workflow record ``raw`` holds, if it was compiled from exactly ``text`` by this format."""
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
        workflow = _decode(document.get("workflow"))
        mapping = document["configMapping"]
        if not isinstance(workflow, RECORDS["Workflow"]) or not isinstance(mapping, dict):
            raise ValueError("it does not hold a workflow")
        config = workflow.config
        if not isinstance(config, WorkflowConfigRecord):
            raise ValueError("its config is not a config block")
    except (AttributeError, KeyError, TypeError, ValueError, RecursionError) as exc:  # any odd shape
        raise CompiledFormUnusable(f"it does not match this version's model ({exc})") from None
    config._mapping = mapping
    return workflow


def _decode(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list):
        return [_decode(item) for item in value]
    if not isinstance(value, dict) or len(value) == 0:
        raise ValueError(f"unexpected {type(value).__name__}")
    if "$m" in value:
        return _decode_record(value)
    ((tag, payload),) = value.items()
    if tag == "$d":
        return {key: _decode(item) for key, item in payload.items()}
    if tag == "$t":
        return tuple(_decode(item) for item in payload)
    if tag == "$datetime":
        return datetime.datetime.fromisoformat(payload)
    if tag == "$date":
        return datetime.date.fromisoformat(payload)
    if tag == "$b64":
        return base64.b64decode(payload, validate=True)
    raise ValueError(f"unknown tag {tag!r}")


def _decode_record(value: dict[str, Any]) -> Record:
    name = value["$m"]
    cls = RECORDS[name]
    encoded: dict[str, Any] = value["v"]
    if tuple(encoded) != FIELDS[name]:
        raise ValueError(f"{name} has fields {list(FIELDS[name])}, the form {list(encoded)}")
    fields = {field: _decode(item) for field, item in encoded.items()}
    extra = {key: _decode(item) for key, item in value.get("x", {}).items()}
    if set(extra) & set(fields):
        raise ValueError(f"{name}: an extra key repeats a field")
    fields_set = set(value["set"])
    if not fields_set <= set(fields) | set(extra):  # pydantic counts extra keys as set
        raise ValueError(f"{name}: fields set that it does not have")
    return cls(fields, extra, fields_set)
