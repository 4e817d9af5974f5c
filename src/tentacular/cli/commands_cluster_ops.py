"""Read-mostly cluster commands: status, list, logs, cluster check, audit, configure."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any, TextIO

import typer

from tentacular.cli.commands_cluster import target_for
from tentacular.cli.common import finish, options_of
from tentacular.cli.output import CommandResult, progress

cluster_app = typer.Typer(help="Check that a cluster is ready for tentacular.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.command("status", help="Show a deployed workflow's readiness (and details).")(status)
    app.command("list", help="List deployed workflows.")(list_workflows)
    app.command("logs", help="Print (or follow) a workflow pod's logs.")(logs)
    app.command("audit", help="Compare deployed resources with the workflow's contract.")(audit)
    app.command("configure", help="Write user or project configuration and environments.")(configure)
    cluster_app.command("check", help="Check API, namespace, gVisor, RBAC and secrets.")(cluster_check)
    app.add_typer(cluster_app, name="cluster")


def status(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Workflow name.")],
    detail: Annotated[bool, typer.Option("--detail", help="Add pods, service, limits, events.")] = False,
) -> None:
    from tentacular.deploy.kube.client import connect
    from tentacular.deploy.kube.inspect import workflow_status

    target = target_for(ctx)
    with connect(target.cluster) as kube:
        view = workflow_status(kube, name, target.namespace.value, detail=detail)

    def text(out: TextIO) -> None:
        out.write(f"Workflow: {view['name']}\nNamespace: {view['namespace']}\n")
        out.write(f"Status: {'ready' if view['ready'] else 'not ready'}\n")
        out.write(f"Replicas: {view['available']}/{view['replicas']}\n")
        if not detail:
            return
        out.write(f"Image: {view['image']}\nRuntime Class: {view['runtimeClass'] or '(none)'}\n")
        limits = ", ".join(f"{k}={v}" for k, v in view["resourceLimits"].items())
        out.write(f"Resource Limits: {limits or '(none)'}\nService: {view['serviceEndpoint'] or '(none)'}\n")
        out.write("Pods:\n")
        for pod in view["pods"]:
            out.write(
                f"  {pod['name']} {pod['phase']} {'ready' if pod['ready'] else 'not ready'} {pod['ip']}\n"
            )
        out.write("Recent Events:\n")
        for event in view["events"]:
            out.write(f"  {event['time']} {event['reason']}: {event['message']}\n")

    ready = "ready" if view["ready"] else "not ready"
    finish(
        ctx,
        CommandResult(
            "status",
            True,
            f"{name} is {ready}",
            data={"workflow": view},
            text=text,
            show_status_line=False,
        ),
    )


def list_workflows(
    ctx: typer.Context,
    all_namespaces: Annotated[bool, typer.Option("-A", "--all-namespaces", help="Every namespace.")] = False,
) -> None:
    from tentacular.deploy.kube.client import connect
    from tentacular.deploy.kube.inspect import age, list_workflows

    target = target_for(ctx)
    namespace = None if all_namespaces else target.namespace.value
    with connect(target.cluster) as kube:
        rows = list_workflows(kube, namespace)

    def text(out: TextIO) -> None:
        if not rows:
            out.write(f"No workflows found in namespace {namespace or '(all)'}\n")
            return
        out.write(f"{'NAME':<24}{'VERSION':<8}{'NAMESPACE':<16}{'STATUS':<10}{'REPLICAS':<10}AGE\n")
        for row in rows:
            state = "ready" if row["ready"] else "not ready"
            replicas = f"{row['available']}/{row['replicas']}"
            out.write(
                f"{row['name']:<24}{row['version'] or '':<8}{row['namespace']:<16}{state:<10}"
                f"{replicas:<10}{age(row['created'])}\n"
            )

    finish(
        ctx,
        CommandResult(
            "list",
            True,
            f"{len(rows)} workflow(s)",
            data={"workflows": rows},
            text=text,
            show_status_line=False,
        ),
    )


def logs(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Workflow name.")],
    follow: Annotated[bool, typer.Option("-f", "--follow", help="Stream until interrupted.")] = False,
    tail: Annotated[int, typer.Option("--tail", help="Lines from the end.")] = 100,
) -> None:
    from tentacular.deploy.kube.client import connect
    from tentacular.deploy.kube.inspect import pick_pod

    options = options_of(ctx)
    target = target_for(ctx)
    namespace = target.namespace.value
    with connect(target.cluster) as kube:
        pod = pick_pod(kube, name, namespace)
        if options.json:
            lines = [line.rstrip("\n") for line in kube.pod_log(pod, namespace, tail=tail)]
            finish(
                ctx,
                CommandResult(
                    "logs",
                    True,
                    f"{len(lines)} line(s) from {pod}",
                    data={"pod": pod, "namespace": namespace, "lines": lines},
                ),
            )
            return
        progress(options, f"Logs of {pod} ({namespace}):")
        try:
            for line in kube.pod_log(pod, namespace, tail=tail, follow=follow):
                sys.stdout.write(line)
                sys.stdout.flush()
        except KeyboardInterrupt:
            pass


def cluster_check(
    ctx: typer.Context,
    fix: Annotated[bool, typer.Option("--fix", help="Create the namespace when it is missing.")] = False,
    directory: Annotated[Path, typer.Option("--dir", help="Workflow whose secrets to check.")] = Path(),
) -> None:
    from tentacular.deploy.kube.checks import run_checks
    from tentacular.deploy.kube.client import connect
    from tentacular.spec import check_workflow
    from tentacular.spec.derive import secret_inventory

    target = target_for(ctx)
    namespace = target.namespace.value
    secret_names: list[str] = []
    note = None
    try:
        checked = check_workflow(directory)
    except Exception:  # no workflow here is normal for a cluster check
        checked = None
    if checked is not None and checked.workflow is not None:
        if secret_inventory(checked.workflow):
            secret_names = [f"{checked.workflow.name}-secrets"]
    else:
        note = "No workflow spec found; secret reference check skipped"
    with connect(target.cluster) as kube:
        checks = run_checks(
            kube,
            namespace,
            runtime_class=target.runtime_class.value or "gvisor",
            runtime_class_required=False,
            secret_names=secret_names,
            fix=fix,
        )
    if note and checks[-1].name == "Secret references":
        checks[-1].warning = note
    passed = all(c.passed for c in checks)

    def text(out: TextIO) -> None:
        for check in checks:
            out.write(f"  {'✓' if check.passed else '✗'} {check.name}\n")
            if check.warning:
                out.write(f"    ⚠ {check.warning}\n")
            if check.remediation and not check.passed:
                out.write(f"    → {check.remediation}\n")
        if passed:
            out.write("✓ Cluster is ready for deployment\n")

    hints = [c.remediation for c in checks if c.remediation and not c.passed]
    summary = "cluster is ready for deployment" if passed else "cluster check failed — see above for details"
    finish(
        ctx,
        CommandResult(
            "cluster check",
            passed,
            summary,
            hints=hints,
            data={"namespace": namespace, "checks": [c.to_dict() for c in checks]},
            text=text,
            show_status_line=not passed,
        ),
    )


def audit(
    ctx: typer.Context,
    directory: Annotated[Path, typer.Argument(help="Workflow directory.")] = Path(),
) -> None:
    from tentacular.deploy.kube.audit import audit_workflow
    from tentacular.deploy.kube.client import connect
    from tentacular.deploy.plan import local_secrets_for, render_objects
    from tentacular.errors import InputError
    from tentacular.spec import load_workflow

    loaded = load_workflow(directory)
    if loaded.workflow.contract is None:
        raise InputError(
            "workflow has no contract section - audit requires contract", hint="add a contract block"
        )
    target = target_for(
        ctx, workflow_namespace=loaded.workflow.deployment.namespace, workflow_dir=loaded.directory
    )
    namespace = target.namespace.value
    expected = render_objects(loaded, target, local_secrets_for(loaded, target))
    with connect(target.cluster) as kube:
        report = audit_workflow(kube, loaded.workflow, expected, namespace)
    passed = report["overall"] == "pass"

    def text(out: TextIO) -> None:
        out.write(f"Audit Report: {loaded.workflow.name} (namespace: {namespace})\n")
        for section in ("networkPolicy", "secrets", "cronJobs", "deployment"):
            entry: dict[str, Any] = report[section]
            out.write(f"  {section}: {entry['status']}\n")
            for key in ("details", "missing", "extra", "differences"):
                if entry.get(key):
                    out.write(f"    {key}: {entry[key]}\n")
            for direction in ("egress", "ingress"):
                for kind, rules in (entry.get(direction) or {}).items():
                    for rule in rules:
                        out.write(f"    {direction} {kind}: {rule}\n")
        out.write(f"Overall: {report['overall']}\n")

    summary = (
        "deployed resources match the contract"
        if passed
        else ("audit failed - deployed resources do not match contract expectations")
    )
    finish(
        ctx,
        CommandResult(
            "audit",
            passed,
            summary,
            data={"namespace": namespace, "audit": report},
            text=text,
            show_status_line=not passed,
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

    from tentacular.deploy.settings import (
        environment_from_fields,
        load_settings,
        project_config_path,
        update_config_file,
        user_config_path,
    )
    from tentacular.errors import UsageError

    options = options_of(ctx)
    env = options.env
    updates: dict[str, Any] = {}
    for key, value in (
        ("registry", registry),
        ("namespace", options.namespace),
        ("runtime_class", runtime_class),
    ):
        if value is not None:
            updates[key] = value
    env_only = {
        "context": context,
        "kubeconfig": kubeconfig,
        "image": image,
        "secrets_source": secrets_source,
    }
    env_only["enforcement"] = enforcement
    given = {k: v for k, v in env_only.items() if v is not None}
    if (given or override) and not env:
        raise UsageError(
            "--context, --kubeconfig, --image, --secrets-source, --enforcement, --override need --env NAME"
        )
    if env and "registry" in updates:
        raise UsageError("registry is a top-level setting; drop --env")
    updates.update(given)
    if override:
        pairs: dict[str, Any] = {}
        for item in override:
            key, sep, raw = item.partition("=")
            if not sep or not key:
                raise UsageError(f"--override wants KEY=VALUE, got {item!r}")
            pairs[key] = yaml.safe_load(raw) if raw else ""
        updates["config_overrides"] = pairs
    path = project_config_path() if project else user_config_path()
    if updates:
        if env:
            environment_from_fields(env, {k: v for k, v in updates.items()})  # validate before writing
        update_config_file(path, updates, env)
        progress(options, f"Configuration saved to {path}")
    settings = load_settings()
    shown = {k: v for k, v in updates.items()}

    def text(out: TextIO) -> None:
        if not updates:
            out.write(yaml.safe_dump(dict(settings.data), sort_keys=False) or "{}\n")
            return
        for key, value in shown.items():
            out.write(f"  {f'environments.{env}.' if env else ''}{key}: {value}\n")

    finish(
        ctx,
        CommandResult(
            "configure",
            True,
            f"configuration saved to {path}" if updates else "effective configuration",
            data={
                "file": str(path),
                "updated": shown,
                "effective": dict(settings.data),
                "files": [str(p) for p in settings.files],
            },
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
