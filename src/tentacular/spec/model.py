"""The workflow.yaml model (INVENTORY §2 with DECISIONS D2).

Per-object rules live on the models; rules that relate several parts of the
file (edges to nodes, cycles, unique trigger names, node files on disk) live in
``crossref`` so they can run even when some objects fail to validate.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    PlainSerializer,
    Tag,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from tentacular.spec.ports import KNOWN_PROTOCOLS, PortSpec, default_port, parse_port_spec

WORKFLOW_NAME_RE = r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$"
VERSION_RE = r"^[0-9]+\.[0-9]+(\.[0-9]+)?$"
IDENTIFIER_RE = r"^[a-z][a-z0-9_-]*$"
SECRET_REF_RE = r"^[a-z][a-z0-9_-]*\.[a-z][a-z0-9_-]*$"
NODE_PATH_RE = r"^(\./)?nodes/([A-Za-z0-9_.-]+/)*[A-Za-z0-9_-][A-Za-z0-9_.-]*\.(py|ts)$"
DURATION_RE = r"^([0-9]+)(ms|s|m|h)$"
DNS_LABEL_RE = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DNS_SUBDOMAIN_RE = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
CIDR_PATTERN = r"^[0-9a-fA-F:.]+/[0-9]{1,3}$"
CRON_PATTERN = r"^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|(\S+\s+){4}\S+)$"
_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
HOSTNAME_RE = rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*\.?$"

_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def _pattern(regex: str, error_type: str, message: str) -> AfterValidator:
    """Check ``regex`` and fail with our own error type and message (not pydantic's generic one)."""
    compiled = re.compile(regex)

    def check(value: str) -> str:
        if not compiled.match(value):
            raise PydanticCustomError(error_type, message, {"value": value})
        return value

    return AfterValidator(check)


def _schema_pattern(regex: str) -> Any:
    """Publish the pattern in the JSON Schema so editors flag mistakes early."""
    return Field(json_schema_extra={"pattern": regex})


WorkflowName = Annotated[
    str,
    _pattern(
        WORKFLOW_NAME_RE,
        "workflow_name",
        'workflow name must be kebab-case (e.g. my-workflow), got: "{value}"',
    ),
    _schema_pattern(WORKFLOW_NAME_RE),
]
Version = Annotated[
    str,
    _pattern(VERSION_RE, "version", 'version must be MAJOR.MINOR or MAJOR.MINOR.PATCH, got: "{value}"'),
    _schema_pattern(VERSION_RE),
]
Identifier = Annotated[
    str,
    _pattern(IDENTIFIER_RE, "identifier", 'name must match [a-z][a-z0-9_-]*, got: "{value}"'),
    _schema_pattern(IDENTIFIER_RE),
]
SecretRef = Annotated[
    str,
    _pattern(SECRET_REF_RE, "secret_ref", 'auth.secret must be in "service.key" format, got: "{value}"'),
    _schema_pattern(SECRET_REF_RE),
]
Duration = Annotated[
    str,
    _pattern(DURATION_RE, "duration", 'invalid duration "{value}" (expected e.g. 30s, 2m)'),
    _schema_pattern(DURATION_RE),
]
DnsLabel = Annotated[
    str,
    _pattern(DNS_LABEL_RE, "dns_label", 'must be a DNS-1123 label (lower-case, digits, "-"), got: "{value}"'),
    _schema_pattern(DNS_LABEL_RE),
]
DnsSubdomain = Annotated[
    str,
    _pattern(DNS_SUBDOMAIN_RE, "dns_subdomain", 'must be a DNS-1123 subdomain, got: "{value}"'),
    _schema_pattern(DNS_SUBDOMAIN_RE),
]


def _validate_cidr(value: str) -> str:
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise PydanticCustomError(
            "cidr", 'invalid CIDR format "{value}" (expected e.g. 10.0.0.0/8)', {"value": value}
        ) from None
    if "/" not in value:
        raise PydanticCustomError(
            "cidr", 'invalid CIDR format "{value}": the prefix length is missing', {"value": value}
        )
    return value


Cidr = Annotated[str, AfterValidator(_validate_cidr), Field(json_schema_extra={"pattern": CIDR_PATTERN})]


def _validate_cron(value: str) -> str:
    from croniter import croniter  # lazy: only workflows with cron triggers pay for it

    fields = value.split()
    if not value.startswith("@") and len(fields) != 5:
        raise PydanticCustomError(
            "cron_schedule",
            'invalid cron schedule "{value}": expected 5 fields (minute hour day month weekday)',
            {"value": value},
        )
    if not croniter.is_valid(value):
        raise PydanticCustomError("cron_schedule", 'invalid cron schedule "{value}"', {"value": value})
    return value


CronSchedule = Annotated[
    str, AfterValidator(_validate_cron), Field(json_schema_extra={"pattern": CRON_PATTERN})
]


def _coerce_port_spec(value: Any) -> PortSpec:
    try:
        return parse_port_spec(value)
    except ValueError as exc:
        raise PydanticCustomError("port_spec", "{reason}", {"reason": str(exc)}) from None


PortSpecField = Annotated[
    PortSpec,
    BeforeValidator(_coerce_port_spec),
    PlainSerializer(str, return_type=str),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": r"^\d{1,5}(/(TCP|UDP|SCTP|tcp|udp|sctp))?$"},
                {"type": "integer", "minimum": 1, "maximum": 65535},
                {
                    "type": "object",
                    "properties": {
                        "port": {"type": "integer", "minimum": 1, "maximum": 65535},
                        "protocol": {"enum": ["TCP", "UDP", "SCTP"]},
                    },
                    "required": ["port"],
                },
            ]
        },
        mode="validation",
    ),
]


