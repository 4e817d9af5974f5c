"""The secrets cascade with provenance: which source supplied each ``service.key``, and the
in-memory resolution of ``$shared.<name>`` and ``secret://`` references (D5, INVENTORY §9.1).

Provenance labels are what users see instead of values: ``.secrets.yaml``,
``.secrets/github``, ``$shared.github``, ``vault:kv/app#token``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tentacular.engine._secret_providers import SecretResolver, is_secret_uri, parse_secret_uri
from tentacular.engine._secrets import (
    SHARED_PREFIX,
    Secrets,
    _read_shared,
    load_directory,
    load_source,
    load_yaml_file,
)

Sources = dict[str, dict[str, str]]


class SourcedSecrets:
    """Secrets as written (references unresolved) and the source of every key."""

    def __init__(self) -> None:  # a plain class: imported at every pod start (see _secret_providers)
        self.values: Secrets = {}
        self.sources: Sources = {}

    def keys(self) -> list[str]:
        return sorted(f"{service}.{key}" for service, keys in self.values.items() for key in keys)

    def add(self, label: str, layer: Mapping[str, Mapping[str, Any]]) -> None:
        for service, keys in layer.items():
            self.values.setdefault(service, {}).update(keys)
            self.sources.setdefault(service, {}).update(dict.fromkeys(keys, label))


class ResolvedSecrets(dict[str, dict[str, Any]]):
    """Values ready for use (in memory only) plus, per ``service.key``, where each came from.

    A plain ``{service: {key: value}}`` mapping everywhere secrets are passed, so the
    provenance travels with the values without ever being mixed into them.
    """

    def __init__(
        self,
        values: Mapping[str, Mapping[str, Any]] | None = None,
        provenance: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__({service: dict(keys) for service, keys in (values or {}).items()})
        self.provenance: dict[str, str] = dict(provenance or {})

    def from_providers(self) -> dict[str, str]:
        return {ref: label for ref, label in self.provenance.items() if ":" in label}


def gather_local(workflow_dir: Path, explicit: Path | None = None) -> SourcedSecrets:
    """``.secrets/`` then ``.secrets.yaml`` key by key, or only ``explicit`` (Q1, Q2)."""
    sourced = SourcedSecrets()
    if explicit is not None:
        sourced.add(str(explicit), load_source(explicit))
        return sourced
    directory = workflow_dir / ".secrets"
    if directory.is_dir():
        for service, keys in load_directory(directory).items():
            sourced.add(f".secrets/{service}", {service: keys})
    yaml_file = workflow_dir / ".secrets.yaml"
    if yaml_file.is_file():
        sourced.add(".secrets.yaml", load_yaml_file(yaml_file))
    return sourced


def resolve_references(
    secrets: Mapping[str, Mapping[str, Any]],
    workflow_dir: Path,
    resolver: SecretResolver | None,
    sources: Sources | None = None,
) -> ResolvedSecrets:
    """Replace ``$shared.<name>`` then ``secret://`` values (a shared file may hold a reference)."""
    resolver = resolver if resolver is not None else SecretResolver(base_dir=workflow_dir)
    values: Secrets = {}
    provenance: dict[str, str] = {}
    for service, keys in secrets.items():
        labels = (sources or {}).get(service, {})
        whole = keys.get("value") if set(keys) == {"value"} else None
        if isinstance(whole, str) and (whole.startswith(SHARED_PREFIX) or is_secret_uri(whole)):
            value, label = _resolve_value(whole, workflow_dir, resolver)
            if isinstance(value, Mapping):
                values[service] = {str(k): v for k, v in value.items()}
                provenance.update({f"{service}.{k}": label for k in value})
            else:
                values[service] = {"value": value}
                provenance[f"{service}.value"] = label
            continue
        values[service] = {}
        for key, raw in keys.items():
            value, label = _resolve_value(raw, workflow_dir, resolver)
            values[service][key] = value
            provenance[f"{service}.{key}"] = label or labels.get(key, "local")
    return ResolvedSecrets(values, provenance)


def _resolve_value(raw: Any, workflow_dir: Path, resolver: SecretResolver) -> tuple[Any, str]:
    label = ""
    value = raw
    if isinstance(value, str) and value.startswith(SHARED_PREFIX):
        label = value
        value = _read_shared(value, workflow_dir)
    if is_secret_uri(value):
        uri = parse_secret_uri(value)
        value = resolver.resolve(uri)
        label = uri.provenance
    return value, label


def document_to_secrets(document: Any, origin: str) -> Secrets:
    """A fetched ``secrets_source``: ``{service: {key: v}}``, JSON text values, or ``service.key`` keys."""
    import json

    from tentacular.errors import SecretsError

    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError:
            document = None
    if not isinstance(document, Mapping):
        raise SecretsError(f"{origin} must hold a mapping of services to keys")
    result: Secrets = {}
    for name, value in document.items():
        if isinstance(value, str):
            try:
                parsed = json.loads(value)
            except ValueError:
                parsed = value
            value = parsed
        service, _, key = str(name).partition(".")
        if key:
            result.setdefault(service, {})[key] = value
        elif isinstance(value, Mapping):
            result.setdefault(service, {}).update({str(k): v for k, v in value.items()})
        else:
            result.setdefault(service, {})["value"] = value
    return result
