"""Building blocks of the workflow model: patterns, constrained strings, the model base class."""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from tentacular.spec._cron import cron_problem
from tentacular.spec._ports import PortSpec, parse_port_spec

WORKFLOW_NAME_RE = r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$"
VERSION_RE = r"^[0-9]+\.[0-9]+(\.[0-9]+)?$"
IDENTIFIER_RE = r"^[a-z][a-z0-9_-]*$"
SECRET_REF_RE = r"^[a-z][a-z0-9_-]*\.[a-z][a-z0-9_-]*$"
NODE_PATH_RE = r"^(\./)?nodes/([A-Za-z0-9_.-]+/)*[A-Za-z0-9_-][A-Za-z0-9_.-]*\.(py|ts)$"
DURATION_RE = r"^([0-9]+)(ms|s|m|h)$"
# The one DNS-1123 rule (namespaces, names of deployed objects), shared by validate and deploy.
DNS_LABEL_RE = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
DNS_SUBDOMAIN_RE = r"^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
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
    problem = cron_problem(value)
    if problem:
        raise PydanticCustomError(
            "cron_schedule",
            'invalid cron schedule "{value}": {problem}',
            {"value": value, "problem": problem},
        )
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


class SpecModel(BaseModel):
    """Unknown keys are kept (``model_extra``) and reported as warnings by the loader.

    ``defer_build``: a class builds its validator on first validation, not at import, so an
    engine that loads the compiled form (``_compiled``) never pays for one (issue 19).
    """

    model_config = ConfigDict(
        extra="allow", populate_by_name=True, str_strip_whitespace=False, defer_build=True
    )

    @property
    def unknown_keys(self) -> list[str]:
        return sorted(self.model_extra or {})


class ExtensibleModel(SpecModel):
    """A model whose ``x-`` keys are extensions: kept, exposed, and not warned about."""

    @property
    def extensions(self) -> dict[str, Any]:
        return {k: v for k, v in (self.model_extra or {}).items() if k.startswith("x-")}

    @property
    def unknown_keys(self) -> list[str]:
        return [k for k in super().unknown_keys if not k.startswith("x-")]


def duration_seconds(value: str) -> float:
    match = re.match(DURATION_RE, value)
    if not match:
        raise ValueError(f"invalid duration {value!r}")
    return int(match.group(1)) * _DURATION_UNITS[match.group(2)]


def is_dns_label(value: str) -> bool:
    """A DNS-1123 label: lower-case letters, digits and ``-``, 1-63 characters."""
    return re.match(DNS_LABEL_RE, value) is not None


def is_dns_subdomain(value: str) -> bool:
    return re.match(DNS_SUBDOMAIN_RE, value) is not None
