"""Where a workflow comes from, for the ``tentacular.io/source-path`` and ``git-sha`` annotations.

Both are read from files (no ``git`` subprocess) and are machine-independent: the
path is relative to the repository root, so two checkouts render identical objects.
"""

from __future__ import annotations

import re
from pathlib import Path

from tentacular.engine._secrets import find_repo_root

_SHA = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")


def source_path(directory: Path) -> str:
    resolved = directory.resolve()
    root = find_repo_root(resolved)
    if root is None or root == resolved:
        return resolved.name
    return resolved.relative_to(root).as_posix()


def git_revision(directory: Path) -> str | None:
    """The commit HEAD points at, or None outside a repository or on unusual layouts."""
    for candidate in (directory.resolve(), *directory.resolve().parents):
        git = candidate / ".git"
        if git.is_file():  # worktrees and submodules: "gitdir: <path>"
            text = git.read_text(encoding="utf-8", errors="replace").strip()
            if not text.startswith("gitdir:"):
                return None
            git = (candidate / text.removeprefix("gitdir:").strip()).resolve()
        if git.is_dir():
            return _resolve_head(git)
    return None


def _resolve_head(git_dir: Path) -> str | None:
    try:
        head = (git_dir / "HEAD").read_text(encoding="utf-8").strip()
    except OSError:
        return None
    if _SHA.match(head):
        return head
    if not head.startswith("ref: "):
        return None
    ref = head.removeprefix("ref: ").strip()
    common = git_dir
    commondir = git_dir / "commondir"
    if commondir.is_file():
        common = (git_dir / commondir.read_text(encoding="utf-8").strip()).resolve()
    for base in (git_dir, common):
        ref_file = base / ref
        if ref_file.is_file():
            value = ref_file.read_text(encoding="utf-8").strip()
            return value if _SHA.match(value) else None
    packed = common / "packed-refs"
    if packed.is_file():
        for line in packed.read_text(encoding="utf-8").splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[1] == ref and _SHA.match(parts[0]):
                return parts[0]
    return None
