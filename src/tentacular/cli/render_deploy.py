"""Rendering of the deploy face's reports: ``tntc deploy`` and ``tntc test --live``."""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

from tentacular.cli.output import CommandResult

if TYPE_CHECKING:
    from tentacular.deploy import DeployReport

_LIVE_FAILURE_LABELS = {"wait": "deployment not ready", "verify": "workflow run failed"}


def deploy_result(report: DeployReport) -> CommandResult:
    if not report.ok:
        return CommandResult(
            "deploy",
            False,
            f"deploy failed: {report.failure}",
            hints=report.hints,
            data=report.to_dict(),
            exit_code=report.exit_code,
        )
    assert report.target is not None
    namespace = report.target.namespace.value

    def text(out: TextIO) -> None:
        out.write(f"Deployed {report.workflow} to {namespace}\n")

    hints = (
        [
            "other field managers own fields on the deployed objects (see drift); remove them with: "
            "tntc deploy --reclaim"
        ]
        if report.drift
        else []
    )
    return CommandResult(
        "deploy",
        True,
        f"deployed {report.workflow} to {namespace}",
        hints=hints,
        data=report.to_dict(),
        text=text,
    )


def live_test_result(report: DeployReport) -> CommandResult:
    if report.error is not None:
        label = _LIVE_FAILURE_LABELS.get(report.failed_phase or "", "deploy failed")
        summary = f"{label}: {report.failure}"
    elif not report.ok:
        summary = "workflow returned success=false"
    elif report.execution is not None and report.execution.success:
        summary = "workflow completed successfully"
    else:
        summary = "workflow completed (raw output)"
    return CommandResult(
        "test", report.ok, summary, hints=report.hints, data=report.to_dict(), exit_code=report.exit_code
    )
