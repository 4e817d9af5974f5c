"""Tools come from the command tree: every command has one, with a schema and an argv that match."""

from __future__ import annotations

import jsonschema
import pytest

from tentacular.agent._tools import (
    CHILD_PROCESS,
    DESTRUCTIVE,
    DROPPED,
    NOT_TOOLS,
    READ_ONLY,
    ToolInputError,
    tool_specs,
)
from tentacular.cli.command_tree import command_tree


def _tools() -> dict[str, object]:
    return {tool.name: tool for tool in tool_specs(command_tree())}


def test_every_command_is_a_tool_or_says_why_not() -> None:
    commands = {command.tool_name for command in command_tree()}
    tools = set(_tools())
    assert tools | set(NOT_TOOLS) == commands
    assert not tools & set(NOT_TOOLS)
    for name in ("init", "validate", "visualize", "schema", "test", "run", "build", "deploy", "status"):
        assert name in tools
    assert {"list", "logs", "audit", "undeploy", "cluster_check", "skill"} <= tools


def test_policy_tables_name_real_commands() -> None:
    commands = {command.tool_name for command in command_tree()}
    for table in (DESTRUCTIVE, READ_ONLY, CHILD_PROCESS, set(DROPPED), set(NOT_TOOLS)):
        assert set(table) <= commands, set(table) - commands
    assert not DESTRUCTIVE & READ_ONLY


def test_every_option_is_in_the_schema() -> None:
    for command in command_tree():
        if command.tool_name in NOT_TOOLS:
            continue
        tool = _tools()[command.tool_name]
        properties = tool.input_schema["properties"]  # type: ignore[attr-defined]
        for param in command.params:
            if param.name == "yes" or param.name in DROPPED.get(command.tool_name, ()):
                continue
            assert param.name in properties, (command.name, param.name)
        jsonschema.Draft202012Validator.check_schema(tool.input_schema)  # type: ignore[attr-defined]


def test_argv_follows_the_options() -> None:
    tools = _tools()
    deploy = tools["deploy"]
    argv = deploy.argv({"directory": "wf", "dry_run": True, "wait": False, "namespace": "prod"})  # type: ignore[attr-defined]
    assert argv == ["-o", "json", "--namespace", "prod", "deploy", "--dry-run", "--no-wait", "wf"]
    run = tools["run"]
    argv = run.argv({"target": "wf", "local": True, "input": {"a": [1, 2]}})  # type: ignore[attr-defined]
    assert argv == ["-o", "json", "run", "--local", "--input", '{"a": [1, 2]}', "wf"]
    assert tools["validate"].argv({"directory": "-odd"})[-2:] == ["--", "-odd"]  # type: ignore[attr-defined]
    assert tools["undeploy"].argv({"name": "wf", "confirm": True})[-2:] == ["--yes", "wf"]  # type: ignore[attr-defined]


def test_prompting_tools_need_confirm_true() -> None:
    undeploy = _tools()["undeploy"]
    with pytest.raises(ToolInputError) as refused:
        undeploy.argv({"name": "wf", "confirm": False})  # type: ignore[attr-defined]
    assert refused.value.code == "confirmation_required"
    schema = undeploy.input_schema  # type: ignore[attr-defined]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"name": "wf"}, schema)


def test_node_code_runs_in_a_child_process() -> None:
    tools = _tools()
    assert tools["run"].mode == "child-process"  # type: ignore[attr-defined]
    assert tools["test"].mode == "child-process"  # type: ignore[attr-defined]
    assert tools["validate"].mode == "in-process"  # type: ignore[attr-defined]
