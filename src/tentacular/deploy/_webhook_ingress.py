"""The optional way in for webhook senders: an Ingress, or a Gateway API HTTPRoute (issue 14).

Rendered only when the workflow has webhook triggers and ``deployment.webhook.host``
names a host. Only the ``/webhook/`` prefix is routed, so ``/run`` and ``/health``
stay inside the cluster. TLS: ``tlsSecret`` on the Ingress; the Gateway's listener
owns it for an HTTPRoute.
"""

from __future__ import annotations

from typing import Any

from tentacular.spec._derive import ENGINE_PORT
from tentacular.spec._model import Workflow

WEBHOOK_PREFIX = "/webhook/"


def webhook_route(workflow: Workflow, *, meta: dict[str, object], service: str) -> dict[str, Any] | None:
    exposure = workflow.deployment.webhook
    if not workflow.triggers_of("webhook") or exposure.host is None:
        return None
    if exposure.gateway is not None:
        parent: dict[str, Any] = {"name": exposure.gateway.name}
        if exposure.gateway.namespace:
            parent["namespace"] = exposure.gateway.namespace
        if exposure.gateway.section_name:
            parent["sectionName"] = exposure.gateway.section_name
        return {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "HTTPRoute",
            "metadata": meta,
            "spec": {
                "parentRefs": [parent],
                "hostnames": [exposure.host],
                "rules": [
                    {
                        "matches": [{"path": {"type": "PathPrefix", "value": WEBHOOK_PREFIX}}],
                        "backendRefs": [{"name": service, "port": ENGINE_PORT}],
                    }
                ],
            },
        }
    spec: dict[str, Any] = {
        "rules": [
            {
                "host": exposure.host,
                "http": {
                    "paths": [
                        {
                            "path": WEBHOOK_PREFIX,
                            "pathType": "Prefix",
                            "backend": {"service": {"name": service, "port": {"number": ENGINE_PORT}}},
                        }
                    ]
                },
            }
        ]
    }
    if exposure.class_name:
        spec["ingressClassName"] = exposure.class_name
    if exposure.tls_secret:
        spec["tls"] = [{"hosts": [exposure.host], "secretName": exposure.tls_secret}]
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": meta, "spec": spec}
