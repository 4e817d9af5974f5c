"""`tntc test`: fixture node tests, the pipeline test, contract drift, and `--live` on a cluster."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, TextIO

import typer

from tentacular.cli.common import event_printer, finish, options_of, seconds_option, target_options
from tentacular.cli.output import CommandResult

if TYPE_CHECKING:
    from tentacular.testing import CaseStream, TestReport


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
        str | None, typer.Option("--timeout", help="With --live: readiness and run timeout (e.g. 120s, 2m).")
    ] = None,
) -> None:
    from tentacular import deploy

    if live:
        from tentacular.cli.render_deploy import live_test_result

        where = target_options(ctx)
        options = deploy.LiveTestOptions(
            env=where.env,
            namespace=where.namespace,
            keep=keep,
            warn=warn,
            timeout=seconds_option(timeout, default=deploy.DEFAULT_DEPLOY_TIMEOUT),
        )
        finish(ctx, live_test_result(deploy.live_test(target, options, on_event=event_printer(ctx))))
        return
    import sys

    from tentacular import testing

    global_options = options_of(ctx)
    enforcement = deploy.enforcement_for(env=global_options.env, warn=warn)
    # On a terminal each case shows the moment it finishes; pipes and -o json get one report.
    stream = (
        testing.CaseStream(sys.stdout) if global_options.output == "text" and sys.stdout.isatty() else None
    )
    report = testing.run_tests(target, pipeline=pipeline, enforcement=enforcement, on_case=stream)
    finish(ctx, _result(report, stream))


def _result(report: TestReport, stream: CaseStream | None = None) -> CommandResult:
    from tentacular import testing

    streamed = stream.shown if stream is not None else None

    hints: list[str] = []
    if report.drift.failed:
        hints.append("fix the contract drift, or use --warn to report it without failing")
    if any(result.skipped for result in report.results):
        hints.append("add fixtures in tests/fixtures/<node>.json for the nodes without tests")

    def text(out: TextIO) -> None:
        testing.render_report(report, out, streamed=streamed)

    return CommandResult("test", report.ok, report.summary, hints=hints, data=report.to_dict(), text=text)
