"""Webhook exposure: an Ingress or HTTPRoute for /webhook/ only, when deployment.webhook names a host."""

from __future__ import annotations

from typing import Any

from tentacular.deploy._webhook_ingress import webhook_route
from tentacular.spec._model import Workflow


def _workflow(webhook: dict[str, Any] | None, *, triggers: list[dict[str, Any]] | None = None) -> Workflow:
    return Workflow.model_validate(
        {
            "name": "hooks",
            "version": "1.0",
            "triggers": triggers or [{"type": "webhook", "provider": "github"}],
            "nodes": {"a": {"path": "./nodes/a.py"}},
            "deployment": {"webhook": webhook} if webhook is not None else {},
        }
    )


def test_no_host_no_route() -> None:
    assert webhook_route(_workflow(None), meta={"name": "m"}, service="hooks") is None
    manual = _workflow({"host": "h.example.com"}, triggers=[{"type": "manual"}])
    assert webhook_route(manual, meta={"name": "m"}, service="hooks") is None


def test_ingress_routes_only_the_webhook_prefix_with_tls() -> None:
    route = webhook_route(
        _workflow({"host": "h.example.com", "className": "nginx", "tlsSecret": "h-tls"}),
        meta={"name": "hooks-webhook"},
        service="hooks",
    )
    assert route is not None and route["kind"] == "Ingress"
    assert route["spec"]["ingressClassName"] == "nginx"
    assert route["spec"]["tls"] == [{"hosts": ["h.example.com"], "secretName": "h-tls"}]
    (rule,) = route["spec"]["rules"]
    assert rule["host"] == "h.example.com"
    assert rule["http"]["paths"] == [
        {
            "path": "/webhook/",
            "pathType": "Prefix",
            "backend": {"service": {"name": "hooks", "port": {"number": 8080}}},
        }
    ]


def test_gateway_renders_an_httproute() -> None:
    route = webhook_route(
        _workflow(
            {
                "host": "h.example.com",
                "gateway": {"name": "public", "namespace": "gw", "sectionName": "https"},
            }
        ),
        meta={"name": "hooks-webhook"},
        service="hooks",
    )
    assert route is not None
    assert (route["apiVersion"], route["kind"]) == ("gateway.networking.k8s.io/v1", "HTTPRoute")
    assert route["spec"]["parentRefs"] == [{"name": "public", "namespace": "gw", "sectionName": "https"}]
    assert route["spec"]["hostnames"] == ["h.example.com"]
    assert route["spec"]["rules"] == [
        {
            "matches": [{"path": {"type": "PathPrefix", "value": "/webhook/"}}],
            "backendRefs": [{"name": "hooks", "port": 8080}],
        }
    ]
