"""NetworkPolicy ``{wf}-netpol`` from the contract (INVENTORY §7.9, F-035…F-037).

Default deny in both directions; egress only to what ``spec.derive`` lists, ingress
only on the engine port. The derivation lives in the spec layer (also shown by
``tntc validate``); this module only renders it as Kubernetes peers.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from tentacular.errors import ManifestError
from tentacular.spec._derive import CLUSTER_SUFFIX, EgressRule, egress_rules, ingress_rules
from tentacular.spec._model import Workflow

# "Public internet" for a named external host: v1 does not pin DNS answers to IPs, so the
# rule allows any public address and excludes private, carrier-grade NAT and link-local
# ranges (the last one holds cloud metadata endpoints such as 169.254.169.254).
PRIVATE_IPV4 = ("10.0.0.0/8", "100.64.0.0/10", "169.254.0.0/16", "172.16.0.0/12", "192.168.0.0/16")
PRIVATE_IPV6 = ("fc00::/7", "fe80::/10")
NAMESPACE_LABEL = "kubernetes.io/metadata.name"
KUBE_DNS_PEER = {
    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
}


def network_policy(
    workflow: Workflow, *, meta: dict[str, object], selector: dict[str, str]
) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": meta,
        "spec": {
            "podSelector": {"matchLabels": dict(selector)},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": ingress_section(workflow),
            "egress": egress_section(workflow),
        },
    }


def ingress_section(workflow: Workflow) -> list[dict[str, Any]]:
    sections = []
    for rule in ingress_rules(workflow):
        peer: dict[str, Any] = {}
        if rule.from_namespaces:  # webhooks: the ingress controller's namespaces, not the whole cluster
            peer["namespaceSelector"] = {
                "matchExpressions": [
                    {"key": NAMESPACE_LABEL, "operator": "In", "values": sorted(rule.from_namespaces)}
                ]
            }
        elif rule.from_namespace is not None:  # the Prometheus scraper usually lives in its own namespace
            peer["namespaceSelector"] = {"matchLabels": {NAMESPACE_LABEL: rule.from_namespace}}
        if rule.from_labels or not rule.from_namespaces:
            # An empty podSelector is "any pod" (of this namespace, or of the selected one).
            peer["podSelector"] = {"matchLabels": dict(rule.from_labels)} if rule.from_labels else {}
        sections.append({"from": [peer], "ports": [{"port": rule.port, "protocol": rule.protocol}]})
    return sections


def egress_section(workflow: Workflow) -> list[dict[str, Any]]:
    rules = egress_rules(workflow)
    dns = [rule for rule in rules if rule.kind == "dns"]
    sections: list[dict[str, Any]] = []
    if dns:
        sections.append({"to": [dict(KUBE_DNS_PEER)], "ports": [_port(rule) for rule in dns]})
    for rule in rules:
        if rule.kind == "dns":
            continue
        section: dict[str, Any] = {"to": egress_peers(rule)}
        if rule.port:
            section["ports"] = [_port(rule)]
        # Two external hosts on 443 render the same peers; one section says it once.
        if section not in sections:
            sections.append(section)
    return sections


def egress_peers(rule: EgressRule) -> list[dict[str, Any]]:
    """Where one derived rule may connect to, as NetworkPolicy peers."""
    if rule.kind == "cluster":
        return [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": _namespace_of(rule)}}}]
    if rule.kind == "cidr":
        return [{"ipBlock": {"cidr": str(ipaddress.ip_network(rule.host, strict=False))}}]
    address = _ip_address(rule.host)
    if address is not None:
        return [{"ipBlock": {"cidr": f"{address}/{address.max_prefixlen}"}}]
    return [
        {"ipBlock": {"cidr": "0.0.0.0/0", "except": list(PRIVATE_IPV4)}},
        {"ipBlock": {"cidr": "::/0", "except": list(PRIVATE_IPV6)}},
    ]


def _namespace_of(rule: EgressRule) -> str:
    labels = rule.host.removesuffix(CLUSTER_SUFFIX).split(".")
    if len(labels) != 2 or not all(labels):
        raise ManifestError(
            f'dependency "{rule.source}": in-cluster host "{rule.host}" must be '
            f"<service>.<namespace>{CLUSTER_SUFFIX}",
            hint="the namespace part decides which namespace the NetworkPolicy opens",
        )
    return labels[1]


def _ip_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _port(rule: EgressRule) -> dict[str, Any]:
    return {"port": rule.port, "protocol": rule.protocol}
