"""Helpers shared by command modules."""

from __future__ import annotations

import typer

from tentacular.cli.output import CommandResult, GlobalOptions, emit


def options_of(ctx: typer.Context) -> GlobalOptions:
    obj = ctx.find_root().obj
    return obj if isinstance(obj, GlobalOptions) else GlobalOptions()


def finish(ctx: typer.Context, result: CommandResult) -> None:
    """Render the result and end the command with its exit code."""
    code = emit(options_of(ctx), result)
    if code:
        raise typer.Exit(code)
