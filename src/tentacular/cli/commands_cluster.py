"""Cluster commands about one deployed workflow: undeploy, status, list, logs."""

from __future__ import annotations

import sys
from typing import Annotated, Any, TextIO

import typer

from tentacular.cli.common import event_printer, finish, options_of, target_options
from tentacular.cli.output import CommandResult, progress

_PROVENANCE = (
    ("Deployed by", "deployedBy"),
    ("Deployed at", "deployedAt"),
    ("Git SHA", "gitSha"),
    ("Source", "sourcePath"),
    ("Release", "release"),
)


def register(app: typer.Typer) -> None:
    # `tntc deploy` lives in commands_build (with --dry-run); `tntc run NAME` in commands_engine.
    app.command("undeploy", help="Remove a deployed workflow and everything it created.")(undeploy)
    app.command("status", help="Show a deployed workflow's readiness (and details).")(status)
    app.command("list", help="List deployed workflows.")(list_workflows)
    app.command("logs", help="Print (or follow) a workflow pod's logs.")(logs)


def undeploy(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Workflow name.")],
    yes: Annotated[bool, typer.Option("-y", "--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    from tentacular import deploy
    from tentacular.errors import UsageError

    options = options_of(ctx)
    if not yes and options.output != "text":
        raise UsageError(
            f"undeploy needs --yes with -o {options.output} (no prompt when output is machine-read)"
        )

    def confirm(workflow: str, namespace: str) -> bool:
        answer = typer.prompt(
            f"Remove workflow {workflow} from namespace {namespace}? [y/N]", default="", show_default=False
        )
        return answer.strip().lower() in ("y", "yes")

    report = deploy.undeploy(
        name, target=target_options(ctx), confirm=None if yes else confirm, on_event=event_printer(ctx)
    )
    if report.cancelled:
        progress(options, "Cancelled.")
        finish(
            ctx, CommandResult("undeploy", True, "cancelled", data=report.to_dict(), show_status_line=False)
        )
        return
    summary = (
        f"removed {name} from {report.namespace}"
        if report.removed
        else f"No resources found for {name} in {report.namespace}"
    )
    finish(
        ctx,
        CommandResult(
            "undeploy",
            True,
            summary,
            data=report.to_dict(),
            text=lambda out: print(summary, file=out),
            show_status_line=False,
        ),
    )


def status(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Workflow name.")],
    detail: Annotated[
        bool, typer.Option("--detail", help="Add pods, service, limits, events and token usage.")
    ] = False,
) -> None:
    from tentacular import deploy

    view = deploy.status(name, target=target_options(ctx), detail=detail)

    def text(out: TextIO) -> None:
        out.write(f"Workflow: {view['name']}\nNamespace: {view['namespace']}\n")
        out.write(f"Status: {'ready' if view['ready'] else 'not ready'}\n")
        out.write(f"Replicas: {view['available']}/{view['replicas']}\n")
        for label, key in _PROVENANCE:
            if view.get(key):
                out.write(f"{label}: {view[key]}\n")
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
        write_usage(out, view["usage"])

    ready = "ready" if view["ready"] else "not ready"
    result = CommandResult(
        "status", True, f"{name} is {ready}", data={"workflow": view}, text=text, show_status_line=False
    )
    finish(ctx, result)


def list_workflows(
    ctx: typer.Context,
    all_namespaces: Annotated[bool, typer.Option("-A", "--all-namespaces", help="Every namespace.")] = False,
) -> None:
    from tentacular import deploy
    from tentacular.cli.timefmt import age

    listing = deploy.list_workflows(target=target_options(ctx), all_namespaces=all_namespaces)
    rows = listing.workflows
    if listing.note:
        progress(options_of(ctx), f"⚠ {listing.note}")

    def text(out: TextIO) -> None:
        if not rows:
            out.write(f"No workflows found in namespace {listing.namespace or '(all)'}\n")
            return
        out.write(
            f"{'NAME':<24}{'VERSION':<8}{'NAMESPACE':<16}{'STATUS':<10}{'REPLICAS':<10}{'AGE':<8}"
            "DEPLOYED BY\n"
        )
        for row in rows:
            state = "ready" if row["ready"] else "not ready"
            replicas = f"{row['available']}/{row['replicas']}"
            out.write(
                f"{row['name']:<24}{row['version'] or '':<8}{row['namespace']:<16}{state:<10}"
                f"{replicas:<10}{age(row['created']):<8}{row.get('deployedBy') or ''}\n"
            )

    data: dict[str, Any] = {"workflows": rows}
    if listing.note:
        data.update(searched=listing.searched, note=listing.note)
    result = CommandResult(
        "list",
        True,
        f"{len(rows)} workflow(s)",
        hints=[listing.note] if listing.note else [],
        data=data,
        text=text,
        show_status_line=False,
    )
    finish(ctx, result)


def logs(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Workflow name.")],
    follow: Annotated[bool, typer.Option("-f", "--follow", help="Stream until interrupted.")] = False,
    tail: Annotated[int, typer.Option("--tail", help="Lines from the end.")] = 100,
    usage: Annotated[
        bool, typer.Option("--usage", help="Summarise LLM token usage from the pods' counters instead.")
    ] = False,
) -> None:
    from tentacular import deploy

    options = options_of(ctx)
    if usage:
        summary = deploy.usage(name, target=target_options(ctx))
        total = summary["total"]
        finish(
            ctx,
            CommandResult(
                "logs",
                True,
                f"{name}: {total['totalTokens']} tokens in {total['calls']} LLM call(s)",
                data={"usage": summary},
                text=lambda out: write_usage(out, summary),
                show_status_line=False,
            ),
        )
        return
    machine = options.output != "text"
    with deploy.logs(name, target=target_options(ctx), tail=tail, follow=follow and not machine) as stream:
        if machine:
            lines = [line.rstrip("\n") for line in stream.lines]
            data = {"pod": stream.pod, "namespace": stream.namespace, "lines": lines}
            finish(ctx, CommandResult("logs", True, f"{len(lines)} line(s) from {stream.pod}", data=data))
            return
        progress(options, f"Logs of {stream.pod} ({stream.namespace}):")
        try:
            for line in stream.lines:
                sys.stdout.write(line)
                sys.stdout.flush()
        except KeyboardInterrupt:
            pass


def write_usage(out: TextIO, usage: dict[str, Any]) -> None:
    """The token-usage summary of ``tntc status --detail`` and ``tntc logs --usage``."""
    total, pods = usage["total"], usage["pods"]
    cost = f", cost {total['cost']:g}" if total["cost"] is not None else ""
    out.write(
        f"Token usage (since pod start, {usage['reached']}/{len(pods)} pod(s) reached): "
        f"{total['totalTokens']} tokens ({total['inputTokens']} in, {total['outputTokens']} out) "
        f"in {total['calls']} LLM call(s){cost}\n"
    )
    for model, entry in sorted(usage["models"].items()):
        provider = f" ({entry['provider']})" if entry["provider"] else ""
        out.write(
            f"  {model}{provider}: {entry['inputTokens']} in, {entry['outputTokens']} out, "
            f"{entry['calls']} call(s)\n"
        )
    for pod in pods:
        if "error" in pod:
            out.write(f"  pod {pod['pod']}: not counted ({pod['error']})\n")
