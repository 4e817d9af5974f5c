"""Cluster-wide commands: cluster check, audit, configure."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, TextIO

import typer

from tentacular.cli.common import finish, options_of, target_options
from tentacular.cli.output import CommandResult, progress

cluster_app = typer.Typer(help="Check that a cluster is ready for tentacular.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command("audit", help="Compare deployed resources with the workflow's contract.")(audit)
    app.command("configure", help="Write user or project configuration and environments.")(configure)
    cluster_app.command(
        "check",
        help="Predict a deploy: API, namespace, RuntimeClass, RBAC (per the permission table), secrets.",
    )(cluster_check)
    app.add_typer(cluster_app, name="cluster")


def cluster_check(
    ctx: typer.Context,
    fix: Annotated[bool, typer.Option("--fix", help="Create the namespace when it is missing.")] = False,
    directory: Annotated[
        Path, typer.Option("--dir", help="Workflow whose deploy to predict (default: the current directory).")
    ] = Path(),
    runtime_class: Annotated[
        str | None, typer.Option("--runtime-class", help='RuntimeClass the deploy would use; "" for none.')
    ] = None,
) -> None:
    from tentacular import deploy

    report = deploy.cluster_check(
        target=target_options(ctx), directory=directory, fix=fix, runtime_class=runtime_class
    )

    def text(out: TextIO) -> None:
        for check in report.checks:
            out.write(f"  {'✓' if check.passed else '✗'} {check.name}\n")
            if check.warning:
                out.write(f"    ⚠ {check.warning}\n")
            if check.remediation and not check.passed:
                out.write(f"    → {check.remediation}\n")
        if report.passed:
            out.write("✓ Cluster is ready for deployment\n")

    hints = [c.remediation for c in report.checks if c.remediation and not c.passed]
    summary = (
        "cluster is ready for deployment" if report.passed else "cluster check failed — see above for details"
    )
    finish(
        ctx,
        CommandResult(
            "cluster check",
            report.passed,
            summary,
            hints=hints,
            data=report.to_dict(),
            text=text,
            show_status_line=not report.passed,
        ),
    )


def audit(
    ctx: typer.Context,
    directory: Annotated[Path, typer.Argument(help="Workflow directory.")] = Path(),
) -> None:
    from tentacular import deploy

    report = deploy.audit(directory, target=target_options(ctx))
    result = report.audit

    def text(out: TextIO) -> None:
        out.write(f"Audit Report: {report.workflow} (namespace: {report.namespace})\n")
        for section in ("networkPolicy", "secrets", "cronJobs", "deployment", "drift"):
            entry: dict[str, Any] = result[section]
            out.write(f"  {section}: {entry['status']}\n")
            for key in ("details", "missing", "extra", "differences"):
                if entry.get(key):
                    out.write(f"    {key}: {entry[key]}\n")
            for drifted in entry.get("fields") or []:
                flag = "security-relevant" if drifted["security"] else "other"
                out.write(f"    {drifted['object']} {drifted['path']} ({drifted['manager']}, {flag})\n")
            for direction in ("egress", "ingress"):
                for kind, rules in (entry.get(direction) or {}).items():
                    for rule in rules:
                        out.write(f"    {direction} {kind}: {rule}\n")
        out.write(f"Overall: {result['overall']}\n")

    summary = (
        "deployed resources match the contract"
        if report.passed
        else "audit failed - deployed resources do not match contract expectations"
    )
    hints = []
    if result["drift"]["status"] != "match":
        hints.append(f"remove what other field managers added with: tntc deploy {directory} --reclaim")
    if any(
        result[s]["status"] != "match" for s in ("networkPolicy", "cronJobs", "deployment", "webhookRoute")
    ):
        hints.append(f"a deploy restores what tntc renders: tntc deploy {directory}")
    finish(
        ctx,
        CommandResult(
            "audit",
            report.passed,
            summary,
            hints=hints,
            data={"namespace": report.namespace, "audit": result},
            text=text,
            show_status_line=not report.passed,
        ),
    )


def configure(
    ctx: typer.Context,
    project: Annotated[bool, typer.Option("--project", help="Write ./.tentacular/config.yaml.")] = False,
    registry: Annotated[str | None, typer.Option("--registry", help="Default image registry.")] = None,
    runtime_class: Annotated[str | None, typer.Option("--runtime-class", help='"" disables gVisor.')] = None,
    context: Annotated[str | None, typer.Option("--context", help="kubeconfig context (with --env).")] = None,
    kubeconfig: Annotated[
        str | None, typer.Option("--kubeconfig", help="kubeconfig file (with --env).")
    ] = None,
    image: Annotated[str | None, typer.Option("--image", help="Engine image (with --env).")] = None,
    secrets_source: Annotated[
        str | None, typer.Option("--secrets-source", help="Secrets file (with --env).")
    ] = None,
    enforcement: Annotated[
        str | None, typer.Option("--enforcement", help="strict or audit (with --env).")
    ] = None,
    override: Annotated[
        list[str] | None, typer.Option("--override", help="KEY=VALUE config override (with --env).")
    ] = None,
    init_workspace: Annotated[
        bool,
        typer.Option(
            "--init-workspace", help="Create the workspace PATH (default ~/tentacles) and its config."
        ),
    ] = False,
    path: Annotated[Path | None, typer.Argument(help="Workspace directory, with --init-workspace.")] = None,
) -> None:
    """-n/--namespace and --env are the global options: with --env, settings go into that environment."""
    if init_workspace or path is not None:
        _init_workspace(ctx, path, init_workspace)
        return
    import yaml

    from tentacular import deploy

    values = {
        "registry": registry,
        "runtime_class": runtime_class,
        "context": context,
        "kubeconfig": kubeconfig,
        "image": image,
        "secrets_source": secrets_source,
        "enforcement": enforcement,
    }
    report = deploy.configure(
        target=target_options(ctx), project=project, values=values, overrides=override or ()
    )
    if report.updated:
        progress(options_of(ctx), f"Configuration saved to {report.file}")

    def text(out: TextIO) -> None:
        if not report.updated:
            out.write(yaml.safe_dump(report.effective, sort_keys=False) or "{}\n")
            return
        for key, value in report.updated.items():
            out.write(f"  {f'environments.{report.env}.' if report.env else ''}{key}: {value}\n")

    finish(
        ctx,
        CommandResult(
            "configure",
            True,
            f"configuration saved to {report.file}" if report.updated else "effective configuration",
            data=report.to_dict(),
            text=text,
            show_status_line=False,
        ),
    )


def _init_workspace(ctx: typer.Context, path: Path | None, asked: bool) -> None:
    from tentacular.agent import init_workspace
    from tentacular.errors import UsageError

    if not asked:
        raise UsageError(
            "a PATH argument needs --init-workspace", hint="tntc configure --init-workspace PATH"
        )
    report = init_workspace(path)
    cluster = report.cluster
    hints = list(report.warnings)
    if cluster.get("checked") and not cluster.get("reachable"):
        hints.append(
            "no cluster answered: local work (init, validate, test, run --local) needs none; "
            "configure one with: tntc configure --env dev --context NAME"
        )

    def text(out: TextIO) -> None:
        out.write(f"Workspace: {report.directory}\n")
        for created in report.created:
            out.write(f"  created {created}\n")
        out.write(f"Configuration: {report.config_file}\n")
        for key, value in report.defaults_written.items():
            out.write(f"  {key}: {value}\n")
        if cluster.get("reachable"):
            out.write(f"Cluster: reachable at {cluster.get('server')} ({cluster.get('version')})\n")
        else:
            out.write(f"Cluster: not reachable ({cluster.get('message')})\n")
        for hint in hints:
            out.write(f"  hint: {hint}\n")

    finish(
        ctx,
        CommandResult(
            "configure",
            True,
            f"workspace ready at {report.directory}",
            hints=hints,
            data=report.to_dict(),
            text=text,
            show_status_line=False,
        ),
    )
