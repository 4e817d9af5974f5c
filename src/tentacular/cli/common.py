"""Helpers shared by command modules."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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


def parse_input(value: Any) -> Any:
    """``--input`` as inline JSON or ``@file``; absent, empty or ``null`` means ``{}`` like an empty
    ``/run`` body (F-079). Values that are not strings are already the body (programmatic callers)."""
    from tentacular.errors import InputError

    if value is None:
        return {}
    if not isinstance(value, str):
        return value
    text, source = value, "--input"
    if value.startswith("@"):
        path = Path(value[1:])
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError(f"cannot read input file {path}: {exc.strerror or exc}") from None
        source = str(path)
    try:
        parsed = json.loads(text) if text.strip() else {}
    except ValueError as exc:
        raise InputError(
            f"{source} is not valid JSON: {exc}",
            hint='e.g. --input \'{"text": "hi"}\' or --input @input.json',
        ) from None
    return {} if parsed is None else parsed
