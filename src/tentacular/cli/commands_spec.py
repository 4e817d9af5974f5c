"""Commands that need only the spec layer: version, init, validate, visualize, schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, TextIO

import typer

from tentacular.cli.common import finish, options_of
from tentacular.cli.output import CommandResult, progress

DirArgument = Annotated[Path, typer.Argument(help="Workflow directory (or its workflow.yaml).")]


def register(app: typer.Typer) -> None:
    app.command("version", help="Print the tntc version.")(version)
    app.command("init", help="Scaffold a new workflow directory.")(init)
    app.command("validate", help="Validate workflow.yaml and show the derived artifacts.")(validate)
    app.command("visualize", help="Render the workflow as a Mermaid diagram.")(visualize)
    app.command("schema", help="Print the JSON Schema of workflow.yaml.")(schema)


def version(ctx: typer.Context) -> None:
    import platform

    import tentacular
    from tentacular.deploy import git_revision

    number = tentacular.__version__
    python = platform.python_version()
    # The commit is known when tntc runs from a checkout (e.g. an editable install), else "unknown".
    commit = git_revision(Path(tentacular.__file__).parent)
    short = commit[:12] if commit else "unknown"
    finish(
        ctx,
        CommandResult(
            "version",
            True,
            f"tntc {number}",
            data={"tntcVersion": number, "commit": commit, "python": python},
            text=lambda out: print(f"tntc {number} (commit {short}, python {python})", file=out),
            show_status_line=False,
        ),
    )


def init(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Workflow name (kebab-case).")],
    directory: Annotated[
        Path | None, typer.Option("--dir", help="Target directory (default: ./NAME).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Write into a non-empty directory.")] = False,
    from_: Annotated[
        str | None,
        typer.Option(
            "--from", help="Start from a catalog template: CATALOG:TEMPLATE or <git-url>//<path>@<tag>."
        ),
    ] = None,
    lang: Annotated[str, typer.Option("--lang", help="Language of the hello node: python or ts.")] = "python",
) -> None:
    from tentacular.agent import pull_template, workspace_target

    if from_ is not None:
        from tentacular.cli.commands_catalog import pulled_result

        pulled = pull_template(from_, directory=directory, name=name, force=force)
        pulled_result(ctx, "init", pulled)
        return
    from tentacular.spec import scaffold_workflow

    created = scaffold_workflow(name, directory or workspace_target(name), force=force, lang=lang)

    def text(out: TextIO) -> None:
        out.write(f"Created workflow {name} in {created.directory}/\n")
        for path in created.files:
            out.write(f"  {path}\n")
        out.write(
            f"\nNext steps:\n  tntc validate {created.directory}\n"
            f"  tntc test {created.directory}\n"
            f'  tntc run --local {created.directory} --input \'{{"name": "you"}}\'\n'
            f"  tntc dev {created.directory}        # serve it with hot reload on :8080\n"
        )

    finish(
        ctx,
        CommandResult(
            "init",
            True,
            f"created workflow {name}",
            data={"directory": str(created.directory), "files": [str(p) for p in created.files]},
            text=text,
            show_status_line=False,
        ),
    )


def validate(ctx: typer.Context, directory: DirArgument = Path()) -> None:
    from tentacular import deploy
    from tentacular.cli.render_spec import validation_result

    finish(ctx, validation_result(deploy.validate(directory, env=options_of(ctx).env)))


def visualize(
    ctx: typer.Context,
    directory: DirArgument = Path(),
    rich: Annotated[bool, typer.Option("--rich", help="Add dependencies and the contract summary.")] = False,
    write: Annotated[
        bool,
        typer.Option("--write", help="Write workflow-diagram.md (and contract-summary.md with --rich)."),
    ] = False,
) -> None:
    from tentacular.spec import contract_summary, load_workflow, mermaid_diagram

    loaded = load_workflow(directory)
    diagram = mermaid_diagram(loaded.workflow, rich=rich)
    summary = contract_summary(loaded.workflow) if rich else ""
    written: list[str] = []
    if write:
        diagram_path = loaded.directory / "workflow-diagram.md"
        diagram_path.write_text(f"# {loaded.workflow.name}\n\n{diagram}", encoding="utf-8")
        written.append(str(diagram_path))
        if summary:
            summary_path = loaded.directory / "contract-summary.md"
            summary_path.write_text(summary, encoding="utf-8")
            written.append(str(summary_path))
        for path in written:
            progress(options_of(ctx), f"✓ Wrote {path}")

    def text(out: TextIO) -> None:
        if not write:
            out.write(diagram)
            if summary:
                out.write("\n" + summary)

    finish(
        ctx,
        CommandResult(
            "visualize",
            True,
            f"rendered {loaded.workflow.name}",
            data={"mermaid": diagram, "contractSummary": summary or None, "written": written},
            text=text,
            show_status_line=False,
        ),
    )


def schema(ctx: typer.Context) -> None:
    from tentacular.spec import workflow_json_schema

    document = workflow_json_schema()
    finish(
        ctx,
        CommandResult(
            "schema",
            True,
            "workflow.yaml JSON Schema",
            data={"schema": document},
            text=lambda out: print(json.dumps(document, indent=2), file=out),
            show_status_line=False,
        ),
    )
