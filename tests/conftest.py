"""Shared fixtures: a valid workflow on disk that tests can break one field at a time."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = REPO_ROOT / "example-workflows"

VALID_WORKFLOW: dict[str, Any] = {
    "name": "sample-flow",
    "version": "1.0",
    "description": "fan-out / fan-in sample",
    "triggers": [{"type": "manual"}, {"type": "cron", "name": "nightly", "schedule": "0 2 * * *"}],
    "nodes": {
        "fetch": {"path": "./nodes/fetch.py"},
        "left": {"path": "./nodes/left.py"},
        "right": {"path": "./nodes/right.py"},
        "join": {"path": "./nodes/join.py"},
    },
    "edges": [
        {"from": "fetch", "to": "left"},
        {"from": "fetch", "to": "right"},
        {"from": "left", "to": "join"},
        {"from": "right", "to": "join"},
    ],
    "config": {"timeout": "30s", "retries": 1, "channel": "#ops"},
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
                "host": "db.internal.svc.cluster.local",
                "database": "app",
                "user": "svc",
                "auth": {"type": "password", "secret": "db.password"},
            },
        },
    },
}

WorkflowFactory = Callable[..., Path]


def write_workflow(directory: Path, data: dict[str, Any] | str, node_files: bool = True) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    text = data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False)
    (directory / "workflow.yaml").write_text(text, encoding="utf-8")
    if node_files:
        nodes = directory / "nodes"
        nodes.mkdir(exist_ok=True)
        for name in ("fetch", "left", "right", "join"):
            (nodes / f"{name}.py").write_text("async def run(ctx, input):\n    return input\n")
    return directory


@pytest.fixture
def valid_workflow() -> dict[str, Any]:
    return copy.deepcopy(VALID_WORKFLOW)


@pytest.fixture
def make_workflow(tmp_path: Path) -> WorkflowFactory:
    counter = iter(range(1_000_000))

    def factory(data: dict[str, Any] | str | None = None, node_files: bool = True) -> Path:
        target = tmp_path / f"wf{next(counter)}"
        return write_workflow(target, copy.deepcopy(VALID_WORKFLOW) if data is None else data, node_files)

    return factory


@pytest.fixture(autouse=True)
def isolated_user_config(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads the developer's ~/.tentacular, kubeconfig or TENTACULAR_ENV."""
    home = tmp_path_factory.mktemp("tentacular-home")
    monkeypatch.setenv("TENTACULAR_HOME", str(home))
    monkeypatch.setenv("KUBECONFIG", str(home / "no-kubeconfig"))
    monkeypatch.delenv("TENTACULAR_ENV", raising=False)
