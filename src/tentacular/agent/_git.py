"""The few git operations the catalog needs, through the ``git`` binary: shallow, sparse, bounded.

A catalog is cached as a shallow sparse clone under ``~/.tentacular/cache/catalogs/``; a
fresh clone replaces it atomically once the TTL has passed, so a failed fetch never leaves a
broken cache behind.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tentacular.errors import CatalogUnavailableError

GIT_TIMEOUT_SECONDS = 120.0
STAMP = ".tntc-fetched"


@dataclass(frozen=True)
class Checkout:
    """A cached clone of ``url`` at ``ref`` (None: the default branch)."""

    url: str
    ref: str | None
    directory: Path
    stale: bool = False  # the refresh failed; this is the previous copy


def _git(args: list[str], *, cwd: Path | None = None, what: str) -> str:
    git = shutil.which("git")
    if git is None:
        raise CatalogUnavailableError(
            "the git binary is not installed; catalogs are git repositories",
            hint="install git (e.g. apt-get install git)",
        )
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true", "LC_ALL": "C"}
    try:
        done = subprocess.run(
            [git, *args],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_SECONDS,
        )
    except subprocess.TimeoutExpired:
        raise CatalogUnavailableError(
            f"{what}: git did not finish within {GIT_TIMEOUT_SECONDS:.0f} s",
            hint="check the network and the URL",
        ) from None
    if done.returncode != 0:
        detail = " ".join(
            line for line in done.stderr.strip().splitlines() if not line.startswith("warning:")
        )
        raise CatalogUnavailableError(f"{what}: {detail or f'git exited {done.returncode}'}")
    return done.stdout


def cache_dir(cache_root: Path, url: str, ref: str | None) -> Path:
    digest = hashlib.sha256(f"{url}\n{ref or ''}".encode()).hexdigest()[:20]
    return cache_root / digest


def fetch(url: str, ref: str | None, *, cache_root: Path, ttl: float, refresh: bool = False) -> Checkout:
    """The cached clone, re-cloned when older than ``ttl`` seconds (or ``refresh``)."""
    target = cache_dir(cache_root, url, ref)
    stamp = target / STAMP
    if not refresh and stamp.is_file() and time.time() - stamp.stat().st_mtime < ttl:
        return Checkout(url, ref, target)
    try:
        _clone_into(url, ref, target)
    except CatalogUnavailableError:
        if stamp.is_file():  # keep working offline with the last good copy
            return Checkout(url, ref, target, stale=True)
        raise
    return Checkout(url, ref, target)


def _clone_into(url: str, ref: str | None, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".clone-", dir=target.parent))
    try:
        args = ["clone", "--quiet", "--depth", "1", "--no-tags", "--filter=blob:none", "--sparse"]
        if ref:
            args += ["--branch", ref]
        _git(
            [*args, "--", url, str(staging / "repo")],
            what=f"cannot fetch catalog {url}" + (f"@{ref}" if ref else ""),
        )
        (staging / "repo" / STAMP).write_text(str(time.time()), encoding="utf-8")
        old = Path(tempfile.mkdtemp(prefix=".old-", dir=target.parent))
        try:
            if target.exists():
                target.rename(old / "repo")
            (staging / "repo").rename(target)
        except OSError:
            # Another tntc refreshed the same catalog at the same moment: keep whichever landed.
            if not (target / STAMP).is_file():
                raise CatalogUnavailableError(f"cannot update the catalog cache at {target}") from None
        finally:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def add_paths(checkout: Checkout, paths: list[str]) -> None:
    """Check out ``paths`` of a sparse clone (their blobs are fetched on demand)."""
    _git(
        ["sparse-checkout", "add", "--", *paths],
        cwd=checkout.directory,
        what=f"cannot check out {', '.join(paths)} from {checkout.url}",
    )
