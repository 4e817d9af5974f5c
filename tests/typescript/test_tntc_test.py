"""`tntc test`, `validate`, `init --lang ts` with TypeScript nodes, through the CLI as a user runs it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tentacular.cli.main import main
from tests.typescript.conftest import FlowWriter
from tests.typescript.test_engine_runs import MIXED, MIXED_EDGES

ORIGINAL_WORKFLOWS = Path(__file__).parent / "workflows"


@pytest.fixture(autouse=True)
def _capture(capsys: pytest.CaptureFixture[str]) -> None:
    global _capsys
    _capsys = capsys


_capsys: pytest.CaptureFixture[str]


def tntc(*args: str) -> tuple[int, dict[str, Any]]:
    _capsys.readouterr()
    code = main(["-o", "json", *args])
    out, _err = _capsys.readouterr()
    return code, json.loads(out)


@pytest.mark.parametrize("name", ["hn-digest", "github-digest", "uptime-prober"])
def test_workflows_written_for_the_original_validate_and_pass_unchanged(name: str, tmp_path: Path) -> None:
    directory = shutil.copytree(ORIGINAL_WORKFLOWS / name, tmp_path / name)
    code, envelope = tntc("validate", str(directory))
    assert code == 0, envelope
    assert "parsed and loaded with Deno" in json.dumps(envelope)
    code, envelope = tntc("test", str(directory))
    assert code == 0, envelope
    assert envelope["status"] == "pass"


def test_fixture_without_mocks_gets_the_original_mock_answers_recorded_for_drift(tmp_path: Path) -> None:
    directory = shutil.copytree(ORIGINAL_WORKFLOWS / "hn-digest", tmp_path / "hn")
    for extra in ("fetch-stories.mocked.json",):
        (directory / "tests" / "fixtures" / extra).unlink()
    node = directory / "nodes" / "fetch-stories.ts"
    node.write_text(
        "export default async (ctx) =>\n"
        '  (await ctx.dependency("hacker-news").fetch("/v0/topstories.json")).json();\n'
    )
    (directory / "tests" / "fixtures" / "fetch-stories.json").write_text(
        json.dumps(
            {
                "input": {},
                "expected": {"mock": True, "dependency": "hacker-news", "path": "/v0/topstories.json"},
            }
        )
    )
    code, envelope = tntc("test", f"{directory}/fetch-stories")
    assert code == 0, envelope
    assert envelope["drift"]["summary"]["dependenciesAccessed"] == ["hacker-news"]


def test_mocks_answer_the_nodes_real_requests_and_unmatched_ones_fail(make_flow: FlowWriter) -> None:
    node = """
        export default async function run(ctx, input) {
          const api = ctx.dependency("api");
          const created = await api.fetch("/v1/items?tag=a b", {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ name: input.name }),
          });
          const body = await created.json();
          if (input.extra) await api.fetch("/v1/other");
          return { status: created.status, body, header: created.headers.get("x-id") };
        }
    """
    mocks = {"api": {"POST /v1/items": {"status": 201, "headers": {"x-id": "7"}, "json": {"id": 7}}}}
    contract = {"version": "1", "dependencies": {"api": {"protocol": "https", "host": "api.example.com"}}}
    flow = make_flow(
        {"create.ts": node},
        contract=contract,
        fixtures={
            "create.json": {
                "input": {"name": "x"},
                "mocks": mocks,
                "expected": {"status": 201, "body": {"id": 7}, "header": "7"},
            },
            "create.unmatched.json": {"input": {"name": "x", "extra": True}, "mocks": mocks, "expected": {}},
        },
    )
    code, envelope = tntc("test", str(flow))
    assert code == 1
    text = json.dumps(envelope)
    assert 'no mock for GET /v1/other on dependency \\"api\\"; mocks for api: POST /v1/items' in text
    passed = {r["case"]: r["passed"] for r in envelope["results"]}
    assert passed == {"default": True, "unmatched": False}


def test_legacy_fetch_and_secrets_are_drift_violations_for_typescript(make_flow: FlowWriter) -> None:
    node = """
        export default async function run(ctx, input) {
          const token = ctx.secrets.github?.token;
          const resp = await ctx.fetch("github", "/user/repos");
          return { mock: (await resp.json()).mock, hasToken: Boolean(token) };
        }
    """
    contract = {"version": "1", "dependencies": {}}
    flow = make_flow(
        {"legacy.ts": node},
        contract=contract,
        fixtures={"legacy.json": {"input": {}, "expected": {"mock": True, "hasToken": False}}},
    )
    code, envelope = tntc("test", str(flow))
    assert code == 1, envelope  # strict enforcement: violations fail the run
    violations = {v["type"] for v in envelope["drift"]["violations"]}
    assert violations == {"direct-fetch", "direct-secrets"}
    code, envelope = tntc("test", str(flow), "--warn")
    assert code == 0


def test_pipeline_of_the_mixed_workflow(make_flow: FlowWriter) -> None:
    contract = {
        "version": "1",
        "dependencies": {"local": {"protocol": "http", "host": "127.0.0.1", "port": 18080}},
    }
    pipeline = {
        "input": {"n": 5},
        "config": {"greeting": "hey"},
        "secrets": {"local": {"token": "t"}},
        "mocks": {"local": {"POST /echo": {"json": {"echoed": True}}}},
        "expected": {"join": {"sum": 16, "order": ["left", "right"]}},
    }
    flow = make_flow(MIXED, MIXED_EDGES, contract=contract, fixtures={"pipeline.json": pipeline})
    code, envelope = tntc("test", str(flow), "--pipeline", "--warn")
    assert code == 0, envelope
    assert {r["node"]: r["passed"] for r in envelope["results"]} == dict.fromkeys(
        ("root", "left", "right", "join"), True
    )
    # The left node reads ctx.secrets (legacy) on purpose: with a contract that is drift.
    assert [w["type"] for w in envelope["drift"]["warnings"] if w["type"] != "note"] == ["direct-secrets"]
    assert envelope["drift"]["summary"]["dependenciesAccessed"] == ["local"]


def test_init_ts_then_validate_then_test(tmp_path: Path) -> None:
    target = tmp_path / "my-ts"
    code, envelope = tntc("init", "my-ts", "--lang", "ts", "--dir", str(target))
    assert code == 0, envelope
    assert (target / "nodes" / "hello.ts").is_file()
    assert "./nodes/hello.ts" in (target / "workflow.yaml").read_text()
    assert tntc("validate", str(target))[0] == 0
    code, envelope = tntc("test", str(target))
    assert code == 0, envelope


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("export default function (ctx, input) {\n  return ;;(\n}\n", "syntax error at nodes/x.ts:"),
        ("export const run = () => 1;\n", 'Node at \\"nodes/x.ts\\" must export a default async function'),
        ("export default 42;\n", "Got: number"),
    ],
)
def test_validate_reports_broken_typescript_nodes(make_flow: FlowWriter, source: str, message: str) -> None:
    flow = make_flow({"x.ts": source})
    code, envelope = tntc("validate", str(flow))
    assert code == 2
    assert message in json.dumps(envelope)


def test_validate_without_deno_says_it_only_checked_the_text(
    make_flow: FlowWriter, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tentacular.engine._deno.check as check

    monkeypatch.setattr(check, "find_deno", lambda: None)
    flow = make_flow({"x.ts": "export default () => 1;\n", "y.ts": "export const run = 1;\n"})
    code, envelope = tntc("validate", str(flow))
    assert code == 2
    assert 'Node at \\"nodes/y.ts\\" has no default export' in json.dumps(envelope)
    (flow / "nodes" / "y.ts").write_text("export default () => 2;\n")
    code, envelope = tntc("validate", str(flow))
    assert code == 0
    assert "textual check only (Deno not found" in json.dumps(envelope)


def test_visualize_a_typescript_workflow() -> None:
    code, envelope = tntc("visualize", str(ORIGINAL_WORKFLOWS / "hn-digest"))
    assert code == 0
    text = json.dumps(envelope)
    assert "fetch-stories --> filter-stories" in text and "filter-stories --> format-digest" in text


def test_deno_permissions_hold_in_tntc_test_too(make_flow: FlowWriter) -> None:
    node = """
        export default async function run(ctx, input) {
          if (input.what === "net") return (await fetch("https://undeclared.example.net/")).status;
          return Deno.readTextFileSync("/etc/hostname");
        }
    """
    contract = {"version": "1", "dependencies": {"api": {"protocol": "https", "host": "api.example.com"}}}
    flow = make_flow(
        {"sneaky.ts": node},
        contract=contract,
        fixtures={
            "sneaky.net.json": {
                "input": {"what": "net"},
                "expectError": "undeclared.example.net:443 refused",
            },
            "sneaky.read.json": {"input": {"what": "read"}, "expectError": "reading /etc/hostname refused"},
        },
    )
    code, envelope = tntc("test", str(flow), "--warn")
    assert code == 0, envelope
    assert [r["passed"] for r in envelope["results"]] == [True, True]


def test_a_failing_typescript_case_shows_the_line_of_the_node(make_flow: FlowWriter) -> None:
    source = 'export default (ctx, input) => {\n  const x = 1;\n  throw new RangeError("bad " + x);\n};\n'
    flow = make_flow({"a.ts": source}, fixtures={"a.json": {"input": {}}})
    code, envelope = tntc("test", str(flow))
    assert code == 1
    (result,) = envelope["results"]
    assert result["error"] == "RangeError: bad 1 (at nodes/a.ts:3)"
    _capsys.readouterr()
    assert main(["test", str(flow)]) == 1
    out, _err = _capsys.readouterr()
    assert (
        'in the node\'s code:\n        File "nodes/a.ts", line 3\n          throw new RangeError("bad " + x);'
        in out
    )


def test_without_contract_and_mocks_any_dependency_is_the_original_default_mock(
    make_flow: FlowWriter,
) -> None:
    ts = """
        export default async (ctx) => {
          const dep = ctx.dependency("github");
          const body = await (await dep.fetch("/user/repos")).json();
          return { host: dep.host, port: dep.port, authType: dep.authType, secret: dep.secret ?? null, body };
        };
    """
    py = (
        "async def run(ctx, input):\n"
        "    dep = ctx.dependency('github')\n"
        "    return {'host': dep.host, 'body': (await dep.fetch('/user/repos')).json()}\n"
    )
    body = {"mock": True, "dependency": "github", "path": "/user/repos"}
    flow = make_flow(
        {"ts-node.ts": ts, "py_node.py": py},
        fixtures={
            "ts-node.json": {
                "input": {},
                "expected": {
                    "host": "mock-github.example.com",
                    "port": 443,
                    "authType": "test-auth",
                    "secret": None,
                    "body": body,
                },
            },
            "py-node.json": {"input": {}, "expected": {"host": "mock-github.example.com", "body": body}},
        },
    )
    code, envelope = tntc("test", str(flow))
    assert code == 0, envelope
    assert [r["passed"] for r in envelope["results"]] == [True, True]
