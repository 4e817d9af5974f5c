"""Load workflow.yaml into the model, reporting every problem with its place in the file."""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from tentacular.defaults import WORKFLOW_FILE
from tentacular.errors import SpecError
from tentacular.spec._crossref import cross_check
from tentacular.spec._issues import SpecIssue
from tentacular.spec._loaded import LoadedWorkflow, resolve_workflow_file
from tentacular.spec._model import TRIGGER_TYPES, Dependency, Workflow, WorkflowConfig
from tentacular.spec._ports import KNOWN_PROTOCOLS
from tentacular.spec._values import MAX_DOCUMENT_BYTES
from tentacular.spec._yamlsource import PathKey, YamlDocument, YamlSyntaxError, parse_yaml

_HINTS: dict[str, str] = {
    "workflow_name": "use lower-case letters, digits and single hyphens, e.g. my-workflow",
    "version": 'use MAJOR.MINOR or MAJOR.MINOR.PATCH, quoted, e.g. version: "1.0"',
    "version_unquoted": 'quote it so YAML keeps it a string, e.g. version: "1.0"',
    "identifier": "start with a lower-case letter, then lower-case letters, digits, '_' or '-'",
    "secret_ref": "reference a secret as <service>.<key>, e.g. github.token; never put the value here",
    "duration": 'use <n>ms, <n>s, <n>m or <n>h, e.g. timeout: "30s"',
    "cidr": "write a network with its prefix length, e.g. 10.0.0.0/8 or 2001:db8::/32",
    "cron_schedule": 'five fields: minute hour day-of-month month day-of-week, e.g. "0 9 * * 1"',
    "node_path": "keep node code under nodes/, e.g. path: ./nodes/fetch.py",
    "wildcard_host": "list every host the workflow calls as its own dependency",
    "host_format": "write only the host name, e.g. api.github.com (no scheme, no path)",
    "contract_version": 'set contract.version: "1"',
    "port_spec": 'write ports as "443", "443/TCP", "53/UDP" or {port: 443, protocol: TCP}',
    "webhook_target": "set provider (e.g. github) or path",
    "rbac_account": "set deployment.serviceAccount to the account the rules are bound to",
    "union_tag_invalid": "set type to one of: " + ", ".join(TRIGGER_TYPES),
    "union_tag_not_found": "set type to one of: " + ", ".join(TRIGGER_TYPES),
    "syntax": "check the indentation and quoting around this position",
}

_TYPE_NAMES = {
    "string_type": "a string",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "bool_type": "true or false",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "list_type": "a list",
}


@dataclass
class WorkflowCheck:
    """The outcome of checking one workflow file: the model when valid, and every finding."""

    file: Path
    workflow: Workflow | None
    issues: list[SpecIssue] = field(default_factory=list)
    text: str = ""

    @property
    def directory(self) -> Path:
        return self.file.parent

    @property
    def errors(self) -> list[SpecIssue]:
        return [issue for issue in self.issues if issue.severity == "error"]

    @property
    def warnings(self) -> list[SpecIssue]:
        return [issue for issue in self.issues if issue.severity == "warning"]

    @property
    def ok(self) -> bool:
        return self.workflow is not None and not self.errors


def check_workflow(path: str | Path = ".", *, compile_nodes: bool = False) -> WorkflowCheck:
    """Read and check a workflow; never raises for problems inside the file.

    ``compile_nodes`` (``tntc validate``) also compiles every Python node without running it.
    """
    file = resolve_workflow_file(path)
    try:
        size = file.stat().st_size
        if size > MAX_DOCUMENT_BYTES:
            issue = SpecIssue(
                file=str(file),
                path="",
                message=f"workflow.yaml is {size} bytes; the limit is {MAX_DOCUMENT_BYTES} (256 KiB; it "
                "shares a 1 MiB ConfigMap with the node code)",
                hint="move data out of workflow.yaml: large values belong in files the nodes read",
                line=1,
                column=1,
            )
            return WorkflowCheck(file=file, workflow=None, issues=[issue])
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        issue = SpecIssue(file=str(file), path="", message=f"cannot read file: {exc}")
        return WorkflowCheck(file=file, workflow=None, issues=[issue])
    workflow, issues = parse_workflow(text, file=str(file), directory=file.parent)
    if compile_nodes and workflow is not None:
        from tentacular.spec._nodecode import check_python_nodes

        code_issues = check_python_nodes(workflow, file.parent)
        if code_issues:
            issues = sorted([*issues, *code_issues], key=lambda i: i.severity != "error")
            workflow = None if any(i.severity == "error" for i in code_issues) else workflow
    return WorkflowCheck(file=file, workflow=workflow, issues=issues, text=text)


