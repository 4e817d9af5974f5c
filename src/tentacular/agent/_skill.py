"""The agent skill (SKILL.md), generated from the command tree, the workflow schema and the docs.

Deterministic: the same CLI gives the same bytes, so the committed copy in ``docs/`` can be
checked for staleness (``make skill`` rewrites it).
"""

from __future__ import annotations

from typing import Any

from tentacular.agent._commands import CommandSpec, ParamSpec

# Fields a command's envelope adds to the common ones (checked against real envelopes in tests).
ENVELOPE_FIELDS: dict[str, str] = {
    "version": "`tntcVersion`, `commit`, `python`",
    "init": "`directory`, `files`; with --from also `template`",
    "validate": "`file`, `workflow {name, version, nodes, edges, triggers, hasContract}`, `stages`, "
    "`derived {secrets, egressRules, ingressRules, …}`, `warnings`, `secretWarnings`; "
    "on failure `errors[]` with file, line, column, path, message, hint",
    "visualize": "`mermaid`, `contractSummary`, `written`",
    "schema": "`schema` (the JSON Schema of workflow.yaml)",
    "run": "`workflow` (or `name`, `namespace` for deployed runs), `execution {success, outputs, errors, "
    "cancelled, timing}`",
    "test": "`results[]` (per node: expected vs actual, time), `drift`, `summary` counts",
    "build": "`image`, `pushed`, `kindLoaded`, …",
    "deploy": "dry run: `dryRun`, `workflow`, `namespace`, `image`, `objects`, `applyOrder`, "
    "`secretSources {service.key: source}`; "
    "else `phases`, `manifests`, `warnings`, `secretSources`, `target`, `checks`, `execution`",
    "undeploy": "`name`, `namespace`, `removed`",
    "status": "`workflow {name, namespace, ready, replicas, available, …}`",
    "list": "`workflows[]`",
    "logs": "`pod`, `namespace`, `lines`",
    "audit": "`namespace`, `audit {networkPolicy, secrets, cronJobs, deployment, overall}`",
    "configure": "`file`, `updated`, `effective`, `files`; with --init-workspace `workspace`, "
    "`configFile`, `created`, `defaults`, `cluster {checked, reachable, server, version, message}`, "
    "`warnings`",
    "catalog list": "`templates[] {catalog, name, description, version, tags, secrets, path, minTntcVersion, "
    "files}`, `catalogs[]`",
    "catalog search": "`templates[]`, `catalogs[]` (as catalog list)",
    "catalog info": "`template` (as one entry of catalog list)",
    "catalog pull": "`directory`, `files`, `template`",
    "catalog index": "`file`, `templates[]`",
    "cluster check": "`namespace`, `checks[]`",
    "skill": "`skill` (this document), `written`",
    "secrets check": "`workflow`, `directory`, `required`, `missing[]`, `unused[]`, "
    "`keys[] {ref, status, source, requiredBy, reason, didYouMean}`",
    "secrets init": "`path`, `keys[]`, `gitignoreUpdated`",
    "secrets sync": "`workflow`, `namespace`, `secret`, `changed`, `rolled`, `keys[] {ref, status}`, "
    "`sources {service.key: source}`",
    "secrets diff": "`workflow`, `namespace`, `secret`, `inCluster`, `keys[] {ref, status}` "
    "(status: only-local, only-cluster, differs, same)",
}
# What to do about each stable error code (the error's own `hint` is more specific).
ERROR_HINTS: dict[str, str] = {
    "usage": "fix the command line; `tntc <command> --help` lists the options",
    "invalid_input": "fix the file, path or JSON value named in the message",
    "workflow_not_found": "pass a workflow directory, or create one with `tntc init NAME`",
    "invalid_workflow": "fix each entry of `errors[]` (file:line, field path), then validate again",
    "scaffold_refused": "choose an empty directory, or pass --force",
    "secrets": "provide the secret in .secrets.yaml / .secrets/ or fix the `$shared` reference",
    "secret_reference": "fix the reference: secret://<provider>/<path>[#field]",
    "secret_provider": "check the provider named in the message: configured in secret_providers, "
    "allowed by the environment, reachable, credentials and path/field right",
    "secrets_missing": "provision the keys listed (`tntc secrets check`, `tntc secrets init`) or pass "
    "--allow-missing-secrets",
    "node_load": "fix the node module: it must import and export an async `run(ctx, input)`",
    "build_failed": "read the build output in the progress lines",
    "tool_not_found": "install the missing tool named in the message (e.g. docker, buildah)",
    "manifest": "the rendered manifests exceed a limit or miss a reference; see the message",
    "cluster": "the Kubernetes API call failed; see the message",
    "cluster_unreachable": "check the kubeconfig/context (`tntc cluster check`)",
    "cluster_unauthorized": "refresh the cluster credentials",
    "cluster_forbidden": "`denied` names the verb, resource and scope the account lacks (or admission "
    "refused the object); `tntc cluster check` lists everything missing",
    "cluster_kubelet_unreachable": "the API server cannot reach the kubelet on the `node` named; "
    "an operator must fix the node (logs/exec only; the workflow may still run)",
    "cluster_not_found": "the workflow or namespace does not exist there; check `tntc list`",
    "cluster_conflict": "someone else changed the object; run the command again",
    "cluster_invalid": "the API server rejected an object; the message names the field",
    "config": "fix ~/.tentacular/config.yaml or ./.tentacular/config.yaml",
    "invalid_fixture": "fix tests/fixtures/<node>.json (input, expected, config, secrets, mocks)",
    "unmocked_request": "add a mock for the request to the fixture",
    "undeclared_dependency": "declare the dependency in contract.dependencies",
    "apply_incomplete": "`applied` lists what was written; fix the failed object and deploy again",
    "preflight_failed": "nothing was applied; fix what `checks` reports",
    "rollout_timeout": "the pods did not become ready; `tntc status NAME --detail` and `tntc logs NAME`",
    "run_failed": "the trigger could not deliver the run; `tntc logs NAME`",
    "confirmation_required": "MCP only: ask the user, then call again with confirm: true",
}

