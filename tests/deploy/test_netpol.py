"""Contract → NetworkPolicy egress and ingress (INVENTORY §7.9, F-035…F-037)."""

from __future__ import annotations

from typing import Any

import pytest

from tentacular.deploy._netpol import (
    PRIVATE_IPV4,
    PRIVATE_IPV6,
    egress_section,
    ingress_section,
    network_policy,
)
from tentacular.errors import ManifestError
from tentacular.spec._model import Workflow

DNS = {
    "to": [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
        }
    ],
    "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}],
}
PUBLIC = [
    {"ipBlock": {"cidr": "0.0.0.0/0", "except": list(PRIVATE_IPV4)}},
    {"ipBlock": {"cidr": "::/0", "except": list(PRIVATE_IPV6)}},
]


def _workflow(
    dependencies: dict[str, Any] | None,
    extra_egress: list[dict[str, Any]] | None = None,
    triggers: list[dict[str, Any]] | None = None,
    **more: Any,
) -> Workflow:
    data: dict[str, Any] = {
        "name": "np",
        "version": "1.0",
        "triggers": triggers or [{"type": "manual"}],
        "nodes": {"a": {"path": "./nodes/a.py"}},
    }
    if dependencies is not None:
        data["contract"] = {"version": "1", "dependencies": dependencies}
        if extra_egress is not None:
            data["contract"]["networkPolicy"] = {"additionalEgress": extra_egress}
    return Workflow.model_validate({**data, **more})


CASES: list[tuple[str, dict[str, Any], list[dict[str, Any]] | None, list[dict[str, Any]]]] = [
    ("empty contract: DNS only", {}, None, [DNS]),
    (
        "external host → public ranges only",
        {"gh": {"protocol": "https", "host": "api.github.com"}},
        None,
        [DNS, {"to": PUBLIC, "ports": [{"port": 443, "protocol": "TCP"}]}],
    ),
    (
        "two external hosts on one port render one rule",
        {
            "a": {"protocol": "https", "host": "a.example.com"},
            "b": {"protocol": "https", "host": "b.example.com"},
        },
        None,
        [DNS, {"to": PUBLIC, "ports": [{"port": 443, "protocol": "TCP"}]}],
    ),
    (
        "in-cluster service → its namespace",
        {"db": {"protocol": "postgresql", "host": "pg.data.svc.cluster.local", "database": "d", "user": "u"}},
        None,
        [
            DNS,
            {
                "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "data"}}}],
                "ports": [{"port": 5432, "protocol": "TCP"}],
            },
        ],
    ),
    (
        "IP literal host → exactly that address",
        {"old": {"protocol": "http", "host": "10.1.2.3", "port": 8081}},
        None,
        [DNS, {"to": [{"ipBlock": {"cidr": "10.1.2.3/32"}}], "ports": [{"port": 8081, "protocol": "TCP"}]}],
    ),
    (
        "dynamic target → CIDR per port",
        {
            "probe": {
                "protocol": "https",
                "type": "dynamic-target",
                "cidr": "192.0.2.0/24",
                "dynPorts": ["443", "53/UDP"],
            }
        },
        None,
        [
            DNS,
            {"to": [{"ipBlock": {"cidr": "192.0.2.0/24"}}], "ports": [{"port": 53, "protocol": "UDP"}]},
            {"to": [{"ipBlock": {"cidr": "192.0.2.0/24"}}], "ports": [{"port": 443, "protocol": "TCP"}]},
        ],
    ),
    (
        "additionalEgress with ports",
        {},
        [{"toCIDR": "198.51.100.0/24", "ports": ["8443/TCP"]}],
        [
            DNS,
            {"to": [{"ipBlock": {"cidr": "198.51.100.0/24"}}], "ports": [{"port": 8443, "protocol": "TCP"}]},
        ],
    ),
    (
        "additionalEgress without ports → every port",
        {},
        [{"toCIDR": "203.0.113.7/32"}],
        [DNS, {"to": [{"ipBlock": {"cidr": "203.0.113.7/32"}}]}],
    ),
    (
        "host bits in a CIDR are normalised",
        {},
        [{"toCIDR": "10.0.0.9/8", "ports": ["80"]}],
        [DNS, {"to": [{"ipBlock": {"cidr": "10.0.0.0/8"}}], "ports": [{"port": 80, "protocol": "TCP"}]}],
    ),
    (
        "blob without port uses the unified default 443",
        {"store": {"protocol": "blob", "host": "acct.blob.core.windows.net", "container": "c"}},
        None,
        [DNS, {"to": PUBLIC, "ports": [{"port": 443, "protocol": "TCP"}]}],
    ),
]


