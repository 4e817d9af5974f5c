"""Agent-facing commands: `tntc mcp` (the MCP server) and `tntc skill` (the agent skill document)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, TextIO

import typer

from tentacular.cli.common import finish
from tentacular.cli.output import CommandResult

TOKEN_ENV = "TNTC_MCP_TOKEN"


def register(app: typer.Typer) -> None:
    app.command("mcp", help="Serve the tntc commands as MCP tools (stdio, or streamable HTTP with --http).")(
        mcp
    )
    app.command("skill", help="Print the agent skill document (SKILL.md); --write DIR writes DIR/SKILL.md.")(
        skill
    )


def mcp(
    ctx: typer.Context,
    http: Annotated[
        str | None,
        typer.Option("--http", help="Serve streamable HTTP on HOST:PORT (loopback unless a token is set)."),
    ] = None,
    token_file: Annotated[
        Path | None,
        typer.Option(
            "--token-file", help=f"File with the bearer token (else ${TOKEN_ENV}); needed beyond loopback."
        ),
    ] = None,
    root: Annotated[
        Path, typer.Option("--root", help="Directory whose workflows are listed as resources.")
    ] = Path(),
) -> None:
    import tentacular
    from tentacular.agent import serve_mcp, skill_document
    from tentacular.cli.command_tree import command_tree, run_in_process
    from tentacular.errors import InputError

    token = os.environ.get(TOKEN_ENV) or None
    if token_file is not None:
        try:
            token = token_file.read_text(encoding="utf-8").strip() or None
        except OSError as exc:
            raise InputError(f"cannot read --token-file {token_file}: {exc.strerror or exc}") from None
    serve_mcp(
        command_tree(),
        run_in_process=run_in_process,
        skill=lambda: skill_document(command_tree()),
        root=root.resolve(),
        version=tentacular.__version__,
        http=http,
        token=token,
    )
    finish(ctx, CommandResult("mcp", True, "MCP server stopped", show_status_line=False))


def skill(
    ctx: typer.Context,
    write: Annotated[
        Path | None,
        typer.Option("--write", help="Write SKILL.md into this directory instead of printing it."),
    ] = None,
) -> None:
    from tentacular.agent import SKILL_FILE, skill_document
    from tentacular.cli.command_tree import command_tree
    from tentacular.cli.common import options_of
    from tentacular.cli.output import progress

    document = skill_document(command_tree())

    def text(out: TextIO) -> None:
        if written is None:
            out.write(document)

    written: str | None = None
    if write is not None:
        write.mkdir(parents=True, exist_ok=True)
        target = write / SKILL_FILE
        target.write_text(document, encoding="utf-8")
        written = str(target)
        progress(options_of(ctx), f"✓ Wrote {target}")
    finish(
        ctx,
        CommandResult(
            "skill",
            True,
            f"wrote {written}" if written else "agent skill document",
            data={"skill": document, "written": written},
            text=text,
            show_status_line=False,
        ),
    )
