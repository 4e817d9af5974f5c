"""The CLI's own command tree as neutral specs, for the MCP tools and the skill document.

It reads the Typer commands and their parameters, so a new command or option becomes a
tool and a skill entry by itself. The one module outside the CLI that may see the tree.
"""

from __future__ import annotations

import enum
import types
import typing
from pathlib import Path
from typing import Any

from tentacular.agent import CommandSpec, ParamSpec

_JSON_TYPES: dict[type, str] = {
    bool: "boolean",
    int: "integer",
    float: "number",
    str: "string",
    Path: "string",
}


def command_tree() -> list[CommandSpec]:
    """Every leaf command below ``tntc``, in ``tntc --help`` order."""
    import typer.main

    from tentacular.cli.app import app

    root = typer.main.get_command(app)
    specs: list[CommandSpec] = []

    def walk(command: Any, path: tuple[str, ...]) -> None:
        if getattr(command, "hidden", False):
            return
        children = getattr(command, "commands", None)
        if children:
            for name, child in children.items():
                walk(child, (*path, name))
            return
        params = tuple(_param(p) for p in command.params if _visible(p))
        specs.append(CommandSpec(path=path, help=(command.help or "").strip(), params=params))

    for name, command in getattr(root, "commands", {}).items():
        walk(command, (name,))
    return specs


def run_in_process(argv: list[str]) -> int:
    from tentacular.cli.main import main

    return main(argv)


def _visible(param: Any) -> bool:
    return bool(param.expose_value) and not getattr(param, "hidden", False)


def _param(param: Any) -> ParamSpec:
    annotation, multiple = _unwrap(param.type_descriptor.annotation)
    choices: tuple[str, ...] = ()
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        choices = tuple(str(member.value) for member in annotation)
        json_type = "string"
    else:
        json_type = _JSON_TYPES.get(annotation, "string") if isinstance(annotation, type) else "string"
    default = param.default
    if isinstance(default, enum.Enum):
        default = default.value
    if isinstance(default, Path):
        default = str(default)
    positional = param.param_type_name == "argument"
    flags = tuple(o for o in param.opts if o.startswith("-"))
    longest = max(flags, key=len) if flags else ""
    # Tool property names follow the flag (`--input` → input), not the Python name (input_).
    name = longest.lstrip("-").replace("-", "_") if longest and not positional else str(param.name)
    return ParamSpec(
        name=name,
        positional=positional,
        flags=flags,
        off_flags=tuple(param.secondary_opts),
        json_type=json_type,  # type: ignore[arg-type]
        choices=choices,
        multiple=multiple or bool(param.multiple),
        required=bool(param.required),
        default=default if not isinstance(default, list | tuple) else None,
        help=(getattr(param, "help", None) or "").strip(),
    )


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """``str | None`` → ``str``; ``list[str] | None`` → ``(str, True)``."""
    multiple = False
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(annotation) if a is not type(None)]
        annotation = inner[0] if len(inner) == 1 else str
        origin = typing.get_origin(annotation)
    if origin in (list, tuple):
        multiple = True
        annotation = (typing.get_args(annotation) or (str,))[0]
    return annotation, multiple
