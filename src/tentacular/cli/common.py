"""Helpers shared by command modules."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from tentacular.cli.output import CommandResult, GlobalOptions, emit, progress

if TYPE_CHECKING:
    from tentacular.deploy import TargetOptions
    from tentacular.events import Event


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


def target_options(ctx: typer.Context) -> TargetOptions:
    """The global ``--env`` / ``-n`` flags as the deploy face's options."""
    from tentacular.deploy import TargetOptions

    options = options_of(ctx)
    return TargetOptions(env=options.env, namespace=options.namespace)


def event_printer(ctx: typer.Context) -> Callable[[Event], None]:
    """The one progress callback the layers report through: status lines on stderr."""
    options = options_of(ctx)

    def show(event: Event) -> None:
        progress(options, f"⚠ {event.message}" if event.level == "warning" else event.message)

    return show


def seconds_option(value: str | float | None, *, default: float, flag: str = "--timeout") -> float:
    """A duration flag: ``30s``, ``2m``, ``1h`` or plain seconds (``90``, ``1.5``)."""
    from tentacular.errors import UsageError
    from tentacular.spec import duration_seconds

    if value is None:
        return default
    if isinstance(value, int | float):
        return float(value)
    text = value.strip()
    try:
        seconds = float(text) if text.replace(".", "", 1).isdigit() else duration_seconds(text)
    except ValueError:
        raise UsageError(f'invalid {flag} "{value}"', hint=f"e.g. {flag} 30s, 2m or 90") from None
    if seconds <= 0:
        raise UsageError(f"{flag} must be positive, got {value!r}", hint=f"e.g. {flag} 30s") from None
    return seconds
