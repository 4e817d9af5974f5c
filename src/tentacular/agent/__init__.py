"""The agent surface: the MCP server, the skill document, the workflow catalog and the workspace.

This layer sits between the CLI and the deploy layer. The CLI describes its own command
tree (:class:`CommandSpec`) and hands it over; nothing here imports the CLI.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tentacular.agent._commands import CommandSpec, ParamSpec

SKILL_FILE = "SKILL.md"

__all__ = ["SKILL_FILE", "CommandSpec", "ParamSpec", "serve_mcp", "skill_document"]


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
    import anyio

    from tentacular.agent._mcp_http import parse_listen, require_token, serve_http
    from tentacular.agent._mcp_server import McpSettings, announce, build_server, serve_stdio

    listen = parse_listen(http) if http is not None else None
    if listen is not None:
        require_token(listen[0], token)
    server = build_server(
        McpSettings(commands=commands, run_in_process=run_in_process, skill=skill, root=root, version=version)
    )
    if listen is None:
        anyio.run(serve_stdio, server)
        return
    host, port = listen
    anyio.run(lambda: serve_http(server, host, port, token=token, announce=announce))


def skill_document(commands: list[CommandSpec]) -> str:
    """SKILL.md for this tntc: its commands, the workflow schema, the error codes and the docs pages."""
    import tentacular
    from tentacular.agent._resources import doc_pages
    from tentacular.agent._skill import error_codes, render_skill
    from tentacular.spec.schema import workflow_json_schema

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
