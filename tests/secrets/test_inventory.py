"""The required-secret inventory: contract references plus ctx.secrets reads in Python and TypeScript."""

from __future__ import annotations

from pathlib import Path

from tentacular.spec import load_workflow
from tentacular.spec._secret_refs import required_keys, required_secrets, scan_python, scan_typescript


def test_python_access_forms() -> None:
    source = (
        "async def run(ctx, input):\n"
        '    a = ctx.secrets["github"]["token"]\n'
        '    b = ctx.secrets.get("slack", {}).get("webhook_url")\n'
        '    c = ctx.secrets["db"].get("password")\n'
        '    d = ctx.secrets.get("legacy")\n'
        "    e = ctx.secrets[name]\n"  # computed: invisible to a static scan
        '    f = other.secrets["not-ctx"]\n'
    )
    found = scan_python(source, "nodes/n.py")
    assert [(r.ref, r.where) for r in found] == [
        ("github.token", "nodes/n.py:2"),
        ("slack.webhook_url", "nodes/n.py:3"),
        ("db.password", "nodes/n.py:4"),
        ("legacy", "nodes/n.py:5"),
    ]


def test_python_syntax_error_yields_nothing() -> None:
    assert scan_python("def broken(:\n", "nodes/x.py") == []


def test_typescript_access_forms() -> None:
    source = (
        "export default async function run(ctx: Context, input: unknown) {\n"
        "  const a = ctx.secrets.github.token;\n"
        "  const b = ctx.secrets?.slack?.webhook_url;\n"
        '  const c = ctx.secrets["db"]["password"];\n'
        "  const d = ctx.secrets?.['api-key']?.value;\n"
        "  const e = ctx.secrets.legacy;\n"
        "}\n"
    )
    found = scan_typescript(source, "nodes/n.ts")
    assert [(r.ref, r.where) for r in found] == [
        ("github.token", "nodes/n.ts:2"),
        ("slack.webhook_url", "nodes/n.ts:3"),
        ("db.password", "nodes/n.ts:4"),
        ("api-key.value", "nodes/n.ts:5"),
        ("legacy", "nodes/n.ts:6"),
    ]


def test_inventory_joins_contract_and_code(flow: Path) -> None:
    (flow / "nodes" / "_helper.ts").write_text(
        "const t = ctx.secrets.github.token; const x = ctx.secrets.extra;\n"
    )
    loaded = load_workflow(flow)
    found = required_secrets(loaded.workflow, flow)
    assert ("github.token", "contract", "contract.dependencies.github.auth.secret") in [
        (r.ref, r.origin, r.where) for r in found
    ]
    assert {r.ref for r in found if r.origin == "code"} == {"slack.webhook_url", "github.token", "extra"}
    assert required_keys(found) == ["extra", "github.token", "slack.webhook_url"]
