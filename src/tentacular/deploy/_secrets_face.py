"""The deploy face's secrets operations: ``tntc secrets diff|sync`` against the resolved target."""

from __future__ import annotations

from pathlib import Path

from tentacular.deploy._operations import resolve_target
from tentacular.deploy._options import TargetOptions
from tentacular.deploy._secrets_sync import SecretsDiff, SyncReport, diff_secrets, sync_secrets
from tentacular.deploy._settings import load_settings
from tentacular.spec import load_workflow


def secrets_diff(
    directory: str | Path, *, target: TargetOptions, explicit: Path | None = None
) -> SecretsDiff:
    """Local secrets vs the workflow's Secret in the cluster, compared by keyed hashes."""
    loaded = load_workflow(directory)
    return diff_secrets(loaded, resolve_target(load_settings(), target, loaded=loaded), explicit=explicit)


def secrets_sync(directory: str | Path, *, target: TargetOptions, explicit: Path | None = None) -> SyncReport:
    """Apply the workflow's Secret and roll the deployment only when a value changed."""
    loaded = load_workflow(directory)
    return sync_secrets(loaded, resolve_target(load_settings(), target, loaded=loaded), explicit=explicit)
