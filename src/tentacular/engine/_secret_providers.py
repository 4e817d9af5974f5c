"""``secret://<provider>/<path>[#field]`` references and the providers that resolve them (INVENTORY §9.1).

A reference names a provider configured in the config files
(``secret_providers: {name: {type: vault, ...}}``); a name that is not configured
but is a first-party type (``env``, ``vault``, ``aws-sm``…) is that type with its
defaults. Values are fetched in memory just before use, once per command run
(``SecretResolver`` caches), and never written anywhere. Errors name the reference
and the provider, never a value.

Third parties add provider types through the ``tentacular.secret_providers``
entry-point group: each entry point is a callable ``factory(name, config) ->
provider`` whose result has ``fetch(path, field) -> str | dict``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from tentacular.errors import SecretProviderError, SecretReferenceError

SECRET_URI_PREFIX = "secret://"
ENTRY_POINT_GROUP = "tentacular.secret_providers"
_PROVIDER_NAME = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
_MAX_DETAIL = 200
_LOOKS_LIKE_REFERENCE = re.compile(r"^secrets?:/")


class SecretProvider(Protocol):
    def fetch(self, path: str, field: str | None) -> Any:
        """The value at ``path`` (a string or a mapping), or its ``field``; raise on failure."""


ProviderFactory = Callable[[str, Mapping[str, Any]], SecretProvider]


# Not dataclasses: a pod's start defines none (tests/engine/test_startup_imports.py).
class SecretUri(NamedTuple):
    provider: str
    path: str
    field: str | None
    raw: str

    @property
    def provenance(self) -> str:
        """``vault:kv/app#token``: what deploy output and annotations show (never the value)."""
        return f"{self.provider}:{self.path}" + (f"#{self.field}" if self.field else "")


def is_secret_uri(value: Any) -> bool:
    """A reference, or a near miss of one (``secret:/x``, ``secrets://x``) that must not pass as a value."""
    return isinstance(value, str) and _LOOKS_LIKE_REFERENCE.match(value) is not None


def parse_secret_uri(text: str) -> SecretUri:
    rest = text[len(SECRET_URI_PREFIX) :] if text.startswith(SECRET_URI_PREFIX) else None
    example = "e.g. secret://vault/kv/app#token"
    if rest is None:
        raise SecretReferenceError(f'"{text}" is not a secret:// reference', hint=example)
    provider, _, remainder = rest.partition("/")
    path, _, fragment = remainder.partition("#")
    if not _PROVIDER_NAME.match(provider):
        raise SecretReferenceError(
            f'{text}: provider name "{provider}" must be lower-case letters, digits and hyphens',
            hint=example,
        )
    if not path or (path.startswith("/") and len(path.strip("/")) == 0):
        raise SecretReferenceError(
            f"{text}: the path after {SECRET_URI_PREFIX}{provider}/ is empty", hint=example
        )
    if "#" in remainder and not fragment:
        raise SecretReferenceError(f"{text}: the field after # is empty", hint=example)
    return SecretUri(provider, path, fragment or None, text)


def pick_field(uri: SecretUri, value: Any) -> Any:
    """``#field`` of a mapping, or of a JSON object stored as text."""
    if uri.field is None:
        return value
    document = value
    if isinstance(value, str):
        try:
            document = json.loads(value)
        except ValueError:
            document = None
    if not isinstance(document, Mapping):
        raise SecretProviderError(
            f"{uri.raw}: the value is not a JSON object, so it has no field {uri.field}"
        )
    if uri.field not in document:
        known = ", ".join(sorted(str(k) for k in document)) or "none"
        raise SecretProviderError(
            f'{uri.raw}: no field "{uri.field}" (provider "{uri.provider}")', hint=f"fields there: {known}"
        )
    return document[uri.field]


class SecretResolver:
    """Resolves references through configured providers, once per reference per command run.

    ``allowed``: provider names an environment permits (None: all), the K-S11 policy.
    """

    def __init__(
        self,
        *,
        configs: Mapping[str, Mapping[str, Any]] | None = None,
        allowed: Collection[str] | None = None,
        policy_source: str = "the environment",
        base_dir: Path | None = None,
    ) -> None:
        self.configs: Mapping[str, Mapping[str, Any]] = {} if configs is None else configs
        self.allowed = allowed
        self.policy_source = policy_source
        self.base_dir = base_dir
        self._providers: dict[str, SecretProvider] = {}
        self._cache: dict[str, Any] = {}

    def check(self, uri: SecretUri) -> str:
        """Policy and configuration of ``uri`` without fetching; returns the provider type."""
        if self.allowed is not None and uri.provider not in self.allowed:
            permitted = ", ".join(sorted(self.allowed)) or "none"
            raise SecretProviderError(
                f'{uri.raw}: provider "{uri.provider}" is not allowed by {self.policy_source}',
                hint=f"allowed providers: {permitted}",
            )
        return provider_type(uri.provider, self.configs)

    def resolve(self, uri: SecretUri) -> Any:
        if uri.raw in self._cache:
            return self._cache[uri.raw]
        self.check(uri)
        provider = self._provider(uri.provider)
        try:
            value = provider.fetch(uri.path, uri.field)
        except SecretProviderError:
            raise
        except Exception as exc:  # a client library's own error: keep its kind, not its payload
            raise SecretProviderError(
                f'cannot resolve {uri.raw} (provider "{uri.provider}"): {_describe(exc)}',
                hint="check the provider's address, credentials and the path",
            ) from None
        if value is None:
            raise SecretProviderError(f'{uri.raw}: provider "{uri.provider}" returned nothing')
        self._cache[uri.raw] = value
        return value

    def _provider(self, name: str) -> SecretProvider:
        if name not in self._providers:
            config = dict(self.configs.get(name) or {"type": name})
            kind = str(config.get("type") or name)
            factory = provider_factories().get(kind)
            if factory is None:
                raise SecretProviderError(f'secret provider "{name}" has unknown type "{kind}"')
            if self.base_dir is not None:
                config.setdefault("_base_dir", str(self.base_dir))
            self._providers[name] = factory(name, config)
        return self._providers[name]


def provider_type(name: str, configs: Mapping[str, Mapping[str, Any]]) -> str:
    config = configs.get(name)
    factories = provider_factories()
    if config is None:
        if name in factories:
            return name
        known = ", ".join(sorted(configs)) or "none configured"
        raise SecretProviderError(
            f'secret provider "{name}" is not configured',
            hint=f"configured providers: {known}; add secret_providers: {{{name}: {{type: ...}}}} "
            "to ~/.tentacular/config.yaml or .tentacular/config.yaml",
        )
    kind = str(config.get("type") or "")
    if kind not in factories:
        raise SecretProviderError(
            f'secret provider "{name}" has unknown type "{kind}"',
            hint=f"known types: {', '.join(sorted(factories))}",
        )
    return kind


def provider_factories() -> dict[str, ProviderFactory]:
    from importlib.metadata import entry_points

    from tentacular.engine import _secret_backends as backends

    factories: dict[str, ProviderFactory] = dict(backends.FIRST_PARTY)
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        factories.setdefault(entry.name, entry.load())
    return factories


def _describe(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    if len(text) > _MAX_DETAIL:
        text = text[:_MAX_DETAIL] + "…"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
