"""Span attributes of runs and node attempts: usage (``gen_ai.*``), guard refusals, and the constant
part of each fixed-layout span (``_wire.fixed_span``), built once per shape and cached."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tentacular.engine._telemetry import _wire

if TYPE_CHECKING:
    from tentacular.engine._telemetry._usage import UsageRecord


def guard_refusal_kind(error: BaseException) -> str | None:
    """``network``/``file``/``process``/``ffi``/``other`` when ``error`` is (or wraps) a guard refusal."""
    from tentacular.engine._executor import wrapped_guard_refusal

    message = wrapped_guard_refusal(error)
    if message is None:
        return None
    if "starting a process" in message:
        return "process"
    if "native code" in message:
        return "ffi"
    if "nodes may read" in message or "nodes may write" in message:
        return "file"
    if "contract.dependencies" in message or "socket" in message or "lookup" in message:
        return "network"
    return "other"


def genai_attributes(records: list[UsageRecord]) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "gen_ai.usage.input_tokens": sum(r.input_tokens for r in records),
        "gen_ai.usage.output_tokens": sum(r.output_tokens for r in records),
    }
    models = sorted({r.model for r in records})
    providers = sorted({r.provider for r in records if r.provider})
    attributes["gen_ai.response.model"] = models[0] if len(models) == 1 else ",".join(models)
    if providers:
        attributes["gen_ai.provider.name"] = providers[0] if len(providers) == 1 else ",".join(providers)
        attributes["gen_ai.system"] = attributes["gen_ai.provider.name"]
    cost = [r.cost for r in records if r.cost is not None]
    if cost:
        attributes["tentacular.llm.cost"] = sum(cost)
    return attributes


RUN_LAYOUTS: dict[tuple[Any, ...], _wire.FixedSpan] = {}
NODE_LAYOUTS: dict[str, dict[str, _wire.FixedSpan]] = {}


def node_layouts(workflow: str) -> dict[str, _wire.FixedSpan]:
    """A workflow's layouts of first, ok ``execute_node`` spans by node (``RunScope.node_layout``
    fills it); the run's hot path reads ``NODE_LAYOUTS`` first and calls this while it is empty."""
    layouts = NODE_LAYOUTS.get(workflow)
    if layouts is None:
        if len(NODE_LAYOUTS) >= 64:  # bounded: a process serves one workflow, renamed by a reload at most
            NODE_LAYOUTS.clear()
        layouts = NODE_LAYOUTS[workflow] = {}
    return layouts


def new_layout(
    cache: dict[tuple[Any, ...], _wire.FixedSpan], key: tuple[Any, ...], constant: bytes, kind: int, part: int
) -> _wire.FixedSpan:
    if len(cache) >= 4096:  # bounded: keys come from workflow, node and trigger names
        cache.clear()
    built = cache[key] = _wire.fixed_span(constant, kind, part)
    return built


def node_constant(workflow: str, node: str, attempt: int, outcome: str) -> bytes:
    """An ``execute_node`` span's fields that repeat: name, four attributes, flags."""
    return (
        _wire.name_field("execute_node")
        + _wire.attribute_fields(
            (
                ("tentacular.workflow.name", workflow),
                ("tentacular.node.name", node),
                ("tentacular.node.attempt", attempt + 1),
                ("tentacular.node.outcome", outcome),
            )
        )
        + _wire.FLAGS_LOCAL
    )


def run_constant(workflow: str, version: str, trigger: str, outcome: str, remote: bool) -> bytes:
    """An ``invoke_workflow`` span's fields that repeat: name, four attributes, flags."""
    return (
        _wire.name_field("invoke_workflow")
        + _wire.attribute_fields(
            (
                ("tentacular.workflow.name", workflow),
                ("tentacular.workflow.version", version),
                ("tentacular.trigger.type", trigger),
                ("tentacular.run.outcome", outcome),
            )
        )
        + (_wire.FLAGS_REMOTE if remote else _wire.FLAGS_LOCAL)
    )
