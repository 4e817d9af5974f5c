"""The ``contract`` block: every external service a workflow may reach (INVENTORY §2.6)."""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from tentacular.spec._behaviour import AuthBehaviour, ContractBehaviour, DependencyBehaviour
from tentacular.spec._fields import (
    HOSTNAME_RE,
    Cidr,
    ExtensibleModel,
    Identifier,
    PortSpecField,
    SecretRef,
    SpecModel,
)
from tentacular.spec._ports import KNOWN_PROTOCOLS


class Auth(AuthBehaviour, SpecModel):
    type: str = Field(min_length=1)
    secret: SecretRef


_HOST_RE = re.compile(HOSTNAME_RE)
_REQUIRED_BY_PROTOCOL: dict[str, tuple[str, ...]] = {
    "https": ("host",),
    "http": ("host",),
    "postgresql": ("host", "database", "user"),
    "nats": ("host", "subject"),
    "blob": ("host", "container"),
}


class Dependency(DependencyBehaviour, ExtensibleModel):
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


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


class EgressOverride(SpecModel):
    to_cidr: Cidr = Field(alias="toCIDR")
    ports: list[PortSpecField] = Field(default_factory=list)
    reason: str | None = None


class NetworkPolicyOverrides(SpecModel):
    additional_egress: list[EgressOverride] = Field(default_factory=list, alias="additionalEgress")


def _empty_if_none(value: Any) -> Any:
    return {} if value is None else value


class Contract(ContractBehaviour, ExtensibleModel):
    """Every external service the workflow may reach; secrets and egress derive from it."""

    version: Literal["1"] = Field(json_schema_extra={"const": "1"})
    dependencies: Annotated[dict[Identifier, Dependency], BeforeValidator(_empty_if_none)] = Field(
        default_factory=dict
    )
    network_policy: NetworkPolicyOverrides | None = Field(default=None, alias="networkPolicy")
    # Python nodes may import ctypes/cffi and call native code (the kernel layer still holds).
    allow_ffi: bool = Field(default=False, alias="allowFFI")

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
