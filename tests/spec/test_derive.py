"""Secret inventory, egress/ingress rules and the runtime policy derived from the contract."""

from __future__ import annotations

from typing import Any

from tentacular.spec import Workflow, runtime_policy
from tentacular.spec._derive import DNS_HOST, egress_rules, ingress_rules, intended_hosts, secret_inventory


def _workflow(valid_workflow: dict[str, Any], **changes: Any) -> Workflow:
    valid_workflow.update(changes)
    return Workflow.model_validate(valid_workflow)


def test_secret_inventory_is_sorted_and_unique(valid_workflow: dict[str, Any]) -> None:
    deps = valid_workflow["contract"]["dependencies"]
    deps["github2"] = {**deps["github"]}
    assert secret_inventory(Workflow.model_validate(valid_workflow)) == ["db.password", "github.token"]


def test_egress_rules(valid_workflow: dict[str, Any]) -> None:
    deps = valid_workflow["contract"]["dependencies"]
    deps["scan"] = {
        "protocol": "https",
        "type": "dynamic-target",
        "cidr": "10.1.0.0/16",
        "dynPorts": ["443/TCP", {"port": 53, "protocol": "udp"}],
        "reason": "probe",
    }
    deps["bucket"] = {"protocol": "blob", "host": "acct.blob.core.windows.net", "container": "c"}
    valid_workflow["contract"]["networkPolicy"] = {
        "additionalEgress": [{"toCIDR": "192.168.0.0/24"}, {"toCIDR": "172.16.0.0/12", "ports": ["8443"]}]
    }
    rules = [str(rule) for rule in egress_rules(Workflow.model_validate(valid_workflow))]
    assert rules == [
        f"{DNS_HOST}:53/UDP",
        f"{DNS_HOST}:53/TCP",
        "10.1.0.0/16:53/UDP",
        "10.1.0.0/16:443/TCP",
        "172.16.0.0/12:8443/TCP",
        "192.168.0.0/24:*/TCP",
        "acct.blob.core.windows.net:443/TCP",  # blob defaults to 443 (Q19)
        "api.github.com:443/TCP",
        "db.internal.svc.cluster.local:5432/TCP",
    ]


def test_no_contract_means_no_rules(valid_workflow: dict[str, Any]) -> None:
    del valid_workflow["contract"]
    workflow = Workflow.model_validate(valid_workflow)
    assert egress_rules(workflow) == []
    assert secret_inventory(workflow) == []


def test_ingress_depends_on_webhooks(valid_workflow: dict[str, Any]) -> None:
    assert ingress_rules(Workflow.model_validate(valid_workflow))[0].source == "trigger-pods"
    valid_workflow["triggers"].append({"type": "webhook", "provider": "github", "event": "push"})
    rules = ingress_rules(Workflow.model_validate(valid_workflow))
    assert [rule.source for rule in rules] == ["trigger-pods", "webhook"]
    assert rules[1].from_namespaces == ("ingress-nginx",)


def test_intended_hosts_exclude_cluster_hosts(valid_workflow: dict[str, Any]) -> None:
    assert intended_hosts(Workflow.model_validate(valid_workflow)) == ["api.github.com"]


def test_policy_modes(valid_workflow: dict[str, Any]) -> None:
    policy = runtime_policy(Workflow.model_validate(valid_workflow))
    assert policy.mode == "contract"
    assert [(g.host, g.port) for g in policy.hosts] == [
        ("api.github.com", 443),
        ("db.internal.svc.cluster.local", 5432),
    ]
    assert policy.write_paths == ("/tmp",)
    assert not policy.allow_subprocess
    valid_workflow["contract"]["dependencies"] = {}
    empty = runtime_policy(Workflow.model_validate(valid_workflow))
    assert empty.mode == "contract" and empty.hosts == () and empty.cidrs == ()  # Q18: no egress
    del valid_workflow["contract"]
    assert runtime_policy(Workflow.model_validate(valid_workflow)).mode == "legacy"


def test_port_spec_forms_are_equivalent(valid_workflow: dict[str, Any]) -> None:
    deps = valid_workflow["contract"]["dependencies"]
    deps["a"] = {"protocol": "https", "type": "dynamic-target", "cidr": "10.0.0.0/8", "dynPorts": ["443/tcp"]}
    deps["b"] = {
        "protocol": "https",
        "type": "dynamic-target",
        "cidr": "10.0.0.0/8",
        "dynPorts": [{"port": 443, "protocol": "TCP"}],
    }
    workflow = Workflow.model_validate(valid_workflow)
    assert workflow.contract is not None
    assert workflow.contract.dependencies["a"].dyn_ports == workflow.contract.dependencies["b"].dyn_ports


def test_config_keeps_extras(valid_workflow: dict[str, Any]) -> None:
    workflow = Workflow.model_validate(valid_workflow)
    assert workflow.config.as_mapping() == {"timeout": "30s", "retries": 1, "channel": "#ops"}
    assert workflow.config.timeout_seconds == 30.0


def test_queue_and_webhook_triggers_are_served_without_a_warning(valid_workflow: dict[str, Any]) -> None:
    import yaml

    from tentacular.spec import parse_workflow

    valid_workflow["triggers"].append({"type": "queue", "subject": "orders.created"})
    valid_workflow.setdefault("config", {})["nats_url"] = "nats://127.0.0.1:4222"
    valid_workflow["triggers"].append({"type": "webhook", "provider": "github", "event": "push"})
    workflow, issues = parse_workflow(yaml.safe_dump(valid_workflow, sort_keys=False))
    assert workflow is not None
    assert [i for i in issues if i.path.startswith("triggers")] == []
