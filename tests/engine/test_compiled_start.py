"""A pod's engine starting from workflow.compiled.json: the engine's own checks still hold."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tentacular.engine._logs import LogSink
from tentacular.engine._startup import boot
from tentacular.errors import NodeLoadError
from tentacular.spec import COMPILED_FILE, compile_workflow, load_workflow

from .conftest import CapturedLog, WorkflowWriter


def test_a_hand_made_form_cannot_load_code_from_outside_nodes(
    make_flow: WorkflowWriter, tmp_path: Path
) -> None:
    """The form skips validation, so node paths are checked again where the engine resolves them."""
    flow: Path = make_flow({"echo": "async def run(ctx, input):\n    return input\n"})
    outside = tmp_path / "outside.py"
    outside.write_text("async def run(ctx, input):\n    return 'escaped'\n")
    loaded = load_workflow(flow)
    document = json.loads(compile_workflow(loaded.workflow, loaded.text))
    document["workflow"]["v"]["nodes"]["$d"]["echo"]["v"]["path"] = "./nodes/../../outside.py"
    (flow / COMPILED_FILE).write_text(json.dumps(document))  # the sha256 still matches workflow.yaml
    log = CapturedLog()
    with pytest.raises(NodeLoadError, match="resolves outside the nodes/ directory"):
        boot(flow, log=LogSink(stream=log), cluster_secrets=None, deployed=True)
    assert "Workflow loaded from its compiled form" in log.text