@pytest.mark.parametrize(("label", "deps", "extra", "expected"), CASES, ids=[c[0] for c in CASES])
def test_egress(label: str, deps: dict[str, Any], extra: list[dict[str, Any]] | None, expected: Any) -> None:
    assert egress_section(_workflow(deps, extra)) == expected


def test_metadata_endpoint_and_private_ranges_are_excluded_from_public_egress() -> None:
    assert {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"} <= set(PRIVATE_IPV4)


def test_malformed_cluster_host_is_an_error() -> None:
    workflow = _workflow({"db": {"protocol": "https", "host": "pg.svc.cluster.local"}})
    with pytest.raises(ManifestError, match=r"<service>.<namespace>.svc.cluster.local"):
        egress_section(workflow)


def test_ingress_only_from_trigger_pods() -> None:
    assert ingress_section(_workflow({})) == [
        {
            "from": [{"podSelector": {"matchLabels": {"tentacular.io/role": "trigger"}}}],
            "ports": [{"port": 8080, "protocol": "TCP"}],
        }
    ]


TRIGGER_PODS = {
    "from": [{"podSelector": {"matchLabels": {"tentacular.io/role": "trigger"}}}],
    "ports": [{"port": 8080, "protocol": "TCP"}],
}


def _from_namespaces(*names: str) -> dict[str, object]:
    expression = {"key": "kubernetes.io/metadata.name", "operator": "In", "values": list(names)}
    return {"namespaceSelector": {"matchExpressions": [expression]}}


def test_webhooks_admit_the_ingress_controller_namespace_not_every_pod() -> None:
    workflow = _workflow({}, triggers=[{"type": "webhook", "provider": "github"}])
    assert ingress_section(workflow) == [
        TRIGGER_PODS,  # cron and tntc run still reach /run
        {"from": [_from_namespaces("ingress-nginx")], "ports": [{"port": 8080, "protocol": "TCP"}]},
    ]


def test_webhook_ingress_namespaces_and_pod_labels_are_configurable() -> None:
    workflow = _workflow(
        {},
        triggers=[{"type": "webhook", "provider": "github"}],
        deployment={"webhook": {"ingressNamespaces": ["gw", "edge"], "ingressPodLabels": {"app": "envoy"}}},
    )
    peer = {**_from_namespaces("edge", "gw"), "podSelector": {"matchLabels": {"app": "envoy"}}}
    assert ingress_section(workflow)[1] == {"from": [peer], "ports": [{"port": 8080, "protocol": "TCP"}]}


def test_queue_triggers_open_egress_to_the_nats_url() -> None:
    workflow = _workflow(
        {},
        triggers=[{"type": "queue", "subject": "orders"}],
        config={"nats_url": "nats://nats.messaging.svc.cluster.local:4222"},
    )
    assert {
        "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "messaging"}}}],
        "ports": [{"port": 4222, "protocol": "TCP"}],
    } in egress_section(workflow)


def test_policy_denies_by_default_in_both_directions() -> None:
    policy = network_policy(
        _workflow({}), meta={"name": "np-netpol"}, selector={"app.kubernetes.io/name": "np"}
    )
    assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]
    assert policy["spec"]["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": "np"}}
