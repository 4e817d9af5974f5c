"""`tntc test`: fixture node tests, the pipeline test, contract drift, and `--live` hand-off."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, TextIO

import typer

from tentacular.cli.common import finish, options_of
from tentacular.cli.output import CommandResult, GlobalOptions, progress

if TYPE_CHECKING:
    from tentacular.testing.drift import Enforcement
    from tentacular.testing.results import TestReport


def register(app: typer.Typer) -> None:
    app.command(
        "test",
        help="Run fixture tests of a workflow (DIR) or one node (DIR/NODE); --pipeline runs the whole DAG.",
    )(test)


def test(
    ctx: typer.Context,
    target: Annotated[
        str, typer.Argument(help="Workflow directory, or DIR/NODE to test one node.", show_default=False)
    ] = ".",
    pipeline: Annotated[
        bool, typer.Option("--pipeline", help="Run the whole DAG with tests/fixtures/pipeline.json.")
    ] = False,
    warn: Annotated[
        bool, typer.Option("--warn", help="Audit mode: report contract drift as warnings, exit 0.")
    ] = False,
    live: Annotated[
        bool, typer.Option("--live", help="Deploy to the --env cluster, run once, clean up.")
    ] = False,
    keep: Annotated[bool, typer.Option("--keep", help="With --live: leave the deployment in place.")] = False,
    timeout: Annotated[
        str, typer.Option("--timeout", help="With --live: readiness and run timeout (e.g. 120s, 2m).")
    ] = "120s",
) -> None:
    options = options_of(ctx)
    if live:
        _live(ctx, target, keep=keep, timeout=timeout, warn=warn)
        return
    from tentacular.testing.runner import run_tests

    report = run_tests(target, pipeline=pipeline, enforcement=_enforcement(options, warn))
    finish(ctx, _result(report))


def _result(report: TestReport) -> CommandResult:
    from tentacular.testing.report import render_report

    hints: list[str] = []
    if report.drift.failed:
        hints.append("fix the contract drift, or use --warn to report it without failing")
    if any(result.skipped for result in report.results):
        hints.append("add fixtures in tests/fixtures/<node>.json for the nodes without tests")

    def text(out: TextIO) -> None:
        render_report(report, out)

    return CommandResult("test", report.ok, report.summary, hints=hints, data=report.to_dict(), text=text)


def _enforcement(options: GlobalOptions, warn: bool) -> Enforcement:
    """``--warn`` wins; else the environment's ``enforcement`` (Q6); else strict."""
    if warn:
        return "audit"
    try:
        from tentacular.deploy.settings import environment_name, load_settings
    except ImportError:  # the deploy layer is optional for mock tests
        return "strict"
    name = environment_name(options.env)
    if not name:
        return "strict"
    settings = load_settings()
    if not settings.has_environment(name):
        progress(options, f'warning: environment "{name}" not found in config; using strict enforcement')
        return "strict"
    return settings.environment(name).enforcement


def _live(ctx: typer.Context, target: str, *, keep: bool, timeout: str, warn: bool) -> None:
    from tentacular.errors import UsageError
    from tentacular.spec.model import duration_seconds

    try:
        seconds = float(timeout) if timeout.replace(".", "", 1).isdigit() else duration_seconds(timeout)
    except ValueError:
        raise UsageError(f'invalid --timeout "{timeout}"', hint="e.g. --timeout 120s or 2m") from None
    try:
        from tentacular.cli.commands_cluster import run_live_test
    except ImportError:
        raise UsageError(
            "tntc test --live is not available in this build (no cluster commands installed)",
            hint="run the mock tests without --live, or deploy with: tntc deploy",
        ) from None
    run_live_test(ctx, target, keep=keep, timeout=seconds, warn=warn)
