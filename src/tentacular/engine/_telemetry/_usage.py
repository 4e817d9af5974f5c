"""LLM token usage: what ``ctx.usage(...)`` records and the run result's ``usage`` block.

A node reports usage explicitly with ``ctx.usage(model=..., input_tokens=..., output_tokens=...)``
or the engine recognises it in responses of known LLM APIs fetched through
``ctx.dependency(...).fetch``. Within one node attempt an explicit report wins: the
recognised records of that attempt are dropped, so a node that fetches and then reports
the same call is counted once.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from tentacular.errors import TokenUsageError as UsageError


# Not dataclasses: a pod's start defines none (tests/engine/test_startup_imports.py).
class UsageRecord(NamedTuple):
    model: str
    input_tokens: int
    output_tokens: int
    provider: str | None = None
    cost: float | None = None
    source: str = "ctx.usage"  # or "recognised"


def _count(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise UsageError(
            f"ctx.usage(): {name} must be a non-negative integer, got {type(value).__name__} {value!r}",
            hint="e.g. ctx.usage(model='claude-sonnet-4-5', input_tokens=120, output_tokens=40)",
        )
    if value < 0:
        raise UsageError(f"ctx.usage(): {name} must be >= 0, got {value}")
    return value


def usage_record(
    *, model: Any, input_tokens: Any, output_tokens: Any, provider: Any = None, cost: Any = None
) -> UsageRecord:
    """Validate the arguments of ``ctx.usage`` (a clear error in the node for every wrong type)."""
    if not isinstance(model, str) or not model.strip():
        raise UsageError(
            f"ctx.usage(): model must be a non-empty string, got {type(model).__name__} {model!r}",
            hint="pass the model name the API answered with, e.g. model=response['model']",
        )
    if len(model) > 200:
        raise UsageError("ctx.usage(): model must be at most 200 characters")
    if provider is not None and (
        not isinstance(provider, str) or not provider.strip() or len(provider) > 100
    ):
        raise UsageError(
            f"ctx.usage(): provider must be a non-empty string or None, got {type(provider).__name__}"
        )
    if cost is not None:
        if isinstance(cost, bool) or not isinstance(cost, int | float) or not math.isfinite(cost) or cost < 0:
            raise UsageError(
                f"ctx.usage(): cost must be a non-negative number or None, got {type(cost).__name__} {cost!r}"
            )
        cost = float(cost)
    return UsageRecord(
        model=model,
        input_tokens=_count("input_tokens", input_tokens),
        output_tokens=_count("output_tokens", output_tokens),
        provider=provider,
        cost=cost,
    )


class _Totals:
    __slots__ = ("calls", "cost", "input_tokens", "output_tokens")

    def __init__(self) -> None:
        self.input_tokens = 0
        self.output_tokens = 0
        self.cost: float | None = None
        self.calls = 0

    def add(self, record: UsageRecord) -> None:
        self.input_tokens += record.input_tokens
        self.output_tokens += record.output_tokens
        self.calls += 1
        if record.cost is not None:
            self.cost = (self.cost or 0.0) + record.cost

    def to_dict(self) -> dict[str, Any]:
        return {
            "inputTokens": self.input_tokens,
            "outputTokens": self.output_tokens,
            "totalTokens": self.input_tokens + self.output_tokens,
            "cost": None if self.cost is None else round(self.cost, 10),
            "calls": self.calls,
        }


class RunUsage:
    """Usage records of one run, per node; ``to_dict()`` is the run result's ``usage`` block."""

    __slots__ = ("records",)

    def __init__(self) -> None:
        self.records: list[tuple[str, UsageRecord]] = []

    def __bool__(self) -> bool:
        return bool(self.records)

    def add(self, node: str, record: UsageRecord) -> None:
        self.records.append((node, record))

    def to_dict(self) -> dict[str, Any]:
        total = _Totals()
        nodes: dict[str, _Totals] = {}
        models: dict[str, _Totals] = {}
        providers: dict[str, str | None] = {}
        for node, record in self.records:
            total.add(record)
            nodes.setdefault(node, _Totals()).add(record)
            models.setdefault(record.model, _Totals()).add(record)
            providers.setdefault(record.model, record.provider)
        return {
            "total": total.to_dict(),
            "nodes": {node: totals.to_dict() for node, totals in nodes.items()},
            "models": {
                model: {"provider": providers[model], **totals.to_dict()} for model, totals in models.items()
            },
        }
