"""The secrets cascade (D5, F-084…F-088, Q1…Q5) and redaction of secret values.

Secrets are ``{service: {key: value}}``. Sources, later ones winning key by key:
``<wf>/.secrets/`` (one file per service), ``<wf>/.secrets.yaml``, ``/app/secrets``
(the Kubernetes volume). An explicit path replaces all of them (Q1).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tentacular.engine._redaction import Redactor as Redactor  # re-exported: its old home
from tentacular.engine._redaction import secret_values as secret_values
from tentacular.errors import SecretsError

Secrets = dict[str, dict[str, Any]]

CLUSTER_SECRETS_DIR = Path("/app/secrets")
SHARED_PREFIX = "$shared."
_SHARED_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def resolve_secrets(
    workflow_dir: Path,
    explicit: Path | None = None,
    *,
    cluster_dir: Path | None = CLUSTER_SECRETS_DIR,
) -> Secrets:
    """Apply the cascade; ``explicit`` (``--secrets``) replaces every other source."""
    if explicit is not None:
        if not explicit.exists():
            raise SecretsError(f"secrets path {explicit} does not exist", hint="check --secrets")
        return _resolve_shared(load_source(explicit), workflow_dir)
    merged = local_secrets(workflow_dir)
    if cluster_dir is not None and cluster_dir.is_dir():
        merged = merge_secrets(merged, load_directory(cluster_dir))
    return merged


def local_secrets(workflow_dir: Path) -> Secrets:
    """``.secrets/`` then ``.secrets.yaml`` of the workflow, ``$shared`` references resolved."""
    merged: Secrets = {}
    directory = workflow_dir / ".secrets"
    if directory.is_dir():
        merged = load_directory(directory)
    yaml_file = workflow_dir / ".secrets.yaml"
    if yaml_file.is_file():
        merged = merge_secrets(merged, load_yaml_file(yaml_file))
    return _resolve_shared(merged, workflow_dir)


def load_source(path: Path) -> Secrets:
    return load_directory(path) if path.is_dir() else load_yaml_file(path)


def load_yaml_file(path: Path) -> Secrets:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SecretsError(f"cannot read secrets file {path}: {exc.__class__.__name__}") from None
    import yaml  # here, not at import: a pod reads secret files, never a YAML secrets file

    try:
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        # Where and what only: the YAML error's own text quotes the line, which holds secrets.
        mark = exc.problem_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise SecretsError(
            f"{where}: invalid YAML in secrets file: {exc.problem or 'cannot parse'}",
            hint='a secrets file maps services to keys, e.g.\n  github:\n    token: "..."',
            file=str(path),
            line=mark.line + 1 if mark else None,
            column=mark.column + 1 if mark else None,
        ) from None
    except yaml.YAMLError as exc:
        raise SecretsError(f"cannot parse secrets file {path}: {type(exc).__name__}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SecretsError(
            f"secrets file {path} must map services to keys",
            hint="e.g.\n  github:\n    token: ...",
        )
    return {str(service): _service_map(value) for service, value in data.items()}


def load_directory(directory: Path) -> Secrets:
    """One file per service, as Kubernetes mounts a Secret (symlinks followed, dotfiles skipped)."""
    result: Secrets = {}
    for entry in sorted(directory.iterdir()):
        if entry.name.startswith(".") or not entry.is_file():  # is_file follows symlinks
            continue
        text = entry.read_text(encoding="utf-8")
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        result[entry.name] = parsed if isinstance(parsed, dict) else {"value": text.strip()}
    return result


def merge_secrets(base: Mapping[str, Mapping[str, Any]], overlay: Mapping[str, Mapping[str, Any]]) -> Secrets:
    """Key-level merge within each service (Q2): the overlay wins per key, not per service."""
    merged: Secrets = {service: dict(keys) for service, keys in base.items()}
    for service, keys in overlay.items():
        merged.setdefault(service, {}).update(keys)
    return merged


def _service_map(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return {str(k): v for k, v in value.items()}
    return {"value": value}


def find_repo_root(start: Path) -> Path | None:
    for candidate in (start.resolve(), *start.resolve().parents):
        if (candidate / ".git").exists() or (candidate / "pyproject.toml").is_file():
            return candidate
    return None


def _resolve_shared(secrets: Secrets, workflow_dir: Path) -> Secrets:
    resolved: Secrets = {}
    for service, keys in secrets.items():
        if set(keys) == {"value"} and _is_shared(keys["value"]):
            shared = _read_shared(keys["value"], workflow_dir)
            resolved[service] = shared if isinstance(shared, dict) else {"value": shared}
            continue
        resolved[service] = {
            key: _read_shared(value, workflow_dir) if _is_shared(value) else value
            for key, value in keys.items()
        }
    return resolved


def _is_shared(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(SHARED_PREFIX)


def _read_shared(reference: str, workflow_dir: Path) -> Any:
    name = reference[len(SHARED_PREFIX) :]
    if not _SHARED_NAME.match(name) or ".." in name.split("/") or name in (".", ".."):
        raise SecretsError(
            f'shared secret name "{name}" contains invalid path components',
            hint="shared secrets are files directly inside <repo>/.secrets/",
        )
    root = find_repo_root(workflow_dir)
    if root is None:
        raise SecretsError(
            f'cannot resolve "{reference}": no repository root (.git or pyproject.toml) above {workflow_dir}',
            hint="shared secrets live in <repo-root>/.secrets/<name>",
        )
    path = root / ".secrets" / name
    if not path.is_file():
        raise SecretsError(
            f'shared secret "{reference}" referenced but not found at {path}',
            hint=f"create {path}",
        )
    text = path.read_text(encoding="utf-8")
    try:
        return json.loads(text)
    except ValueError:
        return text.strip()
