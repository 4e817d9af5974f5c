"""A workflow directory as a pod mounts it: workflow.yaml, its compiled form and the node code."""

from __future__ import annotations

import shutil
from pathlib import Path

from tentacular.spec import COMPILED_FILE, compile_workflow, load_workflow


def deployed_copy(workflow: Path, into: Path) -> Path:
    """Copy ``workflow`` to ``into`` and add the ``workflow.compiled.json`` ``tntc deploy`` ships."""
    target = into / workflow.name
    shutil.copytree(workflow, target, dirs_exist_ok=True)
    loaded = load_workflow(target)
    (target / COMPILED_FILE).write_text(compile_workflow(loaded.workflow, loaded.text), encoding="utf-8")
    return target
