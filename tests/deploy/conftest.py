"""Workflows for the manifest tests: the shipped examples and one that uses every feature."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from tentacular.deploy._manifests import ManifestOptions, build_manifests
from tentacular.spec import LoadedWorkflow, load_workflow
from tests.conftest import EXAMPLES

EXAMPLE_NAMES = sorted(p.name for p in EXAMPLES.iterdir() if (p / "workflow.yaml").is_file())

# Distinctive values, so a leak anywhere in rendered output is unmistakable.
SECRET_TOKEN = "ghp_SECRET-token-7f3a9c1e5b"
SECRET_WEBHOOK = "https://hooks.slack.com/services/T000/B000/SECRETwebhookXYZ123"
SECRET_PASSWORD = "pg-pass-Q8r!v2#Zk9"
EXAMPLE_SECRETS: dict[str, dict[str, dict[str, Any]]] = {
    "repo-digest": {"github": {"token": SECRET_TOKEN}, "slack": {"webhook_url": SECRET_WEBHOOK}},
}

FULL_WORKFLOW: dict[str, Any] = {
    "name": "kitchen-sink",
    "version": "2.1.0",
    "triggers": [
        {"type": "manual"},
        {"type": "cron", "name": "hourly", "schedule": "0 * * * *"},
        {"type": "cron", "schedule": "30 2 * * 1-5"},
        {"type": "webhook", "provider": "github", "event": "push"},
    ],
    "nodes": {
        "fetch": {"path": "./nodes/fetch.py"},
        "store": {"path": "./nodes/db/store.py"},
    },
    "edges": [{"from": "fetch", "to": "store"}],
    "config": {"timeout": "20s", "retries": 1, "label": "x"},
    "contract": {
        "version": "1",
        "dependencies": {
            "github": {
                "protocol": "https",
                "host": "api.github.com",
                "auth": {"type": "bearer-token", "secret": "github.token"},
            },
            "db": {
                "protocol": "postgresql",
                "host": "pg.data.svc.cluster.local",
                "database": "app",
                "user": "svc",
                "auth": {"type": "password", "secret": "db.password"},
            },
            "legacy": {"protocol": "http", "host": "10.20.30.40", "port": 8081},
            "probe": {
                "protocol": "https",
                "type": "dynamic-target",
                "cidr": "192.0.2.0/24",
                "dynPorts": ["443/TCP", "8443"],
                "reason": "uptime probes",
            },
        },
        "networkPolicy": {
            "additionalEgress": [
                {"toCIDR": "198.51.100.0/24", "ports": ["53/UDP"]},
                {"toCIDR": "203.0.113.7/32", "reason": "partner, any port"},
            ]
        },
    },
    "deployment": {
        "namespace": "sink",
        "serviceAccount": "sink-reader",
        "rbac": {"clusterRole": {"rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]}},
        "webhook": {"host": "hooks.example.com", "className": "nginx", "tlsSecret": "hooks-tls"},
    },
}
FULL_NODE_FILES: dict[str, str | bytes] = {
    "nodes/fetch.py": "from helpers.util import double\n\nasync def run(ctx, input):\n    return double(1)\n",
    "nodes/db/store.py": "async def run(ctx, input):\n    return input\n",
    "nodes/helpers/util.py": "def double(x):\n    return 2 * x\n",
    "nodes/helpers/__init__.py": "",
    "nodes/data/table.bin": b"\x00\xff\x10binary",
}
FULL_SECRETS: dict[str, dict[str, Any]] = {
    "github": {"token": SECRET_TOKEN},
    "db": {"password": SECRET_PASSWORD, "nested": {"list": [1, 2], "flag": True}},
}


def write_tree(directory: Path, workflow: dict[str, Any] | str, files: Mapping[str, str | bytes]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    text = workflow if isinstance(workflow, str) else yaml.safe_dump(workflow, sort_keys=False)
    (directory / "workflow.yaml").write_text(text, encoding="utf-8")
    for relative, content in files.items():
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return directory


@pytest.fixture
def full_workflow(tmp_path: Path) -> LoadedWorkflow:
    return load_workflow(write_tree(tmp_path / "kitchen-sink", FULL_WORKFLOW, FULL_NODE_FILES))


def example(name: str) -> LoadedWorkflow:
    return load_workflow(EXAMPLES / name)


def example_objects(name: str, **overrides: Any) -> list[dict[str, Any]]:
    options = ManifestOptions(secrets=EXAMPLE_SECRETS.get(name), **overrides)
    return build_manifests(example(name), options)


def every_rendering(full: LoadedWorkflow) -> list[tuple[str, list[dict[str, Any]]]]:
    """Each example plus the full-featured workflow, with gVisor and without (kind)."""
    renderings = []
    for name in EXAMPLE_NAMES:
        renderings.append((name, example_objects(name)))
        renderings.append((f"{name}/kind", example_objects(name, runtime_class=None)))
    renderings.append(("kitchen-sink", build_manifests(full, ManifestOptions(secrets=FULL_SECRETS))))
    return renderings
