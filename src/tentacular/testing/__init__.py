"""Fixture runner, mock context and contract drift detection.

This is the face the layers above use; everything else in the package is private.
"""

from typing import TYPE_CHECKING

from tentacular._lazy import lazy_exports

if TYPE_CHECKING:
    from tentacular.testing._report import CaseStream, render_report
    from tentacular.testing._results import TestReport
    from tentacular.testing._runner import run_tests

__getattr__ = lazy_exports(
    __name__,
    {"CaseStream": "_report", "render_report": "_report", "TestReport": "_results", "run_tests": "_runner"},
)

__all__ = ["CaseStream", "TestReport", "render_report", "run_tests"]
