"""A workflow on disk, loaded: what the engine needs, with no pydantic or YAML import of its own.

``load_deployed`` is a pod's engine start: when ``tntc deploy`` left ``workflow.compiled.json``
beside workflow.yaml, compiled from this very text, the workflow is read from it into records
(``_records``); otherwise, or when the form cannot be used, workflow.yaml is validated as by
``tntc validate`` (``_loader``, which imports pydantic and PyYAML then).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal, NamedTuple, cast

from tentacular.defaults import WORKFLOW_FILE
from tentacular.errors import WorkflowNotFoundError
from tentacular.spec._records import COMPILED_FILE, MAX_COMPILED_BYTES, CompiledFormUnusable, read_compiled
from tentacular.spec._values import MAX_DOCUMENT_BYTES

if TYPE_CHECKING:
    from tentacular.spec._issues import SpecIssue
    from tentacular.spec._model import Workflow


class LoadedWorkflow(NamedTuple):
    """A valid workflow together with where it lives on disk.

    With ``source == "compiled"`` the workflow is a record (``_records``): the model's fields and
    properties, read without validation, and no warnings. ``compiled_skipped`` says why a compiled
    form beside workflow.yaml was not used.
    Not a dataclass: a pod's start defines none (tests/engine/test_startup_imports.py).
    """

    workflow: Workflow
    file: Path
    text: str
    warnings: tuple[SpecIssue, ...] = ()
    source: Literal["validated", "compiled"] = "validated"
    compiled_skipped: str | None = None

    @property
    def directory(self) -> Path:
        return self.file.parent


def resolve_workflow_file(path: str | Path = ".") -> Path:
    """Accept a workflow directory or the workflow.yaml itself."""
    candidate = Path(path)
    if candidate.is_dir():
        candidate = candidate / WORKFLOW_FILE
    if not candidate.is_file():
        raise WorkflowNotFoundError(
            f"no {WORKFLOW_FILE} found at {candidate}",
            hint="pass a workflow directory, or create one with: tntc init <name>",
        )
    return candidate.resolve()


def load_deployed(path: str | Path = ".") -> LoadedWorkflow:
    """The engine's start: the compiled form when it matches workflow.yaml, else validation."""
    file = resolve_workflow_file(path)
    compiled = file.with_name(COMPILED_FILE)
    skipped: str | None = None
    if compiled.is_file():
        try:
            return _read_compiled(file, compiled)
        except CompiledFormUnusable as exc:
            skipped = f"{COMPILED_FILE} not used: {exc}"
    from tentacular.spec._loader import load_workflow

    return load_workflow(file)._replace(compiled_skipped=skipped)


def _read_compiled(file: Path, compiled: Path) -> LoadedWorkflow:
    try:
        if file.stat().st_size > MAX_DOCUMENT_BYTES:
            raise CompiledFormUnusable("workflow.yaml is over its size limit")
        text = file.read_text(encoding="utf-8")
        with compiled.open("rb") as stream:  # bounded: one byte more than allowed tells a large file
            raw = stream.read(MAX_COMPILED_BYTES + 1)
    except (OSError, UnicodeDecodeError) as exc:
        raise CompiledFormUnusable(f"cannot read it ({exc})") from None
    # A record reads as the model does (tests/spec/test_records.py); the engine types it as one.
    return LoadedWorkflow(cast("Workflow", read_compiled(raw, text)), file, text, source="compiled")
