"""Which secrets a workflow needs: the contract's ``service.key`` references plus what node
code reads through ``ctx.secrets`` (INVENTORY §6.5.14, F-035).

Pure and static: node files are read and parsed (Python with ``ast``, TypeScript with a
pattern scan), never imported or run. Access the scan cannot see (a computed key,
``ctx.secrets`` passed around) is not reported; the contract is the reliable source.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tentacular.spec._model import Workflow

Origin = Literal["contract", "code"]
_CONTEXT_NAMES = frozenset({"ctx", "context"})
_MAX_SOURCE_BYTES = 2_000_000  # a node file past this is not scanned (bounded work on hostile input)

_TS_IDENT = r"[A-Za-z_$][\w$]*"
_TS_STEP = rf"""(?:\??\.({_TS_IDENT})|\??\.?\[\s*["'`]([^"'`\]]+)["'`]\s*\])"""
_TS_ACCESS = re.compile(rf"\b(?:ctx|context)\s*\.\s*secrets\s*{_TS_STEP}(?:\s*{_TS_STEP})?")
_TS_NOT_KEYS = frozenset({"get", "has", "keys", "values", "entries", "length", "toString"})


@dataclass(frozen=True, order=True)
class SecretRequirement:
    """One secret the workflow reads; ``key`` is ``None`` when code takes a whole service."""

    service: str
    key: str | None
    origin: Origin
    where: str

    @property
    def ref(self) -> str:
        return f"{self.service}.{self.key}" if self.key else self.service

    def to_dict(self) -> dict[str, str | None]:
        return {
            "ref": self.ref,
            "service": self.service,
            "key": self.key,
            "origin": self.origin,
            "where": self.where,
        }


def required_secrets(workflow: Workflow, directory: Path) -> list[SecretRequirement]:
    """Contract references first, then code accesses, each sorted; duplicates kept for their places."""
    found = list(_contract_requirements(workflow))
    nodes_dir = directory / "nodes"
    if nodes_dir.is_dir():
        for path in sorted(nodes_dir.rglob("*")):
            if path.suffix not in (".py", ".ts") or not path.is_file():
                continue
            if path.stat().st_size > _MAX_SOURCE_BYTES:
                continue
            relative = path.relative_to(directory).as_posix()
            text = path.read_text(encoding="utf-8", errors="replace")
            scan = scan_python if path.suffix == ".py" else scan_typescript
            found.extend(scan(text, relative))
    return found


def required_keys(requirements: list[SecretRequirement]) -> list[str]:
    """The distinct references, sorted, a whole-service access dropped when a key of it is named."""
    refs = {r.ref for r in requirements}
    services_with_keys = {r.service for r in requirements if r.key}
    return sorted(ref for ref in refs if "." in ref or ref not in services_with_keys)


def _contract_requirements(workflow: Workflow) -> list[SecretRequirement]:
    if workflow.contract is None:
        return []
    result = []
    for name, dependency in sorted(workflow.contract.dependencies.items()):
        if dependency.auth is None:
            continue
        result.append(
            SecretRequirement(
                dependency.auth.service,
                dependency.auth.key,
                "contract",
                f"contract.dependencies.{name}.auth.secret",
            )
        )
    return result


def scan_python(source: str, relative: str) -> list[SecretRequirement]:
    """``ctx.secrets["svc"]["key"]``, ``ctx.secrets.get("svc", {}).get("key")`` and mixes of both."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []  # validate reports broken node code elsewhere; nothing to scan here
    parents: dict[ast.AST, ast.AST] = {}
    for parent in ast.walk(tree):
        for child in ast.iter_child_nodes(parent):
            parents[child] = parent
    found: list[tuple[int, int, SecretRequirement]] = []
    for node in ast.walk(tree):
        if not _is_ctx_secrets(node):
            continue
        service, service_node = _python_step(node, parents)
        if service is None or service_node is None:
            continue
        key, _ = _python_step(service_node, parents)
        line, column = getattr(node, "lineno", 0), getattr(node, "col_offset", 0)
        found.append((line, column, SecretRequirement(service, key, "code", f"{relative}:{line}")))
    return [requirement for _, _, requirement in sorted(found, key=lambda item: item[:2])]


def _is_ctx_secrets(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "secrets"
        and isinstance(node.value, ast.Name)
        and node.value.id in _CONTEXT_NAMES
    )


def _python_step(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> tuple[str | None, ast.AST | None]:
    """The constant name read from ``node`` (``node["x"]`` or ``node.get("x")``) and that expression."""
    parent = parents.get(node)
    if isinstance(parent, ast.Subscript) and parent.value is node:
        return _constant(parent.slice), parent
    if isinstance(parent, ast.Attribute) and parent.attr == "get" and parent.value is node:
        call = parents.get(parent)
        if isinstance(call, ast.Call) and call.func is parent and call.args:
            return _constant(call.args[0]), call
    return None, None


def _constant(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value:
        return node.value
    return None


def scan_typescript(source: str, relative: str) -> list[SecretRequirement]:
    """``ctx.secrets.svc.key``, ``ctx.secrets?.svc?.key``, ``ctx.secrets["svc"]["key"]`` and mixes."""
    found = []
    for match in _TS_ACCESS.finditer(source):
        service = match.group(1) or match.group(2)
        key = match.group(3) or match.group(4)
        if service in _TS_NOT_KEYS:
            continue
        if key in _TS_NOT_KEYS:
            key = None
        line = source.count("\n", 0, match.start()) + 1
        found.append(SecretRequirement(service, key, "code", f"{relative}:{line}"))
    return found


_TEMPLATE_HEADER = """\
# {what}
# Each top-level key is a service; the contract references "<service>.<key>".
# A value may also be a reference resolved when it is used:
#   $shared.<name>                          <repo>/.secrets/<name>
#   secret://<provider>/<path>[#field]      a configured secret provider (vault, aws-sm, ...)
"""
_SIMPLE_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def secrets_template(name: str, requirements: list[SecretRequirement], *, commented: bool = False) -> str:
    """A ``.secrets.yaml`` with every required key as an empty placeholder (``commented`` for the example)."""
    services: dict[str, dict[str | None, list[str]]] = {}
    for requirement in requirements:
        keys = services.setdefault(requirement.service, {})
        keys.setdefault(requirement.key, []).append(requirement.where)
    what = (
        f"Example secrets for {name}: run `tntc secrets init` to write .secrets.yaml (never commit that)."
        if commented
        else f"Local secrets for {name}. Never commit this file (it is git-ignored)."
    )
    lines = [_TEMPLATE_HEADER.format(what=what).rstrip("\n")]
    if not services:
        lines.append("# (the contract declares no secrets yet), e.g.:")
        lines.append("# github:")
        lines.append('#   token: ""')
    prefix = "# " if commented else ""
    for service in sorted(services):
        keys = services[service]
        named = sorted(k for k in keys if k)
        if not named:
            lines.append(f'{prefix}{_yaml_key(service)}: ""  # {", ".join(keys[None])}')
            continue
        lines.append(f"{prefix}{_yaml_key(service)}:")
        for key in named:
            lines.append(f'{prefix}  {_yaml_key(key)}: ""  # {", ".join(dict.fromkeys(keys[key]))}')
    return "\n".join(lines) + "\n"


def _yaml_key(name: str) -> str:
    import json

    return name if _SIMPLE_KEY.match(name) else json.dumps(name)
