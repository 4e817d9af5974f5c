"""What a deploy of a workflow to a resolved target consists of: its secrets and its objects.

Shared by the real deploy, ``tntc deploy --dry-run`` and ``tntc audit``, so the reviewed
rendering, the applied objects and the audited expectation are one and the same.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tentacular.deploy._manifests import ManifestOptions, build_manifests
from tentacular.deploy._settings import DeployTarget
from tentacular.deploy._source import git_revision
from tentacular.engine._secret_sources import ResolvedSecrets
from tentacular.spec import LoadedWorkflow


def render_objects(
    loaded: LoadedWorkflow, target: DeployTarget, secrets: dict[str, dict[str, Any]] | None
) -> list[dict[str, Any]]:
    options = ManifestOptions(
        namespace=target.namespace.value,
        image=target.image.value,
        image_pull_policy=target.pull_policy,
        runtime_class=target.runtime_class.value or None,
        secrets=secrets or None,
        secret_provenance=getattr(secrets, "provenance", None),
        config_overrides=dict(target.environment.config_overrides) if target.environment else None,
        telemetry_overrides=dict(target.environment.telemetry_overrides) if target.environment else None,
        git_sha=git_revision(loaded.directory),
    )
    return build_manifests(loaded, options)


def local_secrets_for(
    loaded: LoadedWorkflow, target: DeployTarget, explicit_path: Path | None = None
) -> ResolvedSecrets:
    """``--secrets``, else the environment's ``secrets_source``, replaces the local cascade (Q1, Q6);
    ``$shared`` and ``secret://`` references resolved in memory, with provenance."""
    from tentacular.deploy._secrets_ops import provisioned_secrets

    return provisioned_secrets(loaded, target, explicit_path)
