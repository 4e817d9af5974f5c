"""A neutral description of the CLI's command tree: what the MCP tools and the skill are made from.

The CLI fills these in by introspecting its own Typer commands (``cli/command_tree.py``), so
a new command or option shows up as a tool and in the skill document without a second list.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

JsonType = Literal["string", "integer", "number", "boolean"]


@dataclass(frozen=True, kw_only=True)
class ParamSpec:
    """One argument or option of a command."""

    name: str
    positional: bool
    flags: tuple[str, ...] = ()
    off_flags: tuple[str, ...] = ()
    json_type: JsonType = "string"
    choices: tuple[str, ...] = ()
    multiple: bool = False
    required: bool = False
    default: Any = None
    help: str = ""

    @property
    def flag(self) -> str:
        """The longest spelling (``--dry-run`` rather than ``-d``)."""
        return max(self.flags, key=len) if self.flags else self.name

    @property
    def is_flag(self) -> bool:
        return self.json_type == "boolean" and not self.positional


@dataclass(frozen=True, kw_only=True)
class CommandSpec:
    """One leaf command: its path below ``tntc`` (``("cluster", "check")``), help and parameters."""

    path: tuple[str, ...]
    help: str
    params: tuple[ParamSpec, ...]

    @property
    def name(self) -> str:
        return " ".join(self.path)

    @property
    def tool_name(self) -> str:
        return "_".join(part.replace("-", "_") for part in self.path)

    def param(self, name: str) -> ParamSpec | None:
        return next((p for p in self.params if p.name == name), None)
