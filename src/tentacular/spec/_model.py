"""The workflow.yaml model (INVENTORY §2 with DECISIONS D2).

Per-object rules live on the models; rules that relate several parts of the
file (edges to nodes, cycles, unique trigger names, node files on disk) live in
``crossref`` so they can run even when some objects fail to validate.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import Discriminator, Field, Tag, field_validator, model_validator
from pydantic_core import PydanticCustomError

from tentacular.defaults import DEFAULT_NODE_TIMEOUT
from tentacular.spec._behaviour import NodeSpecBehaviour, WorkflowBehaviour, WorkflowConfigBehaviour
from tentacular.spec._contract import Auth, Contract, Dependency, EgressOverride, NetworkPolicyOverrides
from tentacular.spec._fields import (
    NODE_PATH_RE,
    WORKFLOW_NAME_RE,
    DnsLabel,
    DnsSubdomain,
    Duration,
    Identifier,
    SpecModel,
    Version,
    WorkflowName,
    duration_seconds,
)
from tentacular.spec._telemetry import MonitoringSpec, TelemetrySpec
from tentacular.spec._triggers import (
    CronTrigger,
    ManualTrigger,
    QueueTrigger,
    WebhookTrigger,
)

__all__ = [
    "TRIGGER_TYPES",
    "WORKFLOW_NAME_RE",
    "AnyTrigger",
    "Auth",
    "Contract",
    "CronTrigger",
    "Dependency",
    "DeploymentSpec",
    "Edge",
    "EgressOverride",
    "ManualTrigger",
    "NetworkPolicyOverrides",
    "NodeSpec",
    "QueueTrigger",
    "RbacSpec",
    "RuntimeSpec",
    "TelemetrySpec",
    "WebhookTrigger",
    "Workflow",
    "WorkflowConfig",
    "duration_seconds",
]

# --- triggers -------------------------------------------------------------------------------


def _trigger_tag(value: Any) -> str | None:
    if isinstance(value, Mapping):
        tag = value.get("type")
        return tag if isinstance(tag, str) else None
    return getattr(value, "type", None)


Trigger = Annotated[
    Annotated[ManualTrigger, Tag("manual")]
    | Annotated[CronTrigger, Tag("cron")]
    | Annotated[QueueTrigger, Tag("queue")]
    | Annotated[WebhookTrigger, Tag("webhook")],
    Discriminator(_trigger_tag),
]

AnyTrigger = ManualTrigger | CronTrigger | QueueTrigger | WebhookTrigger
TRIGGER_TYPES: tuple[str, ...] = ("manual", "cron", "webhook", "queue")


# --- nodes and edges ------------------------------------------------------------------------


class NodeSpec(NodeSpecBehaviour, SpecModel):
    path: str = Field(json_schema_extra={"pattern": NODE_PATH_RE})
    description: str | None = None
    capabilities: dict[str, str] = Field(default_factory=dict)

    @field_validator("path")
    @classmethod
    def _inside_nodes(cls, value: str) -> str:
        parts = value.replace("\\", "/").split("/")
        if value.startswith("/") or ".." in parts or not re.match(NODE_PATH_RE, value):
            raise PydanticCustomError(
                "node_path",
                'node path "{value}" must be a .py or .ts file inside nodes/',
                {"value": value},
            )
        return value


class Edge(SpecModel):
    from_: Identifier = Field(alias="from")
    to: Identifier


# --- config ---------------------------------------------------------------------------------


class WorkflowConfig(WorkflowConfigBehaviour, SpecModel):
    """The open ``config`` block: typed ``timeout``/``retries``, every other key kept verbatim."""

    timeout: Duration = DEFAULT_NODE_TIMEOUT
    retries: int = Field(default=0, ge=0, le=100)

    def as_mapping(self) -> dict[str, Any]:
        """The config block as written (what nodes see as ``ctx.config``): a fresh copy each call.

        Plain JSON values are copied directly; only other values (YAML dates, binary) go through
        pydantic's serializer, whose first use builds it (~45 M instructions, a tenth of a pod's
        start from the compiled form).
        """
        fields = type(self).model_fields
        written = {name: getattr(self, name) for name in fields if name in self.model_fields_set}
        written.update(self.model_extra or {})
        if not all(_is_plain_json(value) for value in written.values()):
            return self.model_dump(mode="json", by_alias=True, exclude_unset=True)
        return copy.deepcopy(written)


def _is_plain_json(value: Any) -> bool:
    """True when ``value`` is its own JSON form (pydantic's JSON-mode dump would return it equal)."""
    if value is None or isinstance(value, bool | int | str):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(_is_plain_json(item) for item in value)
    if isinstance(value, dict):
        return all(isinstance(key, str) and _is_plain_json(item) for key, item in value.items())
    return False


# --- deployment and runtime -----------------------------------------------------------------


class PolicyRule(SpecModel):
    api_groups: list[str] = Field(default_factory=lambda: [""], alias="apiGroups")
    resources: list[str] = Field(min_length=1)
    verbs: list[str] = Field(min_length=1)
    resource_names: list[str] | None = Field(default=None, alias="resourceNames")


class ClusterRoleSpec(SpecModel):
    rules: list[PolicyRule] = Field(min_length=1)


class RbacSpec(SpecModel):
    cluster_role: ClusterRoleSpec = Field(alias="clusterRole")


class GatewayRef(SpecModel):
    name: DnsSubdomain
    namespace: DnsLabel | None = None
    section_name: DnsSubdomain | None = Field(default=None, alias="sectionName")


class WebhookExposure(SpecModel):
    """How webhook senders reach ``POST /webhook/<provider>`` from outside the cluster.

    ``host`` renders an Ingress (or, with ``gateway``, a Gateway API HTTPRoute) for the
    ``/webhook/`` prefix only; the NetworkPolicy admits the engine port from
    ``ingressNamespaces`` (optionally only pods with ``ingressPodLabels``).
    """

    host: DnsSubdomain | None = None
    ingress_namespaces: list[DnsLabel] = Field(
        default_factory=lambda: ["ingress-nginx"], alias="ingressNamespaces"
    )
    ingress_pod_labels: dict[str, str] = Field(default_factory=dict, alias="ingressPodLabels")
    class_name: DnsSubdomain | None = Field(default=None, alias="className")
    tls_secret: DnsSubdomain | None = Field(default=None, alias="tlsSecret")
    gateway: GatewayRef | None = None


class DeploymentSpec(SpecModel):
    namespace: DnsLabel | None = None
    service_account: DnsSubdomain | None = Field(default=None, alias="serviceAccount")
    rbac: RbacSpec | None = None
    monitoring: MonitoringSpec = Field(default_factory=MonitoringSpec)
    webhook: WebhookExposure = Field(default_factory=WebhookExposure)

    @model_validator(mode="after")
    def _rbac_needs_account(self) -> DeploymentSpec:
        if self.rbac is not None and self.service_account is None:
            raise PydanticCustomError(
                "rbac_account",
                "deployment.rbac requires deployment.serviceAccount",
                {"field": "serviceAccount"},
            )
        return self


class PythonRuntime(SpecModel):
    requirements: list[Annotated[str, Field(min_length=1)]] = Field(default_factory=list)
    requirements_file: str | None = Field(default=None, alias="requirementsFile")


class RuntimeSpec(SpecModel):
    python: PythonRuntime = Field(default_factory=PythonRuntime)


# --- the workflow ---------------------------------------------------------------------------


class Workflow(WorkflowBehaviour, SpecModel):
    """A parsed, validated workflow.yaml."""

    name: WorkflowName
    version: Version
    description: str | None = None
    triggers: list[Trigger] = Field(min_length=1)
    nodes: dict[Identifier, NodeSpec] = Field(min_length=1)
    edges: list[Edge] = Field(default_factory=list)
    config: WorkflowConfig = Field(default_factory=WorkflowConfig)
    contract: Contract | None = None
    deployment: DeploymentSpec = Field(default_factory=DeploymentSpec)
    runtime: RuntimeSpec = Field(default_factory=RuntimeSpec)
    telemetry: TelemetrySpec = Field(default_factory=TelemetrySpec)

    @field_validator("version", mode="before")
    @classmethod
    def _quoted_version(cls, value: Any) -> Any:
        if isinstance(value, int | float) and not isinstance(value, bool):
            raise PydanticCustomError(
                "version_unquoted",
                "version must be a quoted string, got the number {value}",
                {"value": value},
            )
        return value
