"""What the workflow's objects compute from their fields, shared by the pydantic models and the
engine's records (``_records``): one definition, so a pod's engine reads a workflow exactly as a
validated one does. No pydantic here (issue 19).

Each mixin names the fields it reads for the type checker only; the models and records bring them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from tentacular.spec._values import (
    Endpoint,
    RateLimit,
    default_port,
    duration_seconds,
    parse_endpoint,
    parse_rate_limit,
)


class UnknownKeys:
    if TYPE_CHECKING:

        @property
        def model_extra(self) -> dict[str, Any] | None: ...

    @property
    def unknown_keys(self) -> list[str]:
        return sorted(self.model_extra or {})


class Extensions(UnknownKeys):
    """``x-`` keys are extensions: kept, exposed, and not warned about."""

    @property
    def extensions(self) -> dict[str, Any]:
        return {k: v for k, v in (self.model_extra or {}).items() if k.startswith("x-")}

    @property
    def unknown_keys(self) -> list[str]:
        return [k for k in super().unknown_keys if not k.startswith("x-")]


class NodeSpecBehaviour:
    if TYPE_CHECKING:
        path: str

    @property
    def relative_path(self) -> str:
        """The path below the workflow directory, without a leading ``./``."""
        return self.path[2:] if self.path.startswith("./") else self.path

    @property
    def runtime(self) -> Literal["python", "typescript"]:
        return "python" if self.path.endswith(".py") else "typescript"


class WorkflowConfigBehaviour:
    if TYPE_CHECKING:
        timeout: str

    @property
    def timeout_seconds(self) -> float:
        return duration_seconds(self.timeout)

    @property
    def unknown_keys(self) -> list[str]:
        return []  # extras are the point of this block


class WorkflowBehaviour:
    if TYPE_CHECKING:
        from tentacular.spec._model import AnyTrigger, Edge

        edges: list[Edge]
        triggers: list[AnyTrigger]

    @property
    def edge_pairs(self) -> list[tuple[str, str]]:
        return [(edge.from_, edge.to) for edge in self.edges]

    def triggers_of(self, kind: str) -> list[AnyTrigger]:
        return [trigger for trigger in self.triggers if trigger.type == kind]


def needs_nats(workflow: Any) -> bool:
    """Queue triggers, or webhooks that hand deliveries to JetStream first (models and records)."""
    if workflow.triggers_of("queue"):
        return True
    return any(getattr(trigger, "subject", None) for trigger in workflow.triggers_of("webhook"))


class AuthBehaviour:
    if TYPE_CHECKING:
        secret: str

    @property
    def service(self) -> str:
        return self.secret.split(".", 1)[0]

    @property
    def key(self) -> str:
        return self.secret.split(".", 1)[1]


class DependencyBehaviour:
    if TYPE_CHECKING:
        type: str | None
        port: int | None
        protocol: str

    @property
    def is_dynamic(self) -> bool:
        return self.type == "dynamic-target"

    @property
    def effective_port(self) -> int | None:
        """Declared port, else the protocol's default port (D2 unified table)."""
        return self.port if self.port is not None else default_port(self.protocol)


class ContractBehaviour:
    if TYPE_CHECKING:
        from tentacular.spec._contract import EgressOverride, NetworkPolicyOverrides

        network_policy: NetworkPolicyOverrides | None

    @property
    def additional_egress(self) -> list[EgressOverride]:
        return self.network_policy.additional_egress if self.network_policy else []


class QueueTriggerBehaviour:
    if TYPE_CHECKING:
        name: str | None
        subject: str
        jetstream: bool
        stream: str | None
        durable: str | None
        dead_letter: str | None
        rate_limit: str | None

    @property
    def uses_jetstream(self) -> bool:
        return self.jetstream or self.stream is not None or self.durable is not None

    @property
    def label(self) -> str:
        """``trigger.name ?? subject`` (INVENTORY §2.2): the ``trigger`` key of the payload."""
        return self.name or self.subject

    @property
    def dead_letter_subject(self) -> str:
        return self.dead_letter or f"{self.subject}.dlq"

    @property
    def rate(self) -> RateLimit | None:
        return parse_rate_limit(self.rate_limit) if self.rate_limit else None


class WebhookTriggerBehaviour:
    if TYPE_CHECKING:
        name: str | None
        event: str | None
        provider: str | None
        secret: str | None
        replay_window: str

    @property
    def replay_seconds(self) -> float:
        return duration_seconds(self.replay_window)

    @property
    def secret_ref(self) -> str:
        """Where the signing secret lives (never in workflow.yaml): default ``<provider>.webhook_secret``."""
        return self.secret or f"{self.provider or 'webhook'}.webhook_secret"

    @property
    def label(self) -> str:
        return self.name or self.event or "webhook"


class TelemetrySpecBehaviour:
    if TYPE_CHECKING:
        endpoint: str | None

    @property
    def parsed_endpoint(self) -> Endpoint | None:
        return parse_endpoint(self.endpoint) if self.endpoint else None


class PortSpecBehaviour:
    if TYPE_CHECKING:
        port: int
        protocol: str

    def __str__(self) -> str:
        return f"{self.port}/{self.protocol}"