class _Model(BaseModel):
    """Unknown keys are kept (``model_extra``) and reported as warnings by the loader."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, str_strip_whitespace=False)

    @property
    def unknown_keys(self) -> list[str]:
        return sorted(self.model_extra or {})


# --- triggers -------------------------------------------------------------------------------


class _TriggerBase(_Model):
    name: Identifier | None = None


class ManualTrigger(_TriggerBase):
    type: Literal["manual"]


class CronTrigger(_TriggerBase):
    type: Literal["cron"]
    schedule: CronSchedule


class QueueTrigger(_TriggerBase):
    type: Literal["queue"]
    subject: str = Field(min_length=1)


class WebhookTrigger(_TriggerBase):
    type: Literal["webhook"]
    path: str | None = None
    provider: Identifier | None = None
    event: str | None = None
    actions: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _path_or_provider(self) -> WebhookTrigger:
        if not self.path and not self.provider:
            raise PydanticCustomError(
                "webhook_target", "webhook trigger requires path or provider", {"field": "provider"}
            )
        return self


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


class NodeSpec(_Model):
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

    @property
    def relative_path(self) -> str:
        """The path below the workflow directory, without a leading ``./``."""
        return self.path[2:] if self.path.startswith("./") else self.path

    @property
    def runtime(self) -> Literal["python", "typescript"]:
        return "python" if self.path.endswith(".py") else "typescript"


class Edge(_Model):
    from_: Identifier = Field(alias="from")
    to: Identifier


# --- config ---------------------------------------------------------------------------------


class WorkflowConfig(_Model):
    """The open ``config`` block: typed ``timeout``/``retries``, every other key kept verbatim."""

    timeout: Duration = "30s"
    retries: int = Field(default=0, ge=0, le=100)

    @property
    def timeout_seconds(self) -> float:
        return duration_seconds(self.timeout)

    def as_mapping(self) -> dict[str, Any]:
        """The config block as written (what nodes see as ``ctx.config``)."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)

    @property
    def unknown_keys(self) -> list[str]:
        return []  # extras are the point of this block


def duration_seconds(value: str) -> float:
    match = re.match(DURATION_RE, value)
    if not match:
        raise ValueError(f"invalid duration {value!r}")
    return int(match.group(1)) * _DURATION_UNITS[match.group(2)]


# --- contract -------------------------------------------------------------------------------


class Auth(_Model):
    type: str = Field(min_length=1)
    secret: SecretRef

    @property
    def service(self) -> str:
        return self.secret.split(".", 1)[0]

    @property
    def key(self) -> str:
        return self.secret.split(".", 1)[1]


_HOST_RE = re.compile(HOSTNAME_RE)
_REQUIRED_BY_PROTOCOL: dict[str, tuple[str, ...]] = {
    "https": ("host",),
    "http": ("host",),
    "postgresql": ("host", "database", "user"),
    "nats": ("host", "subject"),
    "blob": ("host", "container"),
}


