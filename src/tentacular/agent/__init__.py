"""The agent surface: the MCP server, the skill document, the workflow catalog and the workspace.

This layer sits between the CLI and the deploy layer. The CLI describes its own command
tree (:class:`CommandSpec`) and hands it over; nothing here imports the CLI.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tentacular._lazy import lazy_exports
from tentacular.agent._commands import CommandSpec, ParamSpec

if TYPE_CHECKING:
    from tentacular.agent._catalog import Catalogs, Template
    from tentacular.agent._workspace import WorkspaceReport

SKILL_FILE = "SKILL.md"

__getattr__ = lazy_exports(
    __name__, {"Catalogs": "_catalog", "Template": "_catalog", "WorkspaceReport": "_workspace"}
)

__all__ = [
    "SKILL_FILE",
    "Catalogs",
    "CommandSpec",
    "ParamSpec",
    "PulledTemplate",
    "Template",
    "WorkspaceReport",
    "catalog_info",
    "catalog_templates",
    "close_stdio_front",
    "index_catalog",
    "init_workspace",
    "open_stdio_front",
    "pull_template",
    "serve_mcp",
    "skill_document",
    "workspace_target",
]


def serve_mcp(
    commands: list[CommandSpec],
    *,
    run_in_process: Callable[[list[str]], int],
    skill: Callable[[], str],
    root: Path,
    version: str,
    http: str | None = None,
    token: str | None = None,
) -> None:
    """Serve MCP over stdio (default) or streamable HTTP (``http="HOST:PORT"``) until the client leaves."""
    from tentacular.agent._mcp_http import parse_listen, require_token

    listen = parse_listen(http) if http is not None else None
    if listen is not None:
        require_token(listen[0], token)
    front = None
    if listen is None:  # answer the opening of the session while the SDK loads (see _mcp_replay)
        from tentacular.agent._mcp_replay import StdioFront

        front = StdioFront.start()
    try:
        import anyio

        from tentacular.agent._mcp_server import McpSettings, announce, build_server, serve_stdio

        server = build_server(
            McpSettings(
                commands=commands, run_in_process=run_in_process, skill=skill, root=root, version=version
            )
        )
        if front is not None:
            anyio.run(serve_stdio, server, front)
            return
        from tentacular.agent._mcp_http import serve_http

        assert listen is not None
        host, port = listen
        anyio.run(lambda: serve_http(server, host, port, token=token, announce=announce))
    finally:
        if front is not None:
            front.close()


def open_stdio_front() -> None:
    """Start answering an MCP stdio session's opening now, before the CLI and the SDK load.

    ``tntc mcp`` (stdio) calls it first thing; :func:`serve_mcp` takes the open front
    over. If the command never gets there (a usage error), :func:`close_stdio_front`
    gives stdin and stdout back.
    """
    from tentacular.agent._mcp_replay import OPENING_WAIT, StdioFront

    StdioFront.start().wait_for_opening(OPENING_WAIT)


def close_stdio_front() -> None:
    from tentacular.agent._mcp_replay import close_front

    close_front()


def skill_document(commands: list[CommandSpec]) -> str:
    """SKILL.md for this tntc: its commands, the workflow schema, the error codes and the docs pages."""
    import tentacular
    from tentacular.agent._resources import doc_pages
    from tentacular.agent._skill import error_codes, render_skill
    from tentacular.spec import workflow_json_schema

    titles = {}
    for page, path in doc_pages().items():
        first = path.read_text(encoding="utf-8").splitlines()[:1]
        titles[page] = first[0].lstrip("# ").strip() if first else page
    return render_skill(
        commands,
        version=tentacular.__version__,
        schema=workflow_json_schema(),
        doc_pages=titles,
        error_codes=error_codes(),
    )


@dataclass(frozen=True)
class PulledTemplate:
    directory: Path
    files: list[Path]
    template: dict[str, Any]
    warnings: list[str]


def _catalogs(refresh: bool = False) -> Catalogs:
    from tentacular.agent._catalog import configured
    from tentacular.deploy._settings import load_settings, tentacular_home

    return configured(
        load_settings().data, cache_root=tentacular_home() / "cache" / "catalogs", refresh=refresh
    )


def catalog_templates(
    *, catalog: str | None = None, query: str | None = None, tag: str | None = None, refresh: bool = False
) -> tuple[list[Template], list[dict[str, Any]], list[str]]:
    """Templates of one or every catalog (filtered), the catalogs asked, and warnings."""
    catalogs = _catalogs(refresh)
    templates = catalogs.templates(catalog)
    if query:
        templates = [t for t in templates if t.matches(query)]
    if tag:
        templates = [t for t in templates if tag in t.tags]
    names = [catalog] if catalog else list(catalogs.sources)
    return templates, [catalogs.sources[n].to_dict() for n in names], catalogs.warnings


def catalog_info(ref: str, *, refresh: bool = False) -> tuple[Template, list[str]]:
    catalogs = _catalogs(refresh)
    template, _directory = catalogs.find(ref)
    return template, catalogs.warnings


def workspace_target(name: str) -> Path | None:
    """``<workspace>/NAME`` when a workspace is configured (``tntc init`` without ``--dir``)."""
    from tentacular.agent._workspace import workspace_dir
    from tentacular.deploy._settings import load_settings

    workspace = workspace_dir(load_settings().data)
    return workspace / name if workspace is not None else None


def pull_template(
    ref: str, *, directory: Path | None, name: str | None, force: bool = False, refresh: bool = False
) -> PulledTemplate:
    """Copy a catalog template (``CATALOG:TEMPLATE`` or ``<git-url>//<path>@<tag>``) into place."""
    from tentacular.agent._catalog import materialize, parse_git_ref, pull_git_ref

    catalogs = _catalogs(refresh)
    git_ref = parse_git_ref(ref)
    if git_ref is not None:
        url, path, tag = git_ref
        source = pull_git_ref(
            url, path, tag, cache_root=catalogs.cache_root, ttl=catalogs.ttl, refresh=refresh
        )
        info: dict[str, Any] = {"ref": ref, "url": url, "path": path, "tag": tag}
        default_name = Path(path).name
    else:
        template, source = catalogs.find(ref)
        info = template.to_dict()
        default_name = template.name
        warning = _version_warning(template.min_tntc_version)
        if warning:
            catalogs.warnings.append(warning)
    final_name = name or default_name
    target = directory or workspace_target(final_name) or Path(final_name)
    files = materialize(source, target, name=name, force=force)
    return PulledTemplate(target, files, info, catalogs.warnings)


def _version_warning(required: str) -> str | None:
    import tentacular

    def parts(text: str) -> tuple[int, ...]:
        return tuple(int(p) for p in text.split(".") if p.isdigit())

    if required and parts(required) > parts(tentacular.__version__)[: len(parts(required))]:
        return f"the template wants tntc >= {required}; this is {tentacular.__version__}"
    return None


def index_catalog(directory: Path) -> tuple[Path, list[Template]]:
    """Write ``DIR/catalog.yaml`` for a catalog repository; nothing is written if a template is invalid."""
    from tentacular.agent._catalog import write_index

    return write_index(directory)


def init_workspace(path: Path | None, *, probe_cluster: bool = True) -> WorkspaceReport:
    from tentacular.agent._workspace import init_workspace as create

    return create(path, probe_cluster=probe_cluster)
