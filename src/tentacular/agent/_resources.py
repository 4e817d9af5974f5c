"""MCP resources: the workflow JSON Schema, the docs pages, and each workflow's diagram and contract.

URIs: ``tntc://schema/workflow``, ``tntc://docs/<page>`` (``docs/<page>.md`` of the checkout,
plus ``skill``), and ``tntc://workflow/<dir>/diagram`` / ``.../contract`` where ``<dir>`` is
the workflow directory relative to the server's root, percent-encoded.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote

from tentacular.defaults import WORKFLOW_FILE
from tentacular.errors import ResourceNotFoundError

SCHEMA_URI = "tntc://schema/workflow"
DOCS_PREFIX = "tntc://docs/"
WORKFLOW_PREFIX = "tntc://workflow/"
WORKFLOW_TEMPLATES = (
    ("diagram", "Mermaid diagram of a workflow (with its external dependencies)", "text/markdown"),
    ("contract", "Contract summary of a workflow: secrets, egress and ingress rules", "text/markdown"),
)
MAX_SCAN_DEPTH = 3
MAX_WORKFLOWS = 200
_SKIP_DIRS = frozenset({".git", ".venv", "node_modules", "__pycache__", ".tentacular", ".secrets"})


@dataclass(frozen=True)
class ResourceEntry:
    uri: str
    name: str
    description: str
    mime_type: str


def docs_dir() -> Path | None:
    """``docs/`` of the checkout tntc runs from (an installed wheel has none)."""
    import tentacular

    candidate = Path(tentacular.__file__).resolve().parents[2] / "docs"
    return candidate if candidate.is_dir() else None


def doc_pages() -> dict[str, Path]:
    directory = docs_dir()
    if directory is None:
        return {}
    return {path.stem: path for path in sorted(directory.glob("*.md")) if path.name != "SKILL.md"}


def workflow_dirs(root: Path) -> list[Path]:
    """Workflow directories under ``root`` (a few levels deep, bounded)."""
    found: list[Path] = []

    def walk(directory: Path, depth: int) -> None:
        if len(found) >= MAX_WORKFLOWS:
            return
        if (directory / WORKFLOW_FILE).is_file():
            found.append(directory)
            return
        if depth >= MAX_SCAN_DEPTH:
            return
        try:
            children = sorted(p for p in directory.iterdir() if p.is_dir() and not p.is_symlink())
        except OSError:
            return
        for child in children:
            if child.name not in _SKIP_DIRS and not child.name.startswith("."):
                walk(child, depth + 1)

    walk(root, 0)
    return found


def list_resources(root: Path) -> list[ResourceEntry]:
    entries = [
        ResourceEntry(
            SCHEMA_URI, "workflow-schema", "JSON Schema of workflow.yaml", "application/schema+json"
        ),
        ResourceEntry(f"{DOCS_PREFIX}skill", "skill", "The agent skill (SKILL.md)", "text/markdown"),
    ]
    for page in doc_pages():
        entries.append(
            ResourceEntry(f"{DOCS_PREFIX}{page}", f"docs-{page}", f"docs/{page}.md", "text/markdown")
        )
    for directory in workflow_dirs(root):
        relative = directory.relative_to(root).as_posix() if directory != root else "."
        for kind, description, mime in WORKFLOW_TEMPLATES:
            entries.append(
                ResourceEntry(
                    f"{WORKFLOW_PREFIX}{quote(relative, safe='')}/{kind}",
                    f"{relative}-{kind}",
                    f"{description}: {relative}",
                    mime,
                )
            )
    return entries


def read_resource(uri: str, root: Path, skill: Callable[[], str]) -> tuple[str, str]:
    """``(text, mime type)`` of a resource; a clear error for anything unknown."""
    if uri == SCHEMA_URI:
        from tentacular.spec import workflow_json_schema

        return json.dumps(workflow_json_schema(), indent=2, sort_keys=True), "application/schema+json"
    if uri.startswith(DOCS_PREFIX):
        page = uri.removeprefix(DOCS_PREFIX)
        if page == "skill":
            return skill(), "text/markdown"
        pages = doc_pages()
        if page not in pages:
            raise ResourceNotFoundError(
                f"no docs page {page!r}", hint=f"pages: {', '.join(['skill', *pages])}"
            )
        return pages[page].read_text(encoding="utf-8"), "text/markdown"
    if uri.startswith(WORKFLOW_PREFIX):
        encoded, _, kind = uri.removeprefix(WORKFLOW_PREFIX).rpartition("/")
        if kind not in {k for k, _, _ in WORKFLOW_TEMPLATES} or not encoded:
            raise ResourceNotFoundError(
                f"unknown workflow resource {uri!r}", hint="use tntc://workflow/<dir>/diagram or .../contract"
            )
        directory = (root / unquote(encoded)).resolve()
        if directory != root.resolve() and root.resolve() not in directory.parents:
            raise ResourceNotFoundError(
                f"{uri!r} is outside the server's root {root}", hint="start tntc mcp with --root DIR"
            )
        return _workflow_resource(directory, kind), "text/markdown"
    raise ResourceNotFoundError(
        f"unknown resource {uri!r}",
        hint="list them with resources/list (tntc://schema/workflow, tntc://docs/…)",
    )


def _workflow_resource(directory: Path, kind: str) -> str:
    from tentacular.spec import contract_summary, load_workflow, mermaid_diagram

    loaded = load_workflow(directory)
    if kind == "diagram":
        return f"# {loaded.workflow.name}\n\n{mermaid_diagram(loaded.workflow, rich=True)}"
    summary = contract_summary(loaded.workflow)
    return summary or f"# {loaded.workflow.name}\n\nNo contract: legacy mode, unrestricted network.\n"
