"""Detect a local kind cluster from the kubeconfig (INVENTORY §6.4, F-164, F-166, Q29).

Only PyYAML: ``tntc build`` must stay free of the Kubernetes client. A cluster is kind
when the effective context's name starts with ``kind-`` and its server is a loopback
address; anything missing or unreadable means "not kind", never an error.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True)
class KindCluster:
    context: str
    name: str
    server: str


def kubeconfig_paths(
    explicit: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> list[Path]:
    if explicit:
        return [Path(explicit).expanduser()]
    env = os.environ if environ is None else environ
    if env.get("KUBECONFIG"):
        return [Path(p).expanduser() for p in env["KUBECONFIG"].split(os.pathsep) if p]
    return [Path.home() / ".kube" / "config"]


def detect_kind(
    kubeconfig: str | Path | None = None,
    context: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> KindCluster | None:
    """The kind cluster behind ``context`` (default: current-context), or None."""
    merged = _merged_kubeconfig(kubeconfig_paths(kubeconfig, environ))
    name = context or merged.get("current-context")
    if not isinstance(name, str) or not name.startswith("kind-"):
        return None
    ctx = merged["contexts"].get(name)
    cluster_name = ctx.get("cluster") if isinstance(ctx, dict) else None
    cluster = merged["clusters"].get(cluster_name) if isinstance(cluster_name, str) else None
    server = cluster.get("server") if isinstance(cluster, dict) else None
    if not isinstance(server, str) or _hostname(server) not in _LOOPBACK_HOSTS:
        return None
    return KindCluster(context=name, name=name.removeprefix("kind-"), server=server)


def _hostname(server: str) -> str | None:
    try:
        return urlsplit(server if "://" in server else f"https://{server}").hostname
    except ValueError:
        return None


def _merged_kubeconfig(paths: list[Path]) -> dict[str, Any]:
    """kubectl's merge: the first file to set a value or define a name wins."""
    merged: dict[str, Any] = {"current-context": None, "contexts": {}, "clusters": {}}
    for path in paths:
        try:
            document = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue
        if not isinstance(document, dict):
            continue
        if merged["current-context"] is None and document.get("current-context"):
            merged["current-context"] = document["current-context"]
        for section, key in (("contexts", "context"), ("clusters", "cluster")):
            for item in document.get(section) or []:
                if isinstance(item, dict) and isinstance(item.get("name"), str):
                    merged[section].setdefault(item["name"], item.get(key) or {})
    return merged