def load_workflow(path: str | Path = ".") -> LoadedWorkflow:
    """Load a workflow or raise SpecError listing every problem."""
    check = check_workflow(path)
    if check.workflow is None or check.errors:
        count = len(check.errors)
        raise SpecError(
            f"{check.file} has {count} error{'s' if count != 1 else ''}",
            check.issues,
            hint=f"run: tntc validate {check.directory}",
        )
    return LoadedWorkflow(check.workflow, check.file, check.text, tuple(check.warnings))


MAX_NODES = 1000
MAX_EDGES = 5000


def _too_many(document: YamlDocument, file: str) -> SpecIssue | None:
    """Node and edge counts are capped so validation and DAG checks stay bounded (docs/security.md)."""
    for field_name, limit in (("nodes", MAX_NODES), ("edges", MAX_EDGES)):
        value = document.data.get(field_name)
        if isinstance(value, dict | list) and len(value) > limit:
            mark = document.mark_for((field_name,), key=True)
            return SpecIssue(
                file=file,
                path=field_name,
                message=f"{len(value)} {field_name}; a workflow may have at most {limit}",
                hint="split the workflow into several that trigger each other (queue triggers)",
                line=mark.line if mark else None,
                column=mark.column if mark else None,
            )
    return None


def parse_workflow(
    text: str, *, file: str = WORKFLOW_FILE, directory: Path | None = None
) -> tuple[Workflow | None, list[SpecIssue]]:
    """Validate workflow.yaml text; node files are checked when ``directory`` is given."""
    try:
        document = parse_yaml(text)
    except YamlSyntaxError as exc:
        line, column = (exc.mark.line, exc.mark.column) if exc.mark else (None, None)
        issue = SpecIssue(
            file=file,
            path="",
            message=f"invalid YAML: {exc}",
            hint=exc.hint or _HINTS["syntax"],
            line=line,
            column=column,
        )
        return None, [issue]
    if not isinstance(document.data, dict):
        kind = "empty" if document.data is None else type(document.data).__name__
        issue = SpecIssue(
            file=file,
            path="",
            message=f"workflow.yaml must be a mapping of fields, got {kind}",
            hint="start from the scaffold: tntc init <name>",
            line=1,
            column=1,
        )
        return None, [issue]
    too_many = _too_many(document, file)
    if too_many is not None:
        return None, [too_many]
    issues: list[SpecIssue] = []
    workflow: Workflow | None = None
    try:
        workflow = Workflow.model_validate(document.data)
    except ValidationError as exc:
        issues.extend(_translate(error, document, file) for error in exc.errors())
    except (RecursionError, OverflowError, ValueError) as exc:  # pathological input
        issues.append(SpecIssue(file=file, path="", message=f"unusable workflow: {exc}"))
    for finding in cross_check(document.data, directory):
        mark = document.mark_for(finding.path, key=finding.on_key)
        issues.append(
            SpecIssue(
                file=file,
                path=format_path(finding.path),
                message=finding.message,
                hint=finding.hint,
                line=mark.line if mark else None,
                column=mark.column if mark else None,
                severity="error" if finding.severity == "error" else "warning",
            )
        )
    if workflow is not None:
        issues.extend(_model_warnings(workflow, document, file))
    issues.sort(key=lambda issue: (issue.severity != "error", issue.line or 0, issue.column or 0))
    return (workflow if not any(i.severity == "error" for i in issues) else None), issues


def format_path(path: Sequence[PathKey]) -> str:
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part.replace("-", "").replace("_", "").isalnum():
            text += f".{part}" if text else part
        else:
            text += f'["{part}"]'
    return text


def _translate(error: ErrorDetails, document: YamlDocument, file: str) -> SpecIssue:
    path, on_key = _document_path(error["loc"], document.data)
    ctx: dict[str, Any] = dict(error.get("ctx") or {})
    kind = error["type"]
    mark_path = list(path)
    display = list(path)
    message = error["msg"]
    hint = _HINTS.get(kind)
    if kind == "missing":
        field_name = str(error["loc"][-1])
        display.append(field_name)
        message = f"{field_name} is required"
        hint = _missing_hint(field_name, document, path)
    elif "field" in ctx:
        display.append(ctx["field"])
        hint = f"add `{ctx['field']}` to {format_path(path) or 'the workflow'}"
    elif kind == "union_tag_invalid":
        message = f'invalid trigger type "{ctx.get("tag")}" (must be {", ".join(TRIGGER_TYPES)})'
    elif kind == "union_tag_not_found":
        display.append("type")
        message = f"type is required (one of {', '.join(TRIGGER_TYPES)})"
    elif kind == "too_short" and path in (["triggers"], ["nodes"]):
        section = str(path[0])
        message = f"at least one {section[:-1]} is required"
        hint = f"add an entry under {section}"
    elif kind in _TYPE_NAMES:
        message = f"expected {_TYPE_NAMES[kind]}, got {_describe(error.get('input'))}"
    elif kind == "literal_error":
        message = f"{message[0].lower()}{message[1:]}, got {_describe(error.get('input'))}"
    elif message and not kind.endswith(("_ref", "_name")) and kind not in _HINTS:
        message = message[0].lower() + message[1:]
    mark = document.mark_for(mark_path, key=on_key)
    return SpecIssue(
        file=file,
        path=format_path(display),
        message=message,
        hint=hint,
        line=mark.line if mark else None,
        column=mark.column if mark else None,
    )


