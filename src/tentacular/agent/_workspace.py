"""The workspace (UX-B): one directory for an agent's or a person's workflows.

``tntc configure --init-workspace [PATH]`` makes it a git repository (so ``$shared.<name>``
secrets resolve from its ``.secrets/`` pool, see engine/_secrets.py), git-ignores the secrets,
records ``workspace:`` and real defaults in the user config, and says whether a cluster
answers. ``tntc init`` without ``--dir`` then scaffolds into it.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_WORKSPACE = "~/tentacles"
WORKSPACE_KEY = "workspace"
GITIGNORE = ".secrets/\n**/.secrets.yaml\n**/.secrets/\n.tentacular/\n"
# No runtime_class here: the default is gvisor anyway, and a written value is an explicit choice
# that beats kind detection (issue 10), which would break workspaces used with kind.
DEFAULTS: dict[str, Any] = {"namespace": "default", "catalog": {"cacheTTL": "1h"}}


@dataclass
class WorkspaceReport:
    directory: Path
    config_file: Path
    created: list[str] = field(default_factory=list)
    defaults_written: dict[str, Any] = field(default_factory=dict)
    cluster: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "workspace": str(self.directory),
            "configFile": str(self.config_file),
            "created": self.created,
            "defaults": self.defaults_written,
            "cluster": self.cluster,
            "warnings": self.warnings,
        }


def workspace_dir(settings: dict[str, Any] | Any) -> Path | None:
    value = settings.get(WORKSPACE_KEY) if hasattr(settings, "get") else None
    return Path(str(value)).expanduser() if value else None


def init_workspace(path: Path | None, *, probe_cluster: bool = True) -> WorkspaceReport:
    from tentacular.deploy._settings import read_config_file, update_config_file, user_config_path

    directory = (path or Path(DEFAULT_WORKSPACE)).expanduser().resolve()
    config = user_config_path()
    report = WorkspaceReport(directory=directory, config_file=config)
    for folder, mode in ((directory, 0o755), (directory / ".secrets", 0o700)):
        if not folder.exists():
            folder.mkdir(parents=True, mode=mode)
            report.created.append(str(folder))
    (directory / ".secrets").chmod(0o700)  # the shared pool is readable by its owner only
    ignore = directory / ".gitignore"
    if not ignore.exists():
        ignore.write_text(GITIGNORE, encoding="utf-8")
        report.created.append(str(ignore))
    if not (directory / ".git").exists():
        if _git_init(directory):
            report.created.append(str(directory / ".git"))
        else:
            report.warnings.append(
                "git is not installed: $shared secrets resolve only below a .git or pyproject.toml"
            )
    existing = read_config_file(config)
    updates: dict[str, Any] = {WORKSPACE_KEY: str(directory)}
    for key, value in DEFAULTS.items():
        if key not in existing:
            updates[key] = value
    update_config_file(config, updates)
    report.defaults_written = updates
    report.cluster = cluster_reachability() if probe_cluster else {"checked": False}
    return report


def _git_init(directory: Path) -> bool:
    git = shutil.which("git")
    if git is None:
        return False
    done = subprocess.run(
        [git, "init", "--quiet", str(directory)], capture_output=True, text=True, timeout=60, check=False
    )
    return done.returncode == 0


def cluster_reachability(timeout: float = 5.0) -> dict[str, Any]:
    """Whether the default cluster answers (server version), never an exception."""
    from tentacular.deploy._kube.client import connect
    from tentacular.deploy._settings import cluster_target
    from tentacular.errors import TentacularError

    try:
        with connect(cluster_target(None), timeout=timeout) as kube:
            version = kube.server_version()
    except TentacularError as error:
        return {"checked": True, "reachable": False, "message": error.message, "hint": error.hint}
    return {"checked": True, "reachable": True, "server": kube.server, "version": version.get("gitVersion")}
