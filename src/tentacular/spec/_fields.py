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

from tentacular.spec._behaviour import Extensions, UnknownKeys
from tentacular.spec._cron import cron_problem
from tentacular.spec._ports import PortSpec, parse_port_spec
from tentacular.spec._values import CIDR_PATTERN as CIDR_PATTERN
from tentacular.spec._values import CRON_PATTERN as CRON_PATTERN
from tentacular.spec._values import DNS_LABEL_RE as DNS_LABEL_RE
from tentacular.spec._values import DNS_SUBDOMAIN_RE as DNS_SUBDOMAIN_RE
from tentacular.spec._values import DURATION_RE as DURATION_RE
from tentacular.spec._values import HOSTNAME_RE as HOSTNAME_RE
from tentacular.spec._values import IDENTIFIER_RE as IDENTIFIER_RE
from tentacular.spec._values import NODE_PATH_RE as NODE_PATH_RE
from tentacular.spec._values import SECRET_REF_RE as SECRET_REF_RE
from tentacular.spec._values import VERSION_RE as VERSION_RE
from tentacular.spec._values import WORKFLOW_NAME_RE as WORKFLOW_NAME_RE
from tentacular.spec._values import duration_seconds as duration_seconds
from tentacular.spec._values import is_dns_label as is_dns_label
from tentacular.spec._values import is_dns_subdomain as is_dns_subdomain


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


class SpecModel(BaseModel, UnknownKeys):
    """Unknown keys are kept (``model_extra``) and reported as warnings by the loader."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, str_strip_whitespace=False)


class ExtensibleModel(SpecModel, Extensions):
    """A model whose ``x-`` keys are extensions: kept, exposed, and not warned about."""
