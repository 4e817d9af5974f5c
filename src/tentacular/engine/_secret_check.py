"""``tntc secrets check``: every required secret, provisioned (and from where) or missing, at
``service.key`` granularity, plus provisioned keys nothing uses (INVENTORY §6.5.14, K-S10).

Nothing is fetched from a provider here: a ``secret://`` reference counts as provisioned
when it parses, its provider is configured and the environment's policy allows it.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from tentacular.engine._secret_providers import SecretResolver, is_secret_uri, parse_secret_uri
from tentacular.engine._secret_sources import gather_local
from tentacular.engine._secrets import SHARED_PREFIX, find_repo_root
from tentacular.errors import SecretsError
from tentacular.spec import load_workflow
from tentacular.spec._secret_refs import SecretRequirement, required_secrets

Status = Literal["provisioned", "missing", "unused"]


@dataclass(frozen=True)
class KeyStatus:
    ref: str
    status: Status
    source: str | None = None
    required_by: tuple[str, ...] = ()
    reason: str | None = None
    suggestion: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "status": self.status,
            "source": self.source,
            "requiredBy": list(self.required_by),
            "reason": self.reason,
            "didYouMean": self.suggestion,
        }

    def warning(self) -> str:
        if self.status == "missing":
            text = f"secret {self.ref} is required ({', '.join(self.required_by)}) but not provisioned"
            if self.reason:
                text += f": {self.reason}"
        else:
            text = f"secret {self.ref} is provisioned ({self.source}) but nothing reads it"
        if self.suggestion:
            text += f"; did you mean {self.suggestion}?"
        return text


@dataclass(frozen=True)
class SecretsReport:
    workflow: str
    directory: Path
    keys: tuple[KeyStatus, ...] = field(default_factory=tuple)

    @property
    def required(self) -> list[KeyStatus]:
        return [k for k in self.keys if k.status != "unused"]

    @property
    def missing(self) -> list[KeyStatus]:
        return [k for k in self.keys if k.status == "missing"]

    @property
    def unused(self) -> list[KeyStatus]:
        return [k for k in self.keys if k.status == "unused"]

    @property
    def ok(self) -> bool:
        return not self.missing

    def warnings(self) -> list[str]:
        """One line per missing or unused key, for validate / run --local / dev."""
        return [k.warning() for k in self.keys if k.status != "provisioned"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "workflow": self.workflow,
            "directory": str(self.directory),
            "required": len(self.required),
            "missing": [k.ref for k in self.missing],
            "unused": [k.ref for k in self.unused],
            "keys": [k.to_dict() for k in self.keys],
        }


def check_secrets(
    workflow_dir: str | Path, *, explicit: Path | None = None, resolver: SecretResolver | None = None
) -> SecretsReport:
    loaded = load_workflow(workflow_dir)
    directory = loaded.directory
    sourced = gather_local(directory, explicit)
    resolver = resolver if resolver is not None else SecretResolver(base_dir=directory)
    requirements = required_secrets(loaded.workflow, directory)
    by_ref: dict[str, list[SecretRequirement]] = {}
    for requirement in requirements:
        by_ref.setdefault(requirement.ref, []).append(requirement)
    whole_services = {r.service for r in requirements if r.key is None}
    keyed_services = {r.service for r in requirements if r.key}
    provisioned = _provisioned(sourced.values, sourced.sources, directory, resolver)
    statuses: list[KeyStatus] = []
    for ref, reqs in sorted(by_ref.items()):
        where = tuple(dict.fromkeys(r.where for r in reqs))
        service = reqs[0].service
        if reqs[0].key is None and service in keyed_services:
            continue  # the named keys of this service are checked one by one
        found = provisioned.get(ref) if reqs[0].key else _any_key(provisioned, service)
        if found is None and reqs[0].key:
            found = provisioned.get(f"{service}.*")  # a whole service from one reference
        if found is not None and found[1] is None:
            statuses.append(KeyStatus(ref, "provisioned", found[0], where))
            continue
        candidates = [k for k in provisioned if not k.endswith(".*") and k not in by_ref]
        statuses.append(
            KeyStatus(
                ref,
                "missing",
                found[0] if found else None,
                where,
                found[1] if found else None,
                _near(ref, candidates),
            )
        )
    required_refs = set(by_ref)
    for ref, (source, _) in sorted(provisioned.items()):
        service = ref.split(".", 1)[0]
        if ref in required_refs or service in whole_services or ref.endswith(".*"):
            continue
        statuses.append(
            KeyStatus(ref, "unused", source, suggestion=_near(ref, sorted(required_refs - set(provisioned))))
        )
    return SecretsReport(loaded.workflow.name, directory, tuple(statuses))


def _any_key(provisioned: dict[str, tuple[str, str | None]], service: str) -> tuple[str, str | None] | None:
    for ref, found in provisioned.items():
        if ref.split(".", 1)[0] == service and found[1] is None:
            return found
    return None


def _provisioned(
    values: dict[str, dict[str, Any]],
    sources: dict[str, dict[str, str]],
    directory: Path,
    resolver: SecretResolver,
) -> dict[str, tuple[str, str | None]]:
    """``service.key`` → (source label, problem or None); ``service.*`` for a whole-service reference."""
    result: dict[str, tuple[str, str | None]] = {}
    for service, keys in values.items():
        if set(keys) == {"value"} and _is_reference(keys["value"]):
            result[f"{service}.*"] = _reference_status(
                keys["value"], directory, resolver, sources[service]["value"]
            )
            continue
        for key, value in keys.items():
            label = sources.get(service, {}).get(key, "local")
            if _is_reference(value):
                result[f"{service}.{key}"] = _reference_status(value, directory, resolver, label)
            elif value in (None, ""):
                result[f"{service}.{key}"] = (label, "the value is empty (a placeholder?)")
            else:
                result[f"{service}.{key}"] = (label, None)
    return result


def _is_reference(value: Any) -> bool:
    return isinstance(value, str) and (value.startswith(SHARED_PREFIX) or is_secret_uri(value))


def _reference_status(
    value: str, directory: Path, resolver: SecretResolver, label: str
) -> tuple[str, str | None]:
    try:
        if value.startswith(SHARED_PREFIX):
            root = find_repo_root(directory)
            name = value[len(SHARED_PREFIX) :]
            path = (root / ".secrets" / name) if root else None
            if path is None or not path.is_file():
                return value, f"no shared secret file {path or '<repo>/.secrets/' + name}"
            text = path.read_text(encoding="utf-8").strip()
            if is_secret_uri(text):
                uri = parse_secret_uri(text)
                resolver.check(uri)
                return f"{value} → {uri.provenance}", None
            return value, None
        uri = parse_secret_uri(value)
        resolver.check(uri)
        return uri.provenance, None
    except SecretsError as error:
        return label, error.message


def _near(ref: str, candidates: list[str]) -> str | None:
    matches = difflib.get_close_matches(ref, candidates, n=1, cutoff=0.75)
    return matches[0] if matches else None


@dataclass(frozen=True)
class InitResult:
    path: Path
    keys: tuple[str, ...]
    gitignore: Path | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "keys": list(self.keys),
            "gitignoreUpdated": str(self.gitignore) if self.gitignore else None,
        }


def init_secrets(workflow_dir: str | Path, *, force: bool = False) -> InitResult:
    """Write ``.secrets.yaml`` (mode 0600) with every required key empty; make sure git ignores it."""
    import os

    from tentacular.spec._secret_refs import required_keys, secrets_template

    loaded = load_workflow(workflow_dir)
    target = loaded.directory / ".secrets.yaml"
    if target.exists() and not force:
        raise SecretsError(
            f"{target} already exists (use --force to overwrite)",
            hint="--force replaces every value with an empty placeholder",
        )
    requirements = required_secrets(loaded.workflow, loaded.directory)
    text = secrets_template(loaded.workflow.name, requirements)
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    target.chmod(0o600)  # O_CREAT's mode does not apply to a file that already existed
    return InitResult(target, tuple(required_keys(requirements)), _ensure_ignored(loaded.directory))


def _ensure_ignored(directory: Path) -> Path | None:
    """Append ``.secrets.yaml`` to the workflow's .gitignore unless it is already listed there."""
    gitignore = directory / ".gitignore"
    existing = gitignore.read_text(encoding="utf-8") if gitignore.is_file() else ""
    if any(line.strip() in (".secrets.yaml", "/.secrets.yaml") for line in existing.splitlines()):
        return None
    separator = "" if not existing or existing.endswith("\n") else "\n"
    gitignore.write_text(f"{existing}{separator}.secrets.yaml\n.secrets/\n", encoding="utf-8")
    return gitignore
