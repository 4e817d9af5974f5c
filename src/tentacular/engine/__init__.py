"""The runtime: node loading, context, secrets, executor, HTTP server and triggers."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tentacular.engine._deno.check import TypeScriptCheck


def check_typescript_nodes(directory: Path, node_paths: Mapping[str, str]) -> TypeScriptCheck:
    """``tntc validate``: every ``.ts`` node parses and default-exports a function (Deno if present)."""
    from tentacular.engine._deno.check import check_typescript_nodes as check

    return check(directory, node_paths)


__all__ = ["check_typescript_nodes"]
