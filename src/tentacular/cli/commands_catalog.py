"""`tntc catalog list|search|info|pull|index`: templates from git catalogs and the bundled examples."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TextIO

import typer

from tentacular.cli.common import finish, options_of
from tentacular.cli.output import CommandResult, progress

if TYPE_CHECKING:
    from tentacular.agent import Template

catalog_app = typer.Typer(help="Find and pull workflow templates from catalogs.", no_args_is_help=True)
NoCache = Annotated[
    bool, typer.Option("--no-cache", help="Fetch the catalogs again, ignoring the cache TTL.")
]


def register(app: typer.Typer) -> None:
    catalog_app.command("list", help="List the templates of every catalog (or one with --catalog).")(list_)
    catalog_app.command("search", help="Templates whose name, description or tags contain QUERY.")(search)
    catalog_app.command("info", help="Show one template (CATALOG:TEMPLATE, or a name).")(info)
    catalog_app.command("pull", help="Copy a template (CATALOG:TEMPLATE or <git-url>//<path>@<tag>) here.")(
        pull
    )
    catalog_app.command("index", help="Write DIR/catalog.yaml for a catalog repository.")(index)
    app.add_typer(catalog_app, name="catalog")


def _table(templates: list[Template]) -> Any:
    def text(out: TextIO) -> None:
        if not templates:
            out.write("No templates found\n")
            return
        out.write(f"{'TEMPLATE':<34}{'VERSION':<9}DESCRIPTION\n")
        for t in templates:
            ref = f"{t.catalog}:{t.name}"
            description = t.description if len(t.description) <= 50 else t.description[:47] + "..."
            out.write(f"{ref:<34}{t.version:<9}{description}\n")

    return text


def _listing(
    ctx: typer.Context, command: str, templates: list[Template], catalogs: Any, warnings: list[str]
) -> None:
    for warning in warnings:
        progress(options_of(ctx), f"warning: {warning}")
    finish(
        ctx,
        CommandResult(
            command,
            True,
            f"{len(templates)} template(s)",
            hints=warnings,
            data={"templates": [t.to_dict() for t in templates], "catalogs": catalogs},
            text=_table(templates),
            show_status_line=False,
        ),
    )


def list_(
    ctx: typer.Context,
    catalog: Annotated[str | None, typer.Option("--catalog", help="Only this catalog.")] = None,
    tag: Annotated[str | None, typer.Option("--tag", help="Only templates with this tag.")] = None,
    no_cache: NoCache = False,
) -> None:
    from tentacular.agent import catalog_templates

    templates, catalogs, warnings = catalog_templates(catalog=catalog, tag=tag, refresh=no_cache)
    _listing(ctx, "catalog list", templates, catalogs, warnings)


def search(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help="Text to look for (case-insensitive).")],
    no_cache: NoCache = False,
) -> None:
    from tentacular.agent import catalog_templates

    templates, catalogs, warnings = catalog_templates(query=query, refresh=no_cache)
    _listing(ctx, "catalog search", templates, catalogs, warnings)


def info(
    ctx: typer.Context,
    template: Annotated[str, typer.Argument(help="CATALOG:TEMPLATE, or a template name.")],
    no_cache: NoCache = False,
) -> None:
    from tentacular.agent import catalog_info

    found, warnings = catalog_info(template, refresh=no_cache)
    entry = found.to_dict()

    def text(out: TextIO) -> None:
        for key in (
            "name",
            "catalog",
            "version",
            "description",
            "tags",
            "secrets",
            "minTntcVersion",
            "files",
        ):
            value = entry[key]
            out.write(f"{key + ':':<16}{', '.join(value) if isinstance(value, list) else value}\n")
        out.write(f"\nUse it: tntc init my-workflow --from {found.catalog}:{found.name}\n")

    finish(
        ctx,
        CommandResult(
            "catalog info",
            True,
            f"{found.catalog}:{found.name}",
            hints=warnings,
            data={"template": entry},
            text=text,
            show_status_line=False,
        ),
    )


def pull(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="CATALOG:TEMPLATE or <git-url>//<path>@<tag>.")],
    directory: Annotated[
        Path | None, typer.Option("--dir", help="Target directory (default: workspace or ./NAME).")
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="Rename the workflow.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace a non-empty target directory.")] = False,
    no_cache: NoCache = False,
) -> None:
    from tentacular.agent import pull_template

    pulled = pull_template(ref, directory=directory, name=name, force=force, refresh=no_cache)
    pulled_result(ctx, "catalog pull", pulled)


def pulled_result(ctx: typer.Context, command: str, pulled: Any) -> None:
    for warning in pulled.warnings:
        progress(options_of(ctx), f"warning: {warning}")

    def text(out: TextIO) -> None:
        out.write(
            f"Created {pulled.directory}/ from {pulled.template.get('ref') or pulled.template['name']}\n"
        )
        for path in pulled.files:
            out.write(f"  {path}\n")
        out.write(f"\nNext steps:\n  tntc validate {pulled.directory}\n  tntc test {pulled.directory}\n")

    finish(
        ctx,
        CommandResult(
            command,
            True,
            f"created {pulled.directory}",
            hints=pulled.warnings,
            data={
                "directory": str(pulled.directory),
                "files": [str(p) for p in pulled.files],
                "template": pulled.template,
            },
            text=text,
            show_status_line=False,
        ),
    )


def index(
    ctx: typer.Context,
    directory: Annotated[Path, typer.Argument(help="The catalog repository.")] = Path(),
) -> None:
    from tentacular.agent import index_catalog

    path, templates = index_catalog(directory)
    finish(
        ctx,
        CommandResult(
            "catalog index",
            True,
            f"indexed {len(templates)} template(s) in {path}",
            data={
                "file": str(path),
                "templates": [{k: v for k, v in t.to_dict().items() if k != "catalog"} for t in templates],
            },
            text=lambda out: print(f"Wrote {path} ({len(templates)} templates)", file=out),
            show_status_line=False,
        ),
    )
