"""The engine's start-up import set (issue 19, cold start): what `python -m tentacular.engine` loads
before it answers, for a workflow with no dependencies, no triggers and telemetry off.

Every module here is paid for by every pod start (a CronJob run, a scale-from-zero). The
heavy ones must stay lazy: the HTTP client until a node fetches, OpenTelemetry until a
workflow configures it, NATS until a queue trigger exists, watchfiles until ``--watch``,
the Prometheus client until ``/metrics`` is scraped, and nothing of the CLI, deploy,
testing or agent layers. The module count is a budget: raise it only with a reason.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tentacular.spec import COMPILED_FILE, compile_workflow, load_workflow

from .conftest import WorkflowWriter

MODULE_BUDGET = 400  # measured 359 on CPython 3.11 (2026-12-02, own HTTP protocol; 386 with uvicorn)

PROBE = """
import json, sys
from tentacular.engine._lean import trim_start_up

trim_start_up()  # what `python -m tentacular.engine` does first
from tentacular.engine._guard import guard_for
from tentacular.engine._logs import LogSink
from tentacular.engine._service import serve  # noqa: F401 - the serving module, as main() imports it
from tentacular.engine._startup import complete_boot, prepare

log = LogSink()
prepared = prepare(sys.argv[1], listen=("127.0.0.1", 0), log=log, deployed=True)  # as main() does
complete_boot(prepared, install_guard=guard_for(enabled=True, log=log, hot_reload=False))
from tentacular.engine._httpd import HttpServer  # what serve() serves with

import dataclasses

modules = sorted(sys.modules)
made = sorted(  # dataclasses the engine's own start-up modules define
    f"{name}.{key}"
    for name in modules
    if name.startswith("tentacular.")
    for key, value in vars(sys.modules[name]).items()
    if isinstance(value, type) and value.__module__ == name and dataclasses.is_dataclass(value)
)
print(json.dumps({"source": prepared.loaded.source, "type": type(prepared.loaded.workflow).__module__}))
print(json.dumps(made))
print(json.dumps(modules))
"""

LAZY = (
    "httpx",
    "httpcore",
    "opentelemetry",
    "nats",
    "prometheus_client",
    "jsonschema",
    "lightkube",
    "mcp",
    "typer",
    "rich",
    "tentacular.deploy",
    "tentacular.testing",
    "tentacular.agent",
    "tentacular.cli",
    "tentacular.engine._deno",
    "tentacular.engine._triggers._host",
    "uvicorn",  # the engine serves with its own protocol (engine/_httpd.py)
    "click",
    "watchfiles",  # --watch only
)


def _start(flow: Path) -> tuple[dict[str, Any], list[str]]:
    state, _dataclasses, modules = _probe(flow)
    return state, modules


def _probe(flow: Path) -> tuple[dict[str, Any], list[str], list[str]]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(flow)], capture_output=True, text=True, check=True, timeout=120
    )
    *_, state, made, modules = out.stdout.strip().splitlines()
    return json.loads(state), json.loads(made), json.loads(modules)


def test_engine_start_imports_stay_within_budget(make_flow: WorkflowWriter) -> None:
    flow: Path = make_flow({"echo": "async def run(ctx, input):\n    return input\n"})
    _state, modules = _start(flow)
    eager = sorted({m for m in modules for lazy in LAZY if m == lazy or m.startswith(lazy + ".")})
    assert eager == [], f"imported at engine start although only needed later: {eager}"
    assert len(modules) <= MODULE_BUDGET, f"{len(modules)} modules at engine start (budget {MODULE_BUDGET})"


def test_a_deployed_engine_starts_without_pydantic_or_yaml(make_flow: WorkflowWriter) -> None:
    """In a pod, workflow.compiled.json sits beside workflow.yaml: records, no pydantic, no YAML."""
    flow: Path = make_flow(
        {"echo": "async def run(ctx, input):\n    return input\n"}, config={"channel": "#ops"}
    )
    loaded = load_workflow(flow)
    (flow / COMPILED_FILE).write_text(compile_workflow(loaded.workflow, loaded.text), encoding="utf-8")
    state, modules = _start(flow)
    assert state == {"source": "compiled", "type": "tentacular.spec._records"}
    heavy = ("pydantic", "pydantic_core", "annotated_types", "yaml", "_yaml")
    assert not [m for m in modules if m.split(".")[0] in heavy]
    spec_models = ("_model", "_fields", "_contract", "_triggers", "_telemetry", "_loader", "_yamlparse")
    assert not [m for m in modules if m.removeprefix("tentacular.spec.") in spec_models]


def test_a_deployed_engine_start_defines_no_dataclasses(make_flow: WorkflowWriter) -> None:
    """CPython 3.11 compiles a dataclass's methods from generated source when the class is created:
    ~0.35 ms each, ~0.6 ms frozen, and 28 of them were 18 % of a pod's start (docs/engine.md). The
    start-up modules use NamedTuples and plain classes; a dataclass needed later lives in a module
    imported when it is first used (``engine/_dependency.py``)."""
    flow: Path = make_flow({"echo": "async def run(ctx, input):\n    return input\n"})
    loaded = load_workflow(flow)
    (flow / COMPILED_FILE).write_text(compile_workflow(loaded.workflow, loaded.text), encoding="utf-8")
    state, made, _modules = _probe(flow)
    assert state["source"] == "compiled"
    assert made == [], f"dataclasses created at a pod's start: {made}"


def test_without_a_compiled_form_the_engine_validates(make_flow: WorkflowWriter) -> None:
    state, modules = _start(make_flow({"echo": "async def run(ctx, input):\n    return input\n"}))
    assert state == {"source": "validated", "type": "tentacular.spec._model"}
    assert "yaml" in modules and "pydantic" in modules
