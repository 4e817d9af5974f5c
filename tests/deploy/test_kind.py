"""Kind detection on the effective kubeconfig context (F-164, F-166, Q29)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tentacular.deploy._kind import KindCluster, detect_kind


def _config(current: str | None, contexts: dict[str, str], servers: dict[str, str]) -> dict[str, Any]:
    return {
        "current-context": current,
        "contexts": [{"name": n, "context": {"cluster": c}} for n, c in contexts.items()],
        "clusters": [{"name": n, "cluster": {"server": s}} for n, s in servers.items()],
    }


@pytest.mark.parametrize(
    ("server", "is_kind"),
    [
        ("https://127.0.0.1:40123", True),
        ("https://localhost:6443", True),
        ("https://[::1]:6443", True),
        ("https://10.0.0.5:6443", False),
        ("https://kind.example.com:6443", False),
        ("https://127.0.0.1.example.com", False),
    ],
)
def test_server_must_be_loopback(server: str, is_kind: bool, tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump(_config("kind-dev", {"kind-dev": "c"}, {"c": server})))
    found = detect_kind(path)
    assert (found == KindCluster("kind-dev", "dev", server)) if is_kind else found is None


def test_context_name_must_start_with_kind(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump(_config("dev", {"dev": "c"}, {"c": "https://127.0.0.1:1"})))
    assert detect_kind(path) is None


def test_explicit_context_wins_over_current(tmp_path: Path) -> None:
    path = tmp_path / "config"
    config = _config(
        "prod", {"prod": "p", "kind-ci": "k"}, {"p": "https://10.0.0.1", "k": "https://127.0.0.1:1"}
    )
    path.write_text(yaml.safe_dump(config))
    assert detect_kind(path) is None
    found = detect_kind(path, context="kind-ci")
    assert found is not None and found.name == "ci"


def test_kubeconfig_list_merges_first_wins(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    first.write_text(yaml.safe_dump({"current-context": "kind-x"}))
    second.write_text(yaml.safe_dump(_config("other", {"kind-x": "c"}, {"c": "https://localhost:1"})))
    found = detect_kind(environ={"KUBECONFIG": f"{first}:{second}"})
    assert found is not None and found.name == "x"


@pytest.mark.parametrize("content", ["", "not: [valid", "- a list", "current-context: kind-x\n"])
def test_broken_or_incomplete_kubeconfig_is_not_kind(content: str, tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_text(content)
    assert detect_kind(path) is None
    assert detect_kind(tmp_path / "missing") is None
