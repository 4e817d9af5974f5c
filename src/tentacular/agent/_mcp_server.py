"""`tntc mcp`: the Model Context Protocol server (official ``mcp`` SDK), over stdio or streamable HTTP.

Tool calls run the CLI command itself (see ``_invoke``); arguments are checked against the
tool's schema first, so a malformed call is a protocol error (INVALID_PARAMS) and never
reaches a command. Imported only by ``tntc mcp``: the SDK costs ~0.6 s to import, which is
why the stdio front (``_mcp_replay``) answers a session's opening before this module loads.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import mcp_types as types
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.shared.exceptions import MCPError

from tentacular.agent._commands import CommandSpec
from tentacular.agent._invoke import InProcessRunner, invoke
from tentacular.agent._mcp_replay import StdioFront
from tentacular.agent._resources import WORKFLOW_PREFIX, WORKFLOW_TEMPLATES, list_resources, read_resource
from tentacular.agent._tools import ENVELOPE_SCHEMA, ToolInputError, ToolSpec, tool_specs
from tentacular.errors import TentacularError

INSTRUCTIONS = """\
Tentacular builds, tests and deploys secure workflows. Lifecycle as tool calls:
init -> validate -> test -> run (local) -> visualize (review the diagram and contract with the
user: the pre-build review gate) -> build -> deploy (dry_run first) -> status / logs / audit.
Every tool returns the tntc JSON envelope; on failure `error.code` is stable and `hints` say
what to do. Tools marked destructive change a cluster; undeploy needs confirm: true.
Read tntc://docs/skill for the full guide and tntc://schema/workflow for workflow.yaml."""


@dataclass(frozen=True, kw_only=True)
class McpSettings:
    commands: list[CommandSpec]
    run_in_process: InProcessRunner
    skill: Callable[[], str]
    root: Path
    version: str


def build_server(settings: McpSettings) -> Server[Any]:
    tools = {tool.name: tool for tool in tool_specs(settings.commands)}
    validators: dict[str, jsonschema.Draft202012Validator] = {}  # made on a tool's first call
    listed = [_tool_model(tool) for tool in tools.values()]

    async def on_list_tools(
        ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=listed)

    async def on_call_tool(
        ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        tool = tools.get(params.name)
        if tool is None:
            raise MCPError(
                types.INVALID_PARAMS, f"Unknown tool: {params.name}", data={"tools": sorted(tools)}
            )
        arguments = params.arguments or {}
        validator = validators.get(tool.name)
        if validator is None:
            validator = validators[tool.name] = jsonschema.Draft202012Validator(tool.input_schema)
        problems = sorted(validator.iter_errors(arguments), key=lambda e: list(e.path))
        if problems:
            details = [_describe(problem) for problem in problems]
            raise MCPError(
                types.INVALID_PARAMS, f"Invalid arguments for {tool.name}: {'; '.join(details)}", data=details
            )
        try:
            argv = tool.argv(arguments)
        except ToolInputError as refusal:
            return _result(_refusal(tool, refusal))
        count = 0

        async def progress(line: str) -> None:
            nonlocal count
            count += 1
            with contextlib.suppress(Exception):  # progress is best effort; the result is what counts
                await ctx.session.report_progress(count, None, line)

        envelope, _code = await invoke(tool, argv, run_in_process=settings.run_in_process, progress=progress)
        return _result(envelope)

    async def on_list_resources(
        ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListResourcesResult:
        return types.ListResourcesResult(
            resources=[
                types.Resource(uri=e.uri, name=e.name, description=e.description, mime_type=e.mime_type)
                for e in list_resources(settings.root)
            ]
        )

    async def on_list_resource_templates(
        ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListResourceTemplatesResult:
        return types.ListResourceTemplatesResult(
            resource_templates=[
                types.ResourceTemplate(
                    uri_template=f"{WORKFLOW_PREFIX}{{directory}}/{kind}",
                    name=f"workflow-{kind}",
                    description=f"{description}; directory relative to the server root, percent-encoded",
                    mime_type=mime,
                )
                for kind, description, mime in WORKFLOW_TEMPLATES
            ]
        )

    async def on_read_resource(
        ctx: ServerRequestContext[Any], params: types.ReadResourceRequestParams
    ) -> types.ReadResourceResult:
        uri = str(params.uri)
        try:
            text, mime = read_resource(uri, settings.root, settings.skill)
        except TentacularError as error:
            raise MCPError(types.INVALID_PARAMS, error.message, data=error.to_dict()) from None
        return types.ReadResourceResult(
            contents=[types.TextResourceContents(uri=uri, text=text, mime_type=mime)]
        )

    return Server(
        "tntc",
        version=settings.version,
        title="Tentacular",
        instructions=INSTRUCTIONS,
        on_list_tools=on_list_tools,
        on_call_tool=on_call_tool,
        on_list_resources=on_list_resources,
        on_list_resource_templates=on_list_resource_templates,
        on_read_resource=on_read_resource,
    )


def _tool_model(tool: ToolSpec) -> types.Tool:
    return types.Tool(
        name=tool.name,
        title=f"tntc {tool.command.name}",
        description=tool.description,
        input_schema=tool.input_schema,
        output_schema=ENVELOPE_SCHEMA,
        annotations=types.ToolAnnotations(
            title=f"tntc {tool.command.name}",
            read_only_hint=tool.read_only,
            destructive_hint=tool.destructive,
            idempotent_hint=tool.read_only,
            open_world_hint=False,
        ),
    )


def _describe(problem: jsonschema.ValidationError) -> str:
    where = ".".join(str(part) for part in problem.absolute_path)
    return f"{where}: {problem.message}" if where else problem.message


def _refusal(tool: ToolSpec, refusal: ToolInputError) -> dict[str, Any]:
    return {
        "version": "1",
        "command": tool.command.name,
        "status": "fail",
        "summary": refusal.message,
        "hints": [refusal.hint],
        "error": {"code": refusal.code, "message": refusal.message, "hint": refusal.hint},
    }


def _result(envelope: dict[str, Any]) -> types.CallToolResult:
    return types.CallToolResult(
        content=[types.TextContent(text=json.dumps(envelope, separators=(",", ":"), default=str))],
        structured_content=envelope,
        is_error=envelope.get("status") != "pass",
    )


async def serve_stdio(server: Server[Any], front: StdioFront) -> None:
    """The SDK's stdio transport, reading and writing through the front (which owns fd 0 and 1)."""
    import anyio
    from mcp.server.stdio import stdio_server

    stdin = anyio.wrap_file(front.sdk_input)
    stdout = anyio.wrap_file(front.sdk_output)  # type: ignore[arg-type]  # a text sink, not a real file
    async with stdio_server(stdin=stdin, stdout=stdout) as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())


def announce(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()
