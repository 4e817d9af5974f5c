"""A TypeScript node's failure as the engine reports it; Deno refusals in the guard's words.

Deno says ``Requires net access to "api.example.com:8443"``; the node's error says
which resource was refused and which contract change would allow it, exactly as a
refusal of the Python guard does.
"""

from __future__ import annotations

from typing import Any

from tentacular.errors import GuardViolation, TypeScriptNodeError
from tentacular.spec._policy import DEFAULT_ENV_ALLOW, DEFAULT_ENV_PREFIXES

_NO_CONTRACT_CHANGE = "no contract entry allows it"


def _split_host_port(resource: str) -> tuple[str, int | None]:
    host, sep, port = resource.rpartition(":")
    if not sep or not port.isdigit():
        return resource, None
    return host.strip("[]"), int(port)


def suggest_dependency(host: str, port: int | None) -> str:
    if port in (None, 443):
        return f"{{protocol: https, host: {host}}}"
    if port == 80:
        return f"{{protocol: http, host: {host}}}"
    return f"{{protocol: https, host: {host}, port: {port}}}"


def net_refusal(resource: str, contract: Any) -> str:
    host, port = _split_host_port(resource)
    if contract is None:  # pragma: no cover - legacy mode grants the whole network
        return f"connection to {resource} refused"
    declared = [(name, dep.effective_port) for name, dep in contract.dependencies.items() if dep.host == host]
    if declared:
        owners = ", ".join(sorted(f'"{name}"' for name, _ in declared))
        ports = ", ".join(sorted({str(p) for _, p in declared}))
        return (
            f"connection to {resource} refused: {host} is declared ({owners}) for port(s) {ports} only — "
            f"add a dependency {suggest_dependency(host, port)} to contract.dependencies"
        )
    return (
        f"connection to {resource} refused: not declared in the contract — "
        f"add a dependency {suggest_dependency(host, port)} to contract.dependencies"
    )


def refusal_message(kind: str, resource: str, contract: Any) -> str:
    if kind == "net":
        return net_refusal(resource, contract)
    if kind == "read":
        return (
            f"reading {resource} refused: outside the paths nodes may read (the workflow directory, "
            f"secrets, /tmp) — {_NO_CONTRACT_CHANGE}; ship the file under nodes/ or use /tmp"
        )
    if kind == "write":
        return f"writing {resource} refused: nodes may write only under /tmp — {_NO_CONTRACT_CHANGE}"
    if kind == "run":
        return (
            f"running {resource} refused: nodes may not run programs — {_NO_CONTRACT_CHANGE}; "
            "call a service declared in contract.dependencies"
        )
    if kind == "ffi":
        return f"loading native code {resource} refused: nodes may not use FFI — {_NO_CONTRACT_CHANGE}"
    if kind == "env":
        allowed = ", ".join((*DEFAULT_ENV_ALLOW, *(f"{p}*" for p in DEFAULT_ENV_PREFIXES)))
        return (
            f"environment variable {resource} refused: outside the allow-list ({allowed}) — "
            "pass values through config or secrets"
        )
    if kind == "import":
        return (
            f"importing {resource} refused: remote modules must be cached at build time "
            "(npm:/jsr: specifiers, baked by tntc build)"
        )
    return f"{kind} access to {resource} refused — {_NO_CONTRACT_CHANGE}"


def node_failure(frame: dict[str, Any], ctx: Any, workflow_dir: str) -> Exception:
    """The exception a failed TypeScript invocation raises in the executor.

    ``details`` carries the node's file and line (absolute), so ``tntc test`` shows
    where in the TypeScript source it failed, as it does for a Python frame.
    """
    where = frame.get("where")
    suffix = f" (at {where})" if where else ""
    location: dict[str, Any] = {}
    if isinstance(where, str) and ":" in where:
        relative, _, line = where.rpartition(":")
        location = {"file": f"{workflow_dir}/{relative}", "line": int(line) if line.isdigit() else None}
    permission = frame.get("permission")
    if isinstance(permission, dict):
        services = getattr(ctx, "_services", None)
        contract = getattr(services, "contract", None)
        text = refusal_message(str(permission.get("kind")), str(permission.get("resource")), contract)
        violation = GuardViolation(text + suffix)
        violation.details = location  # type: ignore[attr-defined]
        return violation
    name = str(frame.get("name") or "Error")
    message = str(frame.get("message") or "")
    if name in ("NotJson", "NodeLoadError"):
        return TypeScriptNodeError(message)
    text = f"{name}: {message}" if message else name
    return TypeScriptNodeError(text + suffix, **location)
