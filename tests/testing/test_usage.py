"""`tntc test` shows token usage (issue 17): ``ctx.usage`` and LLM answers recognised in mocked
dependencies count as they would in the engine, per case and for the pipeline."""

from __future__ import annotations

import json

import pytest

from tentacular.cli.main import main
from tests.engine.telemetry_helpers import ANTHROPIC_MESSAGE, OPENAI_CHAT
from tests.testing.conftest import HTTPS_API, BuildWorkflow

ASKS = """
    async def run(ctx, input):
        llm = ctx.dependency("llm")
        a = (await llm.fetch("/v1/messages", method="POST", json={})).json()
        b = (await llm.fetch("/v1/chat/completions", method="POST", json={})).json()
        return {"models": [a["model"], b["model"]]}
"""
REPORTS = """
    async def run(ctx, input):
        ctx.usage(model="local-embedder", input_tokens=100, output_tokens=0, provider="self-hosted", cost=0.5)
        return input
"""
MOCKS = {
    "llm": {
        "POST /v1/messages": {"json": ANTHROPIC_MESSAGE},
        "POST /v1/chat/completions": {"json": OPENAI_CHAT},
    }
}
# Anthropic: 12 + 3 cache-read input, 6 output; OpenAI chat: 19 in, 10 out; the embedder: 100 in.
INPUT, OUTPUT = 15 + 19 + 100, 6 + 10


@pytest.mark.parametrize("pipeline", [False, True])
def test_usage_totals_in_text_and_json(
    make_wf: BuildWorkflow, capsys: pytest.CaptureFixture[str], pipeline: bool
) -> None:
    directory = make_wf(
        {"ask": ASKS, "embed": REPORTS},
        edges=[("ask", "embed")],
        dependencies={"llm": HTTPS_API},
        fixtures={
            "ask.json": {"input": {}, "mocks": MOCKS},
            "embed.json": {"input": {"x": 1}, "expected": {"x": 1}},
            "pipeline.json": {"input": {}, "mocks": MOCKS, "secrets": {"api": {"token": "t"}}},
        },
    )
    argv = ["test", str(directory), *(["--pipeline"] if pipeline else [])]
    assert main([*argv, "-o", "json"]) == 0, capsys.readouterr()
    document = json.loads(capsys.readouterr().out)
    total = document["usage"]["total"]
    assert (total["inputTokens"], total["outputTokens"], total["calls"], total["cost"]) == (
        INPUT,
        OUTPUT,
        3,
        0.5,
    )
    assert set(document["usage"]["nodes"]) == {"ask", "embed"}
    assert document["usage"]["models"]["claude-sonnet-4-5-20250929"]["provider"] == "anthropic"
    assert document["summary"].endswith(f"; {INPUT + OUTPUT} tokens ({INPUT} in, {OUTPUT} out), cost 0.5")

    assert main(argv) == 0
    text = capsys.readouterr().out
    assert (
        f"Token usage: {INPUT + OUTPUT} tokens ({INPUT} in, {OUTPUT} out), cost 0.5 in 3 LLM call(s)" in text
    )


def test_no_llm_calls_no_usage(make_wf: BuildWorkflow, capsys: pytest.CaptureFixture[str]) -> None:
    directory = make_wf(
        {"quiet": "async def run(ctx, input):\n    return {}\n"}, fixtures={"quiet.json": {"input": {}}}
    )
    assert main(["test", str(directory), "-o", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert "usage" not in document and "tokens" not in document["summary"]
