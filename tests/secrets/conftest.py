"""A workflow that needs secrets from its contract and from node code, inside a scratch repository."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tentacular.cli.main import main
from tests.secrets.servers import moto_server, openbao

__all__ = ["moto_server", "openbao"]  # session fixtures: real backends on loopback

WORKFLOW: dict[str, Any] = {
    "name": "secret-flow",
    "version": "1.0",
    "triggers": [{"type": "manual"}],
    "nodes": {"use": {"path": "./nodes/use.py"}},
    "edges": [],
    "contract": {
        "version": "1",
        "dependencies": {
            "github": {
                "protocol": "https",
                "host": "api.github.com",
                "auth": {"type": "bearer-token", "secret": "github.token"},
            }
        },
    },
}

# Reads a contract secret through the dependency and a legacy one through ctx.secrets, and
# returns only a fingerprint-free fact about each, so outputs can be scanned for the values.
NODE = """\
async def run(ctx, input):
    token = ctx.dependency("github").secret
    hook = ctx.secrets.get("slack", {}).get("webhook_url")
    ctx.log.info(f"token is {token} and hook is {hook}")
    return {"hasToken": bool(token), "tokenLength": len(token or ""), "hasHook": bool(hook)}
"""


@pytest.fixture
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("TENTACULAR_HOME", str(home / ".tentacular"))
    monkeypatch.delenv("TENTACULAR_ENV", raising=False)
    monkeypatch.chdir(tmp_path)
    return home


@pytest.fixture
def flow(tmp_path: Path, isolated_home: Path) -> Path:
    return make_flow(tmp_path)


def make_flow(tmp_path: Path) -> Path:
    """``<repo>/flows/secret-flow`` where ``<repo>`` has a ``.git`` (the root for ``$shared``)."""
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    directory = repo / "flows" / "secret-flow"
    (directory / "nodes").mkdir(parents=True)
    (directory / "workflow.yaml").write_text(yaml.safe_dump(WORKFLOW, sort_keys=False))
    (directory / "nodes" / "use.py").write_text(NODE)
    return directory


def write_config(home: Path, data: dict[str, Any]) -> Path:
    """Add ``data`` to the user config (keeping what a fixture put there, e.g. the test's namespace)."""
    path = home / ".tentacular" / "config.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    existing = (yaml.safe_load(path.read_text()) or {}) if path.is_file() else {}
    path.write_text(yaml.safe_dump({**existing, **data}))
    return path


def tntc_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any], str]:
    code = main([*argv, "-o", "json"])
    out, err = capsys.readouterr()
    assert out.count("\n") == 1, f"stdout must be one JSON document, got: {out!r}"
    return code, json.loads(out), err
