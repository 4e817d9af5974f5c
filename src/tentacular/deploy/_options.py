"""Typed options of the deploy face: what a command asks for, before any cascade is applied."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tentacular.spec import DEFAULT_DEPLOY_TIMEOUT, DEFAULT_RUN_TIMEOUT

__all__ = ["DEFAULT_DEPLOY_TIMEOUT", "DEFAULT_RUN_TIMEOUT"]


@dataclass(frozen=True, kw_only=True)
class TargetOptions:
    """The global ``--env`` and ``-n`` flags; ``env=None`` falls back to ``TENTACULAR_ENV`` (F-160)."""

    env: str | None = None
    namespace: str | None = None


@dataclass(frozen=True, kw_only=True)
class DeployOptions(TargetOptions):
    """``tntc deploy`` (and ``--dry-run``): flags win over every configured default (F-161…F-163)."""

    image: str | None = None
    runtime_class: str | None = None
    image_pull_policy: str | None = None
    secrets_path: Path | None = None
    omit_secrets: bool = False
    allow_missing_secrets: bool = False
    force: bool = False
    verify: bool = False
    warn: bool = False
    wait: bool = True
    timeout: float = DEFAULT_DEPLOY_TIMEOUT
    keep: int | None = None  # code versions to retain; None: the environment's ``keep``, else 5
    policy: Path | None = None  # release policy file; None: the environment's ``policy``
    #: Remove fields other field managers added to the workflow's objects (drift).
    reclaim: bool = False


@dataclass(frozen=True, kw_only=True)
class LiveTestOptions(TargetOptions):
    """``tntc test --live``: deploy to an environment (default ``dev``), run once, clean up."""

    keep: bool = False
    warn: bool = False
    timeout: float = DEFAULT_DEPLOY_TIMEOUT
    input: Any = None
