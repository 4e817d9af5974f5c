"""Node cases and the pipeline run: results, diffs, the node's own traceback, unmatched mocks."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tentacular.errors import InputError, WorkflowNotFoundError
from tentacular.testing._runner import parse_target, run_node_tests, run_pipeline_test, run_tests
from tests.conftest import EXAMPLES
from tests.testing.conftest import HTTPS_API, BuildWorkflow

BOOM = """
    def helper(value):
        return 1 / value


    async def run(ctx, input):
        return helper(0)
"""
BAD_AFTER_A_MOMENT = """
    import asyncio


    async def run(ctx, input):
        await asyncio.sleep(0.05)  # long enough for its sibling to have started
        raise ValueError("nope")
"""
EXAMPLE_NAMES = sorted(p.name for p in EXAMPLES.iterdir() if (p / "workflow.yaml").is_file())


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
@pytest.mark.parametrize("pipeline", [False, True], ids=["nodes", "pipeline"])
def test_every_example_workflow_passes_offline(name: str, pipeline: bool) -> None:
    report = run_tests(EXAMPLES / name, pipeline=pipeline)
    assert report.ok, [(r.name, r.error) for r in report.failed]
    assert report.executed, "no case ran"
    assert not any(r.skipped for r in report.results), "every example node has fixtures"
    assert not report.drift.findings


def test_example_pipelines_check_expectations() -> None:
    report = run_tests(EXAMPLES / "hn-digest", pipeline=True)
    digest = next(r for r in report.results if r.node == "format-digest")
    assert digest.has_expected
    assert digest.actual == {"count": 1, "digest": "1. Big news (500 points) https://n.example"}


def test_wrong_expectation_names_the_path_and_both_values(make_wf: BuildWorkflow) -> None:
    directory = make_wf(
        {"score": "async def run(ctx, input):\n    return {'items': [{'score': input['n'] * 2}]}\n"},
        fixtures={"score.json": {"input": {"n": 150}, "expected": {"items": [{"score": 301}]}}},
    )
    report = asyncio.run(run_node_tests(directory))
    (result,) = report.results
    assert not result.passed and not report.ok
    assert result.difference is not None
    assert result.difference.path == "$.items[0].score"
    assert (result.difference.expected, result.difference.actual) == (301, 300)
    assert "expected: 301" in (result.error or "") and "actual:   300" in (result.error or "")
    assert result.to_dict()["expected"] == {"items": [{"score": 301}]}
    assert result.to_dict()["actual"] == {"items": [{"score": 300}]}


def test_a_raising_node_shows_its_own_file_and_line(make_wf: BuildWorkflow) -> None:
    directory = make_wf(
        {"boom": BOOM},
        fixtures={"boom.json": {"input": {}}},
    )
    (result,) = asyncio.run(run_node_tests(directory)).results
    assert result.error == "ZeroDivisionError: division by zero"
    assert result.traceback == [
        'File "nodes/boom.py", line 6, in run',
        "  return helper(0)",
        'File "nodes/boom.py", line 2, in helper',
        "  return 1 / value",
    ]
    assert not any("site-packages" in line or "tentacular" in line for line in result.traceback)


def test_unmatched_request_fails_even_when_the_node_swallows_it(make_wf: BuildWorkflow) -> None:
    node = """
        async def run(ctx, input):
            try:
                await ctx.dependency("api").fetch("/v2/items")
            except Exception:
                return {"items": []}
    """
    directory = make_wf(
        {"fetch": node},
        dependencies={"api": HTTPS_API},
        fixtures={"fetch.json": {"input": {}, "mocks": {"api": {"GET /v1/items": {"json": []}}}}},
    )
    (result,) = asyncio.run(run_node_tests(directory)).results
    assert not result.passed
    assert "api: GET /v2/items" in (result.error or "")
    assert "METHOD /path" in (result.hint or "")


def test_unmatched_request_message_lists_available_mocks(make_wf: BuildWorkflow) -> None:
    node = 'async def run(ctx, input):\n    return (await ctx.dependency("api").fetch("/v2/items")).json()\n'
    mocks = {"api": {"GET /v1/items": {"json": []}, "POST /v1/items": {"status": 201}}}
    directory = make_wf(
        {"fetch": node},
        dependencies={"api": HTTPS_API},
        fixtures={"fetch.json": {"input": {}, "mocks": mocks}},
    )
    (result,) = asyncio.run(run_node_tests(directory)).results
    assert 'no mock for GET /v2/items on dependency "api"; mocks for api: GET /v1/items, POST /v1/items' in (
        result.error or ""
    )


def test_expect_error_cases(make_wf: BuildWorkflow) -> None:
    node = """
        async def run(ctx, input):
            if input.get("fail"):
                raise ValueError("bad input")
            return 1
    """
    directory = make_wf(
        {"check": node},
        fixtures={
            "check.fails.json": {"input": {"fail": True}, "expectError": "bad input"},
            "check.other-error.json": {"input": {"fail": True}, "expectError": "timeout"},
            "check.no-error.json": {"input": {}, "expectError": "bad input"},
            "check.no-expectation.json": {"input": {}},
        },
    )
    results = {r.case: r for r in asyncio.run(run_node_tests(directory)).results}
    assert results["fails"].passed
    assert not results["other-error"].passed
    assert "got: ValueError: bad input" in (results["other-error"].error or "")
    assert not results["no-error"].passed
    assert "but the node returned a value" in (results["no-error"].error or "")
    assert results["no-expectation"].passed  # absent expected: only "does not raise"


def test_broken_node_fails_its_cases_with_file_and_line(make_wf: BuildWorkflow) -> None:
    directory = make_wf(
        {
            "ok": "async def run(ctx, input):\n    return 1\n",
            "broken": "async def run(ctx, input)\n    return 1\n",
        },
        fixtures={"ok.json": {"input": {}, "expected": 1}, "broken.json": {"input": {}}},
    )
    results = {r.node: r for r in asyncio.run(run_node_tests(directory)).results}
    assert results["ok"].passed
    assert "syntax error at nodes/broken.py:1" in (results["broken"].error or "")
    assert results["broken"].traceback[0] == 'File "nodes/broken.py", line 1'


def test_output_must_be_json(make_wf: BuildWorkflow) -> None:
    directory = make_wf(
        {"odd": "async def run(ctx, input):\n    return {'when': object()}\n"},
        fixtures={"odd.json": {"input": {}}},
    )
    (result,) = asyncio.run(run_node_tests(directory)).results
    assert "not JSON-serialisable" in (result.error or "")


def test_plain_def_nodes_run_and_config_layers_over_workflow_config(make_wf: BuildWorkflow) -> None:
    node = "def run(ctx, input):\n    return {'a': ctx.config['a'], 'b': ctx.config['b']}\n"
    directory = make_wf(
        {"sync": node},
        config={"a": 1, "b": 2},
        fixtures={"sync.json": {"input": {}, "config": {"b": 3}, "expected": {"a": 1, "b": 3}}},
    )
    assert asyncio.run(run_node_tests(directory)).ok


def test_nodes_without_fixtures_and_orphan_fixtures(make_wf: BuildWorkflow) -> None:
    directory = make_wf(
        {
            "fetch": "async def run(ctx, input):\n    return 1\n",
            "other": "async def run(ctx, input):\n    return 2\n",
        },
        fixtures={"fetch.json": {"input": {}, "expected": 1}, "fetch-data.json": {"input": {}}},
    )
    report = asyncio.run(run_node_tests(directory))
    by_node = {r.node: r for r in report.results}
    assert by_node["fetch"].passed
    assert by_node["other"].skipped and by_node["other"].passed
    assert not by_node["fetch-data"].passed  # Q24: not silently run as a "fetch" case, not silently ignored
    assert "matches no node" in (by_node["fetch-data"].error or "")
    assert "nodes without fixtures: other" in report.notes


def test_malformed_fixture_fails_only_its_case(make_wf: BuildWorkflow) -> None:
    directory = make_wf(
        {"n": "async def run(ctx, input):\n    return 1\n"},
        fixtures={"n.json": {"input": {}, "expected": 1}, "n.bad.json": '{"input": '},
    )
    results = {r.case: r for r in asyncio.run(run_node_tests(directory)).results}
    assert results["default"].passed
    assert "invalid fixture" in (results["bad"].error or "") and "n.bad.json" in (results["bad"].error or "")


def test_secrets_are_redacted_from_results(make_wf: BuildWorkflow) -> None:
    node = "async def run(ctx, input):\n    raise RuntimeError('token is ' + ctx.dependency('api').secret)\n"
    directory = make_wf(
        {"leak": node},
        dependencies={"api": HTTPS_API},
        fixtures={"leak.json": {"input": {}, "secrets": {"api": {"token": "very-secret-value"}}}},
    )
    (result,) = asyncio.run(run_node_tests(directory)).results
    assert "very-secret-value" not in str(result.to_dict())
    assert "[redacted]" in (result.error or "")


def test_pipeline_reports_failed_cancelled_and_not_run_nodes(make_wf: BuildWorkflow) -> None:
    directory = make_wf(
        {
            "start": "async def run(ctx, input):\n    return input\n",
            "bad": BAD_AFTER_A_MOMENT,
            "slow": "import asyncio\n\nasync def run(ctx, input):\n    await asyncio.sleep(5)\n",
            "end": "async def run(ctx, input):\n    return 1\n",
        },
        edges=[("start", "bad"), ("start", "slow"), ("bad", "end"), ("slow", "end")],
        fixtures={"pipeline.json": {"input": {"x": 1}, "expected": {"start": {"x": 1}}}},
    )
    report = asyncio.run(run_pipeline_test(directory))
    by_node = {r.node: r for r in report.results}
    assert by_node["start"].passed
    assert by_node["bad"].error == "ValueError: nope"
    assert by_node["bad"].traceback[0] == 'File "nodes/bad.py", line 6, in run'
    assert by_node["slow"].error == "cancelled: another node failed first"
    assert by_node["end"].error == "not run: the run stopped at the first failure"
    assert report.summary == "drift-lab: 3 of 4 pipeline nodes failed"


def test_target_parsing(make_wf: BuildWorkflow, monkeypatch: pytest.MonkeyPatch) -> None:
    directory = make_wf({"n": "async def run(ctx, input):\n    return 1\n"})
    assert parse_target(directory) == (directory, None)
    assert parse_target(directory / "n") == (directory, "n")
    monkeypatch.chdir(directory)
    assert parse_target("n") == (Path(), "n")
    assert parse_target(None) == (Path(), None)
    with pytest.raises(WorkflowNotFoundError, match="neither a workflow directory"):
        parse_target(directory / "missing" / "n")
    with pytest.raises(InputError, match='Node "zzz" is not defined'):
        run_tests(directory / "zzz")
    with pytest.raises(InputError, match="--pipeline runs the whole workflow"):
        run_tests(directory / "n", pipeline=True)
