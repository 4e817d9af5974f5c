"""The Typer application: global options and command registration.

Command modules import their layers inside the command functions, so
``tntc --help`` loads neither the engine nor the Kubernetes client.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from tentacular.cli import (
    commands_agent,
    commands_build,
    commands_catalog,
    commands_cluster,
    commands_cluster_ops,
    commands_engine,
    commands_release,
    commands_secrets,
    commands_spec,
    commands_testing,
    commands_versions,
)
from tentacular.cli.output import GlobalOptions


class OutputChoice(StrEnum):
    text = "text"
    json = "json"
    yaml = "yaml"


app = typer.Typer(
    name="tntc",
    help="Build, test and deploy secure workflows for AI agents.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def global_options(
    ctx: typer.Context,
    output: Annotated[
        OutputChoice, typer.Option("-o", "--output", help="text, or the common envelope as json or yaml.")
    ] = OutputChoice.text,
    namespace: Annotated[str | None, typer.Option("-n", "--namespace", help="Kubernetes namespace.")] = None,
    env: Annotated[str | None, typer.Option("--env", help="Named environment from the config files.")] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of internal errors.")] = False,
    version: Annotated[  # handled in main(): `tntc --version` runs `tntc version`
        bool, typer.Option("--version", help="Print the tntc version and exit.")
    ] = False,
) -> None:
    """Global options may be given before or after the command name."""
    ctx.obj = GlobalOptions(output=output.value, namespace=namespace, env=env, debug=debug)


# Order of `tntc --help`: author, run, test, ship, operate.
commands_spec.register(app)
commands_engine.register(app)
commands_testing.register(app)
commands_build.register(app)
commands_secrets.register(app)
commands_cluster.register(app)
commands_cluster_ops.register(app)
commands_catalog.register(app)
commands_versions.register(app)
commands_release.register(app)
commands_agent.register(app)