def _document_path(loc: Sequence[int | str], data: Any) -> tuple[list[PathKey], bool]:
    """Map a pydantic error location onto the YAML document, skipping union tags."""
    path: list[PathKey] = []
    current = data
    on_key = False
    for part in loc:
        if part == "[key]":
            on_key = True
            break
        in_list = isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current)
        if in_list or (isinstance(current, dict) and part in current):
            path.append(part)
            current = current[part]
        elif isinstance(current, dict) and isinstance(part, str):
            continue  # a union tag or a field absent from the file
        else:
            break
    return path, on_key


def _missing_hint(field_name: str, document: YamlDocument, parent: Sequence[PathKey]) -> str:
    container: Any = document.data
    for part in parent:
        container = container[part]
    hint = f"add `{field_name}`"
    if isinstance(container, dict):
        close = difflib.get_close_matches(field_name, [str(k) for k in container], n=1)
        if close:
            hint += f' (found "{close[0]}" — a typo?)'
    return hint


def _describe(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _model_warnings(workflow: Workflow, document: YamlDocument, file: str) -> Iterator[SpecIssue]:
    for path, model in _walk_models(workflow, ()):
        known = sorted({info.alias or name for name, info in type(model).model_fields.items()})
        for key in getattr(model, "unknown_keys", []):
            mark = document.mark_for((*path, key), key=True)
            close = difflib.get_close_matches(key, known, n=1)
            yield SpecIssue(
                file=file,
                path=format_path((*path, key)),
                message=f'unknown key "{key}" is ignored',
                hint=f'did you mean "{close[0]}"?' if close else f"known keys: {', '.join(known)}",
                line=mark.line if mark else None,
                column=mark.column if mark else None,
                severity="warning",
            )
        if isinstance(model, Dependency):
            yield from _dependency_warnings(model, path, document, file)
        if isinstance(model, WorkflowConfig):
            yield from _config_typos(model, path, document, file)


def _config_typos(
    config: WorkflowConfig, path: tuple[PathKey, ...], document: YamlDocument, file: str
) -> Iterator[SpecIssue]:
    """``config`` is open (every other key reaches the nodes), but ``timout`` is a typo, not data."""
    typed = [info.alias or name for name, info in type(config).model_fields.items()]
    for key in config.model_extra or {}:
        close = difflib.get_close_matches(str(key).lower(), typed, n=1, cutoff=0.75)
        if not close:
            continue
        mark = document.mark_for((*path, key), key=True)
        yield SpecIssue(
            file=file,
            path=format_path((*path, key)),
            message=f'"{key}" is not a setting the engine reads; it only reaches the nodes as ctx.config',
            hint=f'did you mean "{close[0]}"?',
            line=mark.line if mark else None,
            column=mark.column if mark else None,
            severity="warning",
        )


def _dependency_warnings(
    dependency: Dependency, path: tuple[PathKey, ...], document: YamlDocument, file: str
) -> Iterator[SpecIssue]:
    findings: list[tuple[str, str, str]] = []
    if not dependency.is_dynamic and dependency.protocol not in KNOWN_PROTOCOLS:
        findings.append(
            (
                "protocol",
                f'unknown protocol "{dependency.protocol}" (known: {", ".join(KNOWN_PROTOCOLS)})',
                "ctx.dependency() still works; only https and http get a fetch helper",
            )
        )
    if dependency.is_dynamic and not dependency.reason:
        findings.append(
            (
                "reason",
                "dynamic-target dependency without a reason",
                "say why this workflow needs to reach arbitrary addresses (kept for audits)",
            )
        )
    for key, message, hint in findings:
        mark = document.mark_for((*path, key))
        yield SpecIssue(
            file=file,
            path=format_path((*path, key)),
            message=message,
            hint=hint,
            line=mark.line if mark else None,
            column=mark.column if mark else None,
            severity="warning",
        )


def _walk_models(value: Any, path: tuple[PathKey, ...]) -> Iterator[tuple[tuple[PathKey, ...], BaseModel]]:
    if isinstance(value, BaseModel):
        yield path, value
        for name, info in type(value).model_fields.items():
            yield from _walk_models(getattr(value, name), (*path, info.alias or name))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk_models(item, (*path, index))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _walk_models(item, (*path, key))
