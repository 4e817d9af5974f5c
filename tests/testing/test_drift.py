"""Contract drift (F-129…F-134): each violation type from a purpose-built workflow; Q25 scoping."""

from __future__ import annotations

from pathlib import Path

import pytest

from tentacular.testing._runner import run_tests
from tests.conftest import EXAMPLES
from tests.testing.conftest import HTTPS_API, BuildWorkflow

UNDECLARED = """
    async def run(ctx, input):
        try:
            ctx.dependency("stripe")
        except KeyError:
            return {"degraded": True}
"""
DIRECT_FETCH = """
    async def run(ctx, input):
        response = await ctx.fetch("github", "/user")
        return response.json()
"""
DIRECT_SECRETS = """
    async def run(ctx, input):
        return {"configured": bool(ctx.secrets.get("api", {}).get("token"))}
"""
USES_API = """
    async def run(ctx, input):
        return (await ctx.dependency("api").fetch("/ping")).json()
"""
QUIET = "async def run(ctx, input):\n    return {}\n"
API_MOCK = {"api": {"GET /ping": {"json": {"pong": True}}}}


def _drift_workflow(make_wf: BuildWorkflow, node: str, **kwargs: object) -> Path:
    return make_wf({"subject": node}, fixtures={"subject.json": {"input": {}, **kwargs}}, dependencies={})


@pytest.mark.parametrize(
    ("node", "kind", "message", "suggestion"),
    [
        (
            UNDECLARED,
            "undeclared-dependency",
            'Dependency "stripe" accessed but not declared in contract',
            'Add "stripe" to contract.dependencies in workflow.yaml',
        ),
        (
            DIRECT_FETCH,
            "direct-fetch",
            'Direct ctx.fetch("github", "/user") bypasses contract',
            'Use ctx.dependency("github").fetch("/user") instead',
        ),
        (
            DIRECT_SECRETS,
            "direct-secrets",
            'Direct ctx.secrets["api"] access bypasses contract',
            'Use ctx.dependency("api").secret instead',
        ),
    ],
)
def test_each_access_violation_is_flagged(
    make_wf: BuildWorkflow, node: str, kind: str, message: str, suggestion: str
) -> None:
    directory = _drift_workflow(make_wf, node)
    report = run_tests(directory)
    assert all(r.passed for r in report.results), "the node itself works; only the contract drifted"
    (finding,) = report.drift.findings
    assert (finding.type, finding.message, finding.suggestion) == (kind, message, suggestion)
    assert finding.nodes == ("subject",)
    assert report.drift.failed and not report.ok  # strict by default
    audit = run_tests(directory, enforcement="audit")
    assert audit.ok and audit.drift.findings  # --warn: reported, not failing
    assert audit.drift.to_dict()["violations"] == []
    assert audit.drift.to_dict()["warnings"][0]["type"] == kind


def test_dead_declaration(make_wf: BuildWorkflow) -> None:
    directory = make_wf(
        {"fetch": USES_API},
        dependencies={"api": HTTPS_API, "legacy-crm": {"protocol": "https", "host": "crm.example.com"}},
        fixtures={"fetch.json": {"input": {}, "mocks": API_MOCK}},
    )
    report = run_tests(directory)
    (finding,) = report.drift.findings
    assert finding.type == "dead-declaration"
    assert finding.message == 'Dependency "legacy-crm" declared in contract but never accessed'
    assert report.drift.to_dict()["summary"]["deadDeclarations"] == 1
    assert not report.ok


def test_single_node_run_does_not_call_other_nodes_dependencies_dead(make_wf: BuildWorkflow) -> None:
    directory = make_wf(
        {
            "fetch": USES_API,
            "notify": 'async def run(ctx, input):\n    ctx.dependency("slack")\n    return {}\n',
        },
        edges=[("fetch", "notify")],
        dependencies={"api": HTTPS_API, "slack": {"protocol": "https", "host": "hooks.slack.com"}},
        fixtures={"fetch.json": {"input": {}, "mocks": API_MOCK}, "notify.json": {"input": {}}},
    )
    single = run_tests(directory / "fetch")
    assert single.ok, single.drift.to_dict()
    assert single.drift.exercised_nodes == ["fetch"]
    assert any('"slack" not checked for dead declaration' in note for note in single.drift.notes)
    assert run_tests(directory).ok  # the full run exercises both


def test_single_node_run_still_reports_a_dependency_no_code_names(make_wf: BuildWorkflow) -> None:
    directory = make_wf(
        {"fetch": USES_API, "other": QUIET},
        dependencies={"api": HTTPS_API, "orphan": {"protocol": "https", "host": "orphan.example.com"}},
        fixtures={"fetch.json": {"input": {}, "mocks": API_MOCK}},
    )
    report = run_tests(directory / "fetch")
    assert [f.message for f in report.drift.findings] == [
        'Dependency "orphan" declared in contract but never accessed'
    ]


def test_helper_modules_count_as_the_importing_node(make_wf: BuildWorkflow) -> None:
    report = run_tests(EXAMPLES / "repo-digest" / "compose")
    assert report.ok
    assert report.drift.findings == []  # github is named in _github.py, imported by the fetch nodes
    assert any('"github"' in note and "fetch-issues, fetch-pulls" in note for note in report.drift.notes)


def test_pipeline_run_feeds_drift(make_wf: BuildWorkflow) -> None:
    directory = make_wf(
        {"start": DIRECT_FETCH},
        dependencies={},
        fixtures={"pipeline.json": {"input": {}}},
    )
    report = run_tests(directory, pipeline=True)
    assert [f.type for f in report.drift.findings] == ["direct-fetch"]
    assert not report.ok


def test_without_contract_drift_is_skipped_with_a_note(make_wf: BuildWorkflow) -> None:
    directory = make_wf({"subject": DIRECT_FETCH}, contract=False, fixtures={"subject.json": {"input": {}}})
    report = run_tests(directory)
    assert report.ok
    assert not report.drift.has_contract
    assert "legacy mode" in report.drift.notes[0]