_LIFECYCLE = """\
## Lifecycle

1. `tntc init NAME` — scaffold a workflow (`--from CATALOG:TEMPLATE` starts from a catalog template).
2. Edit `workflow.yaml` (the DAG and the **contract** of every network service it may reach) and
   the node modules under `nodes/`.
3. `tntc validate DIR` — schema, DAG and contract checks with file:line and field paths.
4. `tntc test DIR` — fixture tests per node (`tests/fixtures/<node>.json`); `--pipeline` runs the DAG.
   Contract drift (a node reaching something undeclared) fails the test.
5. `tntc run --local DIR --input JSON` — one run on the embedded engine, guard on.
6. **Pre-build review gate** (below): show the user `tntc visualize DIR --rich` and wait for a yes.
7. `tntc build DIR` — the engine image (only when the workflow needs Python packages or a new engine).
8. `tntc deploy DIR --dry-run` — review every object; then `tntc deploy DIR`.
9. `tntc status NAME`, `tntc run NAME`, `tntc logs NAME`, `tntc audit DIR`; `tntc undeploy NAME --yes`.

## Pre-build review gate

Before building or deploying, show the user what the workflow will be allowed to do and get an
explicit yes: the diagram and the derived contract summary from `tntc visualize DIR --rich`
(secrets it reads, hosts and ports it may reach, ingress it opens), and the objects of
`tntc deploy DIR --dry-run`. Never deploy a contract the user has not seen. Never pass
`--force`, `--warn` or `--no-guard` on your own: they weaken checks and need the user's say-so.

## Output for agents

Always pass `-o json`: stdout is then exactly one JSON envelope and progress goes to stderr.

```json
{"version": "1", "command": "validate", "status": "pass|fail", "summary": "one line",
 "hints": ["what to do next"], "timing": {"startedAt": "…Z", "durationMs": 41},
 "error": {"code": "stable_code", "message": "…", "hint": "…"}, "...": "command fields"}
```

`error` is present on failure. Exit codes: 0 success, 1 the operation failed, 2 invalid usage or
input. The MCP server (`tntc mcp`) offers every command below as a tool of the same name
(spaces become `_`) returning the same envelope as structured content.
"""


def render_skill(
    commands: list[CommandSpec],
    *,
    version: str,
    schema: dict[str, Any],
    doc_pages: dict[str, str],
    error_codes: list[tuple[str, int, str]],
) -> str:
    """SKILL.md. ``doc_pages`` maps page name to its title; ``error_codes`` is (code, exit, meaning)."""
    major_minor = ".".join(version.split(".")[:2])
    parts = [
        "---\n"
        "name: tentacular\n"
        "description: Build, test and deploy secure workflows (a DAG of Python/TypeScript nodes with a "
        "network contract) to Kubernetes with the tntc CLI or its MCP server.\n"
        f"requires: tntc >= {major_minor}\n"
        "---\n\n"
        "# Tentacular (`tntc`)\n\n"
        "Generated by `tntc skill` from the CLI's own command tree; do not edit by hand.\n\n",
        _LIFECYCLE,
        _commands_section(commands),
        _schema_section(schema),
        _errors_section(error_codes),
        _docs_section(doc_pages),
    ]
    return "\n".join(part.rstrip("\n") + "\n" for part in parts)