class Dependency(_Model):
    """One external service a workflow may reach (INVENTORY §2.6.2)."""

    protocol: str = Field(min_length=1)
    host: str | None = None
    port: int | None = Field(default=None, ge=1, le=65535)
    database: str | None = None
    user: str | None = None
    subject: str | None = None
    container: str | None = None
    auth: Auth | None = None
    type: Literal["dynamic-target"] | None = None
    cidr: Cidr | None = None
    dyn_ports: list[PortSpecField] = Field(default_factory=list, alias="dynPorts")
    reason: str | None = None

    @field_validator("host")
    @classmethod
    def _plain_host(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if "*" in value:
            raise PydanticCustomError(
                "wildcard_host",
                'host "{value}" is a wildcard; declare each host explicitly',
                {"value": value},
            )
        if "://" in value or "/" in value:
            raise PydanticCustomError(
                "host_format", 'host "{value}" must be a bare hostname or IP', {"value": value}
            )
        if not _HOST_RE.match(value) and not _is_ip(value):
            raise PydanticCustomError("host_format", 'invalid host "{value}"', {"value": value})
        return value

    @model_validator(mode="after")
    def _protocol_rules(self) -> Dependency:
        if self.is_dynamic:
            if self.cidr is None:
                raise PydanticCustomError(
                    "dependency_field", "dynamic-target requires cidr", {"field": "cidr"}
                )
            if not self.dyn_ports:
                raise PydanticCustomError(
                    "dependency_field", "dynamic-target requires dynPorts", {"field": "dynPorts"}
                )
            return self
        for field in _REQUIRED_BY_PROTOCOL.get(self.protocol, ()):
            if not getattr(self, field):
                raise PydanticCustomError(
                    "dependency_field",
                    "{protocol} dependency requires {field}",
                    {"protocol": self.protocol, "field": field},
                )
        if self.protocol not in KNOWN_PROTOCOLS and self.port is None and self.host:
            raise PydanticCustomError(
                "dependency_field",
                'protocol "{protocol}" has no default port; set port explicitly',
                {"protocol": self.protocol, "field": "port"},
            )
        return self

    @property
    def is_dynamic(self) -> bool:
        return self.type == "dynamic-target"

    @property
    def effective_port(self) -> int | None:
        """Declared port, else the protocol's default port (D2 unified table)."""
        return self.port if self.port is not None else default_port(self.protocol)

    @property
    def extensions(self) -> dict[str, Any]:
        return {k: v for k, v in (self.model_extra or {}).items() if k.startswith("x-")}

    @property
    def unknown_keys(self) -> list[str]:
        return [k for k in super().unknown_keys if not k.startswith("x-")]


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


class EgressOverride(_Model):
    to_cidr: Cidr = Field(alias="toCIDR")
    ports: list[PortSpecField] = Field(default_factory=list)
    reason: str | None = None


class NetworkPolicyOverrides(_Model):
    additional_egress: list[EgressOverride] = Field(default_factory=list, alias="additionalEgress")


def _empty_if_none(value: Any) -> Any:
    return {} if value is None else value


class Contract(_Model):
    """Every external service the workflow may reach; secrets and egress derive from it."""

    version: Literal["1"] = Field(json_schema_extra={"const": "1"})
    dependencies: Annotated[dict[Identifier, Dependency], BeforeValidator(_empty_if_none)] = Field(
        default_factory=dict
    )
    network_policy: NetworkPolicyOverrides | None = Field(default=None, alias="networkPolicy")

    @field_validator("version", mode="before")
    @classmethod
    def _version_one(cls, value: Any) -> Any:
        if value != "1":
            raise PydanticCustomError(
                "contract_version",
                'contract.version must be "1", got: {value}',
                {"value": repr(value)},
            )
        return value

    @property
    def additional_egress(self) -> list[EgressOverride]:
        return self.network_policy.additional_egress if self.network_policy else []

    @property
    def extensions(self) -> dict[str, Any]:
        return {k: v for k, v in (self.model_extra or {}).items() if k.startswith("x-")}

    @property
    def unknown_keys(self) -> list[str]:
        return [k for k in super().unknown_keys if not k.startswith("x-")]


# --- deployment and runtime -----------------------------------------------------------------


class PolicyRule(_Model):
    api_groups: list[str] = Field(default_factory=lambda: [""], alias="apiGroups")
    resources: list[str] = Field(min_length=1)
    verbs: list[str] = Field(min_length=1)
    resource_names: list[str] | None = Field(default=None, alias="resourceNames")


class ClusterRoleSpec(_Model):
    rules: list[PolicyRule] = Field(min_length=1)


class RbacSpec(_Model):
    cluster_role: ClusterRoleSpec = Field(alias="clusterRole")


class DeploymentSpec(_Model):
    namespace: DnsLabel | None = None
    service_account: DnsSubdomain | None = Field(default=None, alias="serviceAccount")
    rbac: RbacSpec | None = None

    @model_validator(mode="after")
    def _rbac_needs_account(self) -> DeploymentSpec:
        if self.rbac is not None and self.service_account is None:
            raise PydanticCustomError(
                "rbac_account",
                "deployment.rbac requires deployment.serviceAccount",
                {"field": "serviceAccount"},
            )
        return self


class PythonRuntime(_Model):
    requirements: list[Annotated[str, Field(min_length=1)]] = Field(default_factory=list)
    requirements_file: str | None = Field(default=None, alias="requirementsFile")


class RuntimeSpec(_Model):
    python: PythonRuntime = Field(default_factory=PythonRuntime)


# --- the workflow ---------------------------------------------------------------------------


class Workflow(_Model):
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

    @property
    def edge_pairs(self) -> list[tuple[str, str]]:
        return [(edge.from_, edge.to) for edge in self.edges]

    def triggers_of(self, kind: str) -> list[ManualTrigger | CronTrigger | QueueTrigger | WebhookTrigger]:
        return [trigger for trigger in self.triggers if trigger.type == kind]
