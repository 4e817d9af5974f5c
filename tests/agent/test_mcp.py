"""`tntc mcp` end to end, with the mcp SDK's client over stdio and streamable HTTP."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from mcp.shared.exceptions import MCPError

from tentacular.cli.command_tree import command_tree
from tests.agent.conftest import TNTC, TOKEN, http_client, stdio_client


async def _call(
    client: Any, tools: dict[str, Any], name: str, arguments: dict[str, Any], **options: Any
) -> Any:
    """Call a tool after checking the arguments against its advertised schema."""
    jsonschema.Draft202012Validator(tools[name].input_schema).validate(arguments)
    result = await client.call_tool(name, arguments, **options)
    envelope = result.structured_content
    assert isinstance(envelope, dict), result
    jsonschema.Draft202012Validator(tools[name].output_schema).validate(envelope)
    assert json.loads(result.content[0].text) == envelope
    return result


async def _lifecycle(client: Any) -> None:
    listed = (await client.list_tools()).tools
    tools = {tool.name: tool for tool in listed}
    expected = {c.tool_name for c in command_tree()} - {"dev", "mcp"}
    assert set(tools) == expected

    created = await _call(client, tools, "init", {"name": "hello-flow"})
    assert not created.is_error, created.structured_content
    assert created.structured_content["command"] == "init"
    assert "workflow.yaml" in " ".join(created.structured_content["files"])

    validated = await _call(client, tools, "validate", {"directory": "hello-flow"})
    assert not validated.is_error
    assert validated.structured_content["workflow"]["name"] == "hello-flow"

    progress: list[str] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(message or "")

    tested = await _call(client, tools, "test", {"target": "hello-flow"}, progress_callback=on_progress)
    assert not tested.is_error, tested.structured_content
    assert tested.structured_content["status"] == "pass"

    ran = await _call(
        client,
        tools,
        "run",
        {"target": "hello-flow", "local": True, "input": {"who": "agent"}},
        progress_callback=on_progress,
    )
    assert not ran.is_error, ran.structured_content
    assert ran.structured_content["execution"]["outputs"]["hello"] == {"message": "Hello from hello-flow!"}
    assert any("Running hello-flow" in line for line in progress), progress

    planned = await _call(client, tools, "deploy", {"directory": "hello-flow", "dry_run": True})
    assert not planned.is_error, planned.structured_content
    kinds = [obj["kind"] for obj in planned.structured_content["objects"]]
    assert "Deployment" in kinds and "ConfigMap" in kinds

    drawn = await _call(client, tools, "visualize", {"directory": "hello-flow", "rich": True})
    assert drawn.structured_content["mermaid"].startswith("```mermaid")

    # Failures keep their stable codes and hints.
    missing = await _call(client, tools, "validate", {"directory": "no-such-dir"})
    assert missing.is_error
    assert missing.structured_content["error"]["code"] == "workflow_not_found"
    assert missing.structured_content["hints"]


async def test_lifecycle_over_stdio(tmp_path: Path) -> None:
    async with stdio_client(tmp_path) as client:
        await _lifecycle(client)


async def test_lifecycle_over_streamable_http(http_server: str, tmp_path: Path) -> None:
    async with http_client(http_server) as client:
        await _lifecycle(client)


async def test_http_without_the_token_is_refused(http_server: str) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    async with httpx.AsyncClient() as http:
        anonymous = await http.post(http_server, json=body)
        wrong = await http.post(http_server, json=body, headers={"Authorization": "Bearer nope"})
    assert anonymous.status_code == 401
    assert wrong.status_code == 401
    assert anonymous.json()["error"]["code"] == "unauthorized"


def test_http_beyond_loopback_needs_a_token(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "TNTC_MCP_TOKEN"}
    result = subprocess.run(
        [*TNTC, "mcp", "--http", "0.0.0.0:0", "-o", "json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    envelope = json.loads(result.stdout)
    assert envelope["error"]["code"] == "usage"
    assert "TNTC_MCP_TOKEN" in envelope["error"]["hint"]


async def test_protocol_errors_never_crash_the_server(tmp_path: Path) -> None:
    async with stdio_client(tmp_path) as client:
        with pytest.raises(MCPError) as unknown:
            await client.call_tool("no_such_tool", {})
        assert "Unknown tool" in unknown.value.message
        with pytest.raises(MCPError) as extra:
            await client.call_tool("validate", {"bogus": 1})
        assert "bogus" in extra.value.message
        with pytest.raises(MCPError) as typed:
            await client.call_tool("logs", {"name": "x", "tail": "many"})
        assert "tail" in typed.value.message
        with pytest.raises(MCPError):
            await client.call_tool("undeploy", {"name": "x"})  # confirm is required
        refused = await client.call_tool("undeploy", {"name": "x", "confirm": False})
        assert refused.is_error
        assert refused.structured_content["error"]["code"] == "confirmation_required"
        with pytest.raises(MCPError):
            await client.read_resource("tntc://nowhere")
        with pytest.raises(MCPError) as outside:
            await client.read_resource("tntc://workflow/..%2F..%2F..%2Fetc/diagram")
        assert "outside" in outside.value.message
        # Still serving after all that.
        assert (await client.call_tool("version", {})).structured_content["command"] == "version"


def test_malformed_json_rpc_gets_an_error_not_a_crash(tmp_path: Path) -> None:
    lines = [
        "this is not json",
        json.dumps({"jsonrpc": "2.0", "id": 7, "method": "no/such/method", "params": {}}),
        json.dumps(
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "initialize",
                "params": {
                    "protocolVersion": "2025-06-18",
                    "capabilities": {},
                    "clientInfo": {"name": "raw", "version": "0"},
                },
            }
        ),
    ]
    result = subprocess.run(
        [*TNTC, "mcp"],
        input="\n".join(lines) + "\n",
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    answers = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    by_id = {answer.get("id"): answer for answer in answers}
    assert by_id[1]["result"]["serverInfo"]["name"] == "tntc"
    assert "error" in by_id[7]
    assert "Traceback" not in result.stderr


async def test_destructive_tools_are_annotated(tmp_path: Path) -> None:
    async with stdio_client(tmp_path) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    for name in ("deploy", "undeploy"):
        assert tools[name].annotations.destructive_hint is True
        assert tools[name].annotations.read_only_hint is False
    assert tools["validate"].annotations.read_only_hint is True
    assert tools["validate"].annotations.destructive_hint is False
    assert "confirm" in tools["undeploy"].input_schema["required"]
    assert "yes" not in tools["undeploy"].input_schema["properties"]
    assert "follow" not in tools["logs"].input_schema["properties"]


async def test_resources(tmp_path: Path) -> None:
    from tests.conftest import EXAMPLES

    workflow = tmp_path / "flows" / "word-counter"
    workflow.parent.mkdir()
    subprocess.run(["cp", "-r", str(EXAMPLES / "word-counter"), str(workflow)], check=True)
    async with stdio_client(tmp_path) as client:
        uris = {resource.uri for resource in (await client.list_resources()).resources}
        assert "tntc://schema/workflow" in uris
        assert "tntc://docs/skill" in uris
        assert "tntc://docs/cli" in uris
        diagram_uri = "tntc://workflow/flows%2Fword-counter/diagram"
        assert diagram_uri in uris
        schema = json.loads((await client.read_resource("tntc://schema/workflow")).contents[0].text)
        assert schema["title"] == "Workflow"
        diagram = (await client.read_resource(diagram_uri)).contents[0].text
        assert "flowchart LR" in diagram and "tokenize" in diagram
        contract = (
            (await client.read_resource("tntc://workflow/flows%2Fword-counter/contract")).contents[0].text
        )
        assert contract.strip()
        skill = (await client.read_resource("tntc://docs/skill")).contents[0].text
        assert skill.startswith("---\nname: tentacular\n")
        templates = (await client.list_resource_templates()).resource_templates
        assert {t.uri_template for t in templates} == {
            "tntc://workflow/{directory}/diagram",
            "tntc://workflow/{directory}/contract",
        }


def test_token_is_not_a_command_line_option() -> None:
    # A token on the command line would be visible to every user in `ps`.
    mcp = next(c for c in command_tree() if c.name == "mcp")
    assert not any(p.name == "token" for p in mcp.params)
    assert TOKEN not in " ".join(p.help for p in mcp.params)


async def test_concurrent_calls_do_not_mix_their_output(tmp_path: Path) -> None:
    import anyio

    from tests.conftest import EXAMPLES

    names = ["word-counter", "hn-digest", "repo-digest"]
    answers: dict[str, Any] = {}
    async with stdio_client(tmp_path) as client:

        async def validate(name: str) -> None:
            answers[name] = await client.call_tool("validate", {"directory": str(EXAMPLES / name)})

        async with anyio.create_task_group() as group:
            for name in names * 2:
                group.start_soon(validate, name)
    for name in names:
        assert answers[name].structured_content["workflow"]["name"] == name


async def test_catalog_tools_and_init_from(tmp_path: Path) -> None:
    async with stdio_client(tmp_path) as client:
        listed = await client.call_tool("catalog_list", {"catalog": "builtin"})
        names = {t["name"] for t in listed.structured_content["templates"]}
        assert "word-counter" in names
        created = await client.call_tool("init", {"name": "counted", "from": "builtin:word-counter"})
        assert not created.is_error, created.structured_content
        tested = await client.call_tool("test", {"target": "counted"})
        assert tested.structured_content["status"] == "pass", tested.structured_content
        missing = await client.call_tool("catalog_info", {"template": "builtin:no-such"})
        assert missing.is_error and missing.structured_content["error"]["code"] == "catalog"
