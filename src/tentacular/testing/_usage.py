"""Token usage while testing (``tntc test``): ``ctx.usage`` calls and LLM answers recognised in mocks.

Each node-fixture case runs inside one node attempt of a throwaway run scope, so a
node that calls ``ctx.usage`` (or fetches a mocked Anthropic/OpenAI answer) is
counted exactly as in the engine; the report adds every case up.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tentacular.engine._telemetry import Observability, RunScope, RunUsage

_OBSERVABILITY = Observability()


def run_scope(workflow: str, run_id: str = "test") -> RunScope:
    """A run scope whose only job is to collect usage (no tracing, metrics thrown away)."""
    return _OBSERVABILITY.begin_run(workflow=workflow, version="", run_id=run_id, trigger="manual")


class UsageCollector:
    def __init__(self, workflow: str) -> None:
        self.workflow = workflow
        self.usage = RunUsage()

    @contextmanager
    def attempt(self, node: str) -> Iterator[None]:
        """Count the usage reported in the ``with`` block as ``node``'s (call it in the node's task)."""
        scope = run_scope(self.workflow)
        probe = scope.attempt(node, 0)
        try:
            yield
        finally:
            probe.end("ok", None, None)
            scope.finish(success=True, error=None)
            self.usage.records.extend(scope.usage.records)

    def add(self, scope: RunScope) -> None:
        self.usage.records.extend(scope.usage.records)

    def block(self) -> dict[str, Any] | None:
        return self.usage.to_dict() if self.usage else None


def describe_usage(usage: dict[str, Any]) -> str:
    """``294 tokens (185 in, 109 out), cost 0.0012`` (as ``tntc run`` prints it)."""
    total = usage["total"]
    text = f"{total['totalTokens']} tokens ({total['inputTokens']} in, {total['outputTokens']} out)"
    if total["cost"] is not None:
        text += f", cost {total['cost']:g}"
    return text
