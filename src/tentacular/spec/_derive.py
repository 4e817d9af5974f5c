"""Artifacts derived from the contract: secret inventory, egress and ingress rules (F-035…F-037)."""

from __future__ import annotations

import ipaddress
from dataclasses import asdict, dataclass
from typing import Any, Literal

from tentacular.spec._model import Workflow
from tentacular.spec._nats import NatsUrlError, nats_endpoint, needs_nats

ENGINE_PORT = 8080
DNS_HOST = "kube-dns.kube-system.svc.cluster.local"
CLUSTER_SUFFIX = ".svc.cluster.local"
TRIGGER_ROLE_LABEL = "tentacular.io/role"
TRIGGER_ROLE = "trigger"

EgressKind = Literal["dns", "cluster", "external", "cidr"]


@dataclass(frozen=True, order=True)
class EgressRule:
    """One allowed destination. ``port`` 0 means every port."""

    host: str
    port: int
    protocol: str
    kind: EgressKind
    source: str

    def __str__(self) -> str:
        return f"{self.host}:{self.port if self.port else '*'}/{self.protocol}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class IngressRule:
    """Who may call the engine's port: trigger pods; with webhooks also the ingress controller."""

    port: int
    protocol: str
    source: Literal["trigger-pods", "webhook", "metrics-scraper"]
    from_labels: dict[str, str]
    from_namespace: str | None = None
    from_namespaces: tuple[str, ...] = ()

    def __str__(self) -> str:
        if self.source == "webhook":
            pods = ", ".join(f"{k}={v}" for k, v in self.from_labels.items())
            namespaces = ", ".join(self.from_namespaces)
            pods_text = f" pods {pods}" if pods else ""
            return f"{self.port}/{self.protocol} (from: namespaces {namespaces}{pods_text}, for webhooks)"
        if self.source == "metrics-scraper":
            labels = ", ".join(f"{k}={v}" for k, v in self.from_labels.items()) or "any pod"
            where = f"namespace {self.from_namespace}" if self.from_namespace else "this namespace"
            return f"{self.port}/{self.protocol} (from: {labels} in {where}, for GET /metrics)"
        labels = ", ".join(f"{k}={v}" for k, v in self.from_labels.items())
        return f"{self.port}/{self.protocol} (from: {labels})"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def secret_inventory(workflow: Workflow) -> list[str]:
    """Sorted, unique ``service.key`` references of every dependency's auth."""
    if workflow.contract is None:
        return []
    return sorted(
        {dep.auth.secret for dep in workflow.contract.dependencies.values() if dep.auth is not None}
    )


def egress_rules(workflow: Workflow) -> list[EgressRule]:
    """DNS first, then every dependency and override sorted by host, port, protocol."""
    if workflow.contract is None:
        return []
    rules: set[EgressRule] = set()
    for name, dep in workflow.contract.dependencies.items():
        if dep.is_dynamic and dep.cidr:
            for spec in dep.dyn_ports:
                rules.add(EgressRule(dep.cidr, spec.port, spec.protocol, "cidr", name))
        elif dep.host and dep.effective_port:
            kind: EgressKind = "cluster" if dep.host.endswith(CLUSTER_SUFFIX) else "external"
            rules.add(EgressRule(dep.host, dep.effective_port, "TCP", kind, name))
    nats = _nats_rule(workflow)
    if nats is not None:
        rules.add(nats)
    for index, override in enumerate(workflow.contract.additional_egress):
        source = f"additionalEgress[{index}]"
        if not override.ports:
            rules.add(EgressRule(override.to_cidr, 0, "TCP", "cidr", source))
        for spec in override.ports:
            rules.add(EgressRule(override.to_cidr, spec.port, spec.protocol, "cidr", source))
    collector = workflow.telemetry.parsed_endpoint if workflow.telemetry.exporter == "otlp" else None
    if collector is not None:
        rules.add(
            EgressRule(
                collector.host, collector.port, "TCP", _host_kind(collector.host), "telemetry.endpoint"
            )
        )
    dns = [
        EgressRule(DNS_HOST, 53, "UDP", "dns", "dns"),
        EgressRule(DNS_HOST, 53, "TCP", "dns", "dns"),
    ]
    ordered = sorted(rules, key=lambda r: (r.host, r.port, r.protocol, r.source))
    unique: dict[tuple[str, int, str], EgressRule] = {}
    for rule in ordered:
        unique.setdefault((rule.host, rule.port, rule.protocol), rule)
    return dns + list(unique.values())


def _host_kind(host: str) -> EgressKind:
    """A literal IP is a one-address CIDR; ``*.svc.cluster.local`` is in-cluster; else external."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return "cluster" if host.endswith(CLUSTER_SUFFIX) else "external"
    return "cidr"


def _nats_rule(workflow: Workflow) -> EgressRule | None:
    """Queue triggers: the engine itself connects to ``config.nats_url`` (a dependency has its own rule)."""
    if not needs_nats(workflow):
        return None
    try:
        endpoint = nats_endpoint(workflow)
    except NatsUrlError:
        return None  # validation reports it
    if endpoint is None or endpoint.source != "config.nats_url":
        return None
    return EgressRule(endpoint.host, endpoint.port, "TCP", _host_kind(endpoint.host), "nats (queue triggers)")


def ingress_rules(workflow: Workflow) -> list[IngressRule]:
    rules = [IngressRule(ENGINE_PORT, "TCP", "trigger-pods", {TRIGGER_ROLE_LABEL: TRIGGER_ROLE})]
    if workflow.triggers_of("webhook"):
        exposure = workflow.deployment.webhook
        rules.append(
            IngressRule(
                ENGINE_PORT,
                "TCP",
                "webhook",
                dict(exposure.ingress_pod_labels),
                from_namespaces=tuple(exposure.ingress_namespaces),
            )
        )
    monitoring = workflow.deployment.monitoring
    scraper = monitoring.scraper
    if monitoring.prometheus != "none" and scraper is not None:
        rules.append(
            IngressRule(
                ENGINE_PORT,
                "TCP",
                "metrics-scraper",
                dict(scraper.pod_selector),
                from_namespace=scraper.namespace,
            )
        )
    return rules


def intended_hosts(workflow: Workflow) -> list[str]:
    """External host names the workflow calls (for the NetworkPolicy annotation)."""
    return sorted({r.host for r in egress_rules(workflow) if r.kind == "external"})


@dataclass(frozen=True)
class DerivedArtifacts:
    secrets: list[str]
    egress: list[EgressRule]
    ingress: list[IngressRule]

    def to_dict(self) -> dict[str, Any]:
        return {
            "secrets": self.secrets,
            "egressRules": [rule.to_dict() for rule in self.egress],
            "ingressRules": [rule.to_dict() for rule in self.ingress],
        }


def derive(workflow: Workflow) -> DerivedArtifacts:
    return DerivedArtifacts(secret_inventory(workflow), egress_rules(workflow), ingress_rules(workflow))