def _commands_section(commands: list[CommandSpec]) -> str:
    lines = [
        "## Commands\n",
        "Global options (before or after the command): `-o, --output text|json`, `-n, --namespace NAME`, "
        "`--env NAME`, `--debug`.\n",
    ]
    for command in commands:
        arguments = " ".join(
            (p.name.upper() if p.required else f"[{p.name.upper()}]") for p in command.params if p.positional
        )
        lines.append(f"### `tntc {command.name}{' ' + arguments if arguments else ''}`\n")
        lines.append(f"{command.help}\n")
        if command.params:
            lines.append("| Parameter | Type | Default | Meaning |")
            lines.append("|---|---|---|---|")
            lines.extend(_param_row(p) for p in command.params)
            lines.append("")
        fields = ENVELOPE_FIELDS.get(command.name)
        lines.append(
            f"Envelope fields: {fields}.\n" if fields else "Envelope fields: the common ones (see above).\n"
        )
    return "\n".join(lines)


def _param_row(param: ParamSpec) -> str:
    if param.positional:
        name = param.name.upper()
    else:
        name = ", ".join(f"`{flag}`" for flag in (*param.flags, *param.off_flags))
    kind = param.json_type + ("[]" if param.multiple else "")
    if param.choices:
        kind = " \\| ".join(param.choices)
    default = "required" if param.required else _default(param)
    meaning = param.help.replace("|", "\\|")
    return f"| {name} | {kind} | {default} | {meaning} |"


def _default(param: ParamSpec) -> str:
    if param.default is None or (param.is_flag and param.default is False):
        return ""
    return f"`{str(param.default).lower() if isinstance(param.default, bool) else param.default}`"


def _schema_section(schema: dict[str, Any]) -> str:
    required = set(schema.get("required", []))
    lines = [
        "## workflow.yaml\n",
        "The full JSON Schema: `tntc schema -o json` (MCP resource `tntc://schema/workflow`). "
        "Top-level fields:\n",
        "| Field | Required | Meaning |",
        "|---|---|---|",
    ]
    for name, prop in schema.get("properties", {}).items():
        description = " ".join(str(prop.get("description", "")).split()).replace("|", "\\|")
        description = description or _shape(prop)
        lines.append(f"| `{name}` | {'yes' if name in required else ''} | {description} |")
    return "\n".join(lines) + "\n"


def _shape(prop: dict[str, Any]) -> str:
    if "$ref" in prop:
        return str(prop["$ref"]).rsplit("/", 1)[-1]
    if "anyOf" in prop:
        return " or ".join(_shape(p) for p in prop["anyOf"] if p.get("type") != "null")
    kind = prop.get("type", "object")
    if kind == "array" and isinstance(prop.get("items"), dict):
        return f"list of {_shape(prop['items'])}"
    if kind == "object" and isinstance(prop.get("additionalProperties"), dict):
        return f"map of {_shape(prop['additionalProperties'])}"
    return str(kind)


def _errors_section(error_codes: list[tuple[str, int, str]]) -> str:
    lines = [
        "## Error codes\n",
        "`error.code` is stable; `error.hint` is specific to the failure, the hint here is the usual fix.\n",
        "| Code | Exit | Meaning | Usual fix |",
        "|---|---|---|---|",
    ]
    for code, exit_code, meaning in error_codes:
        lines.append(f"| `{code}` | {exit_code} | {meaning} | {ERROR_HINTS.get(code, 'see `error.hint`')} |")
    return "\n".join(lines) + "\n"


def _docs_section(doc_pages: dict[str, str]) -> str:
    lines = ["## Documentation\n", "MCP resources `tntc://docs/<page>` (files `docs/<page>.md`):\n"]
    lines.extend(f"- `{page}` — {title}" for page, title in sorted(doc_pages.items()))
    return "\n".join(lines) + "\n"


def error_codes() -> list[tuple[str, int, str]]:
    """Every stable code of the exception tree (plus the MCP-only ones), in a stable order."""
    from tentacular import errors

    found: dict[str, tuple[int, str]] = {}
    pending: list[type[errors.TentacularError]] = [errors.TentacularError]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls is errors.TentacularError or cls.__module__ != errors.__name__:
            continue  # the one tree lives in errors.py; what else is imported must not change the output
        meaning = " ".join((cls.__doc__ or "").strip().split("\n\n")[0].split()) or cls.__name__
        found.setdefault(cls.code, (cls.exit_code, meaning.replace("|", "\\|")))
    found.setdefault(
        "confirmation_required", (2, "MCP: a tool that would prompt was called without confirm: true")
    )
    return [(code, exit_code, meaning) for code, (exit_code, meaning) in sorted(found.items())]
