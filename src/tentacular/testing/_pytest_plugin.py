"""pytest plugin: a workflow's fixture cases as pytest items (D8).

``pytest example-workflows/`` collects every ``tests/fixtures/*.json`` that
belongs to a directory holding ``workflow.yaml``: one item per node case,
named ``node[case]``, plus a ``pipeline`` item for ``pipeline.json``. Any other
JSON file is left alone, so a project's own tests collect as before. The cases
run exactly as under ``tntc test`` (same loader, mock context, comparison);
the contract drift report stays with ``tntc test``, which sees all cases at once.

This module is imported by every pytest run in an environment where
Tentacular is installed, so it imports nothing heavy at module level.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tentacular.defaults import WORKFLOW_FILE
from tentacular.testing._fixtures import PIPELINE_FILE, split_fixture_name


def _workflow_dir(file_path: Path) -> Path | None:
    fixtures = file_path.parent
    if fixtures.name != "fixtures" or fixtures.parent.name != "tests":
        return None
    directory = fixtures.parent.parent
    return directory if (directory / WORKFLOW_FILE).is_file() else None


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix != ".json" or _workflow_dir(file_path) is None:
        return None
    if file_path.name != PIPELINE_FILE and split_fixture_name(file_path.name) is None:
        return None
    collector: pytest.Collector = WorkflowFixtureFile.from_parent(parent, path=file_path)
    return collector


class WorkflowFixtureFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        if self.path.name == PIPELINE_FILE:
            yield WorkflowPipelineItem.from_parent(self, name="pipeline")
            return
        parts = split_fixture_name(self.path.name)
        assert parts is not None  # filtered in pytest_collect_file
        yield FixtureCaseItem.from_parent(self, name=f"{parts[0]}[{parts[1]}]")


class FixtureCaseFailure(Exception):
    """Carries the rendered failure of a case to ``repr_failure``."""


class _WorkflowItem(pytest.Item):
    @property
    def workflow_dir(self) -> Path:
        directory = _workflow_dir(self.path)
        assert directory is not None
        return directory

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, FixtureCaseFailure):
            return str(excinfo.value)
        from tentacular.errors import TentacularError

        if isinstance(excinfo.value, TentacularError):
            error = excinfo.value
            return error.message + (f"\nhint: {error.hint}" if error.hint else "")
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, self.name


class FixtureCaseItem(_WorkflowItem):
    """One node case, run exactly as ``tntc test`` runs it."""

    def runtest(self) -> None:
        from tentacular.testing._report import render_case
        from tentacular.testing._runner import WorkflowUnderTest, run_case

        workflow = WorkflowUnderTest.open(self.workflow_dir)
        node = self.name.partition("[")[0]
        if node not in workflow.loaded.workflow.nodes:
            nodes = ", ".join(workflow.loaded.workflow.nodes)
            raise FixtureCaseFailure(
                f"fixture {self.path.name} matches no node of {workflow.name} (nodes: {nodes})"
            )
        result = asyncio.run(run_case(workflow, self.path))
        if not result.passed:
            out = io.StringIO()
            render_case(result, out)
            raise FixtureCaseFailure(out.getvalue().rstrip())


class WorkflowPipelineItem(_WorkflowItem):
    """The whole DAG with ``pipeline.json``, as ``tntc test --pipeline``."""

    def runtest(self) -> None:
        from tentacular.testing._report import render_case
        from tentacular.testing._runner import run_pipeline_test

        report = asyncio.run(run_pipeline_test(self.workflow_dir))
        if report.failed:
            out = io.StringIO()
            for result in report.failed:
                render_case(result, out)
            raise FixtureCaseFailure(out.getvalue().rstrip())
