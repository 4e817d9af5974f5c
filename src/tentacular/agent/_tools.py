"""MCP tools from CLI commands: one tool per command, its JSON input schema, and its argv.

Every command becomes a tool unless :data:`NOT_TOOLS` says why not. What is decided here
(and nowhere else) is the policy a schema cannot express: which tools change a cluster,
which run node code (those run in a child process), which would prompt a person and
therefore take ``confirm: true`` instead.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from tentacular.agent._commands import CommandSpec, ParamSpec

# Commands that are not tools, and why (the tool-tree test reads this).
NOT_TOOLS: dict[str, str] = {
    "dev": "serves a workflow until stopped; start it in a terminal",
    "mcp": "is this server",
}
# They change or delete what runs in a cluster.
DESTRUCTIVE = frozenset(
    {"deploy", "undeploy", "rollback", "secrets_sync", "release_apply", "release_promote"}
)
# They only read: files, the cluster, or the catalog.
READ_ONLY = frozenset(
    {"version", "validate", "schema", "status", "list", "logs", "audit", "skill"}
    | {"catalog_list", "catalog_search", "catalog_info", "secrets_check", "secrets_diff"}
    | {"versions", "release_plan", "release_show"}
)
# They run node code. The runtime guard (and later the kernel layer) is installed into the
# process that runs nodes and cannot be removed again, so these never run inside the server.
CHILD_PROCESS = frozenset({"run", "test"})
# Options that would make a call never return.
DROPPED: dict[str, frozenset[str]] = {"logs": frozenset({"follow"})}
# Options whose value may be any JSON (sent to the command as JSON text).
JSON_VALUED = frozenset({"input"})
CONFIRM_PARAM = "yes"  # a command that prompts has -y/--yes; the tool asks for confirm: true
GLOBAL_PARAMS: tuple[ParamSpec, ...] = (
    ParamSpec(
        name="namespace",
        positional=False,
        flags=("-n", "--namespace"),
        help="Kubernetes namespace (global option).",
    ),
    ParamSpec(
        name="env", positional=False, flags=("--env",), help="Named environment from the config files."
    ),
)

ENVELOPE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "The tntc JSON envelope (docs/cli.md); command fields follow the common ones.",
    "properties": {
        "version": {"type": "string"},
        "command": {"type": "string"},
        "status": {"enum": ["pass", "fail"]},
        "summary": {"type": "string"},
        "hints": {"type": "array", "items": {"type": "string"}},
        "timing": {"type": "object"},
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "hint": {"type": "string"},
            },
            "required": ["code", "message"],
        },
    },
    "required": ["version", "command", "status", "summary", "hints"],
}


class ToolInputError(ValueError):
    """Arguments a schema accepts but the command cannot take (e.g. ``confirm: false``)."""

    def __init__(self, code: str, message: str, hint: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.hint = hint


@dataclass(frozen=True, kw_only=True)
class ToolSpec:
    """A tool and how to call its command."""

    name: str
    command: CommandSpec
    description: str
    input_schema: dict[str, Any]
    params: tuple[ParamSpec, ...]
    mode: Literal["in-process", "child-process"]
    destructive: bool
    read_only: bool
    needs_confirm: bool

    def argv(self, arguments: dict[str, Any]) -> list[str]:
        """The command line for ``arguments`` (already checked against :attr:`input_schema`)."""
        if self.needs_confirm and arguments.get("confirm") is not True:
            raise ToolInputError(
                "confirmation_required",
                f"{self.name} asks for confirmation: call it again with confirm: true",
                "ask the user first; confirm: true stands for their yes",
            )
        front = ["-o", "json"]
        options: list[str] = []
        positionals: list[str] = []
        for param in self.params:
            if param.name not in arguments:
                continue
            value = arguments[param.name]
            if value is None:
                continue
            target = front if param in GLOBAL_PARAMS else options
            if param.positional:
                positionals.append(_text(param, value))
            elif param.is_flag:
                if value:
                    target.append(param.flag)
                elif param.off_flags:
                    target.append(max(param.off_flags, key=len))
            elif param.multiple:
                for item in value:
                    target.extend([param.flag, _text(param, item)])
            else:
                target.extend([param.flag, _text(param, value)])
        if self.needs_confirm:
            options.append("--yes")
        separator = ["--"] if any(p.startswith("-") for p in positionals) else []
        return [*front, *self.command.path, *options, *separator, *positionals]


def _text(param: ParamSpec, value: Any) -> str:
    if param.name in JSON_VALUED and not isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def tool_specs(commands: list[CommandSpec]) -> list[ToolSpec]:
    """Every command that is a tool, in command-tree order."""
    return [tool_for(command) for command in commands if command.tool_name not in NOT_TOOLS]


def tool_for(command: CommandSpec) -> ToolSpec:
    name = command.tool_name
    dropped = DROPPED.get(name, frozenset())
    own = tuple(p for p in command.params if p.name not in dropped and p.name != CONFIRM_PARAM)
    needs_confirm = command.param(CONFIRM_PARAM) is not None
    params = own + GLOBAL_PARAMS
    properties = {p.name: _property(p) for p in params}
    required = [p.name for p in params if p.required]
    if needs_confirm:
        properties["confirm"] = {
            "type": "boolean",
            "description": "Must be true: the user agreed (the CLI would prompt for it).",
        }
        required.append("confirm")
    schema: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = required
    mode: Literal["in-process", "child-process"] = "child-process" if name in CHILD_PROCESS else "in-process"
    description = f"tntc {command.name}: {command.help}".rstrip()
    if name in DESTRUCTIVE:
        description += " Changes the cluster."
    description += " Returns the tntc JSON envelope."
    return ToolSpec(
        name=name,
        command=command,
        description=description,
        input_schema=schema,
        params=params,
        mode=mode,
        destructive=name in DESTRUCTIVE,
        read_only=name in READ_ONLY,
        needs_confirm=needs_confirm,
    )


def _property(param: ParamSpec) -> dict[str, Any]:
    schema: dict[str, Any]
    if param.name in JSON_VALUED:
        schema = {"description": param.help + " Any JSON value, or a JSON text / @file."}
        return schema
    item: dict[str, Any] = {"type": param.json_type}
    if param.choices:
        item["enum"] = list(param.choices)
    schema = {"type": "array", "items": item} if param.multiple else dict(item)
    if param.help:
        schema["description"] = param.help
    if param.default is not None and not param.multiple and not param.required:
        schema["default"] = (
            param.default if isinstance(param.default, bool | int | float) else str(param.default)
        )
    return schema
