"""The secrets a command provisions: the cascade (or ``--secrets`` / an environment's
``secrets_source``), resolved through the configured providers under the environment's
policy, checked against what the workflow requires (D5, INVENTORY §9.1, K-S1…K-S12).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tentacular.deploy._settings import DeployTarget, Environment, Settings, environment_name, load_settings
from tentacular.engine._secret_check import InitResult, SecretsReport, check_secrets, init_secrets
from tentacular.engine._secret_providers import SecretResolver, is_secret_uri, parse_secret_uri
from tentacular.engine._secret_sources import (
    ResolvedSecrets,
    SourcedSecrets,
    document_to_secrets,
    gather_local,
    resolve_references,
)
from tentacular.errors import MissingSecretsError, SecretsError, TentacularError
from tentacular.spec import LoadedWorkflow
from tentacular.spec._secret_refs import required_keys, required_secrets


def secret_resolver(
    settings: Settings, environment: Environment | None, workflow_dir: Path
) -> SecretResolver:
    """One resolver per command run: configured providers, the environment's allow-list, a cache."""
    allowed = environment.allowed_secret_providers if environment is not None else None
    return SecretResolver(
        configs=settings.secret_providers,
        allowed=allowed,
        policy_source=f'environment "{environment.name}"' if environment is not None else "the environment",
        base_dir=workflow_dir,
    )


def provisioned_secrets(
    loaded: LoadedWorkflow,
    target: DeployTarget,
    explicit_path: Path | None = None,
    *,
    settings: Settings | None = None,
) -> ResolvedSecrets:
    """``--secrets``, else the environment's ``secrets_source``, else the cascade; references resolved."""
    settings = settings if settings is not None else load_settings()
    environment = target.environment
    resolver = secret_resolver(settings, environment, loaded.directory)
    source = environment.secrets_source if environment is not None and explicit_path is None else None
    if source is not None and is_secret_uri(source):
        uri = parse_secret_uri(source)
        document = resolver.resolve(uri)
        sourced = SourcedSecrets()
        sourced.add(uri.provenance, document_to_secrets(document, source))
        return resolve_references(sourced.values, loaded.directory, resolver, sourced.sources)
    explicit = explicit_path
    if explicit is None and environment is not None:
        explicit = environment.secrets_path(loaded.directory)
        if explicit is not None and not explicit.exists():
            raise SecretsError(
                f"secrets_source {explicit} of environment {environment.name} does not exist",
                hint="fix secrets_source with: tntc configure --env NAME --secrets-source PATH",
            )
    elif explicit is not None and not explicit.exists():
        raise SecretsError(f"secrets path {explicit} does not exist", hint="check --secrets")
    sourced = gather_local(loaded.directory, explicit)
    return resolve_references(sourced.values, loaded.directory, resolver, sourced.sources)


def missing_required(loaded: LoadedWorkflow, secrets: ResolvedSecrets | None) -> list[str]:
    """Required ``service.key`` (or whole services) without a non-empty value."""
    values: dict[str, dict[str, Any]] = dict(secrets or {})
    missing = []
    for ref in required_keys(required_secrets(loaded.workflow, loaded.directory)):
        service, _, key = ref.partition(".")
        keys = values.get(service) or {}
        present = bool(keys) if not key else keys.get(key) not in (None, "")
        if not present:
            missing.append(ref)
    return missing


def require_secrets(
    loaded: LoadedWorkflow, secrets: ResolvedSecrets | None, *, allow_missing: bool
) -> list[str]:
    """Refuse a deploy that lacks required secrets; with ``allow_missing`` return warnings instead."""
    missing = missing_required(loaded, secrets)
    if not missing:
        return []
    listing = ", ".join(missing)
    if not allow_missing:
        raise MissingSecretsError(
            f"{len(missing)} required secret(s) not provisioned: {listing}",
            hint=f"run: tntc secrets check {loaded.directory}  (or deploy with --allow-missing-secrets)",
            missing=missing,
        )
    return [f"required secret(s) not provisioned (--allow-missing-secrets): {listing}"]


def secrets_check(directory: Path, *, env: str | None = None, explicit: Path | None = None) -> SecretsReport:
    settings = load_settings()
    env_name = environment_name(env)
    environment = settings.environment(env_name) if env_name else None
    if explicit is None and environment is not None:
        source = environment.secrets_source
        if source and not is_secret_uri(source):
            explicit = environment.secrets_path(directory)
    return check_secrets(
        directory, explicit=explicit, resolver=secret_resolver(settings, environment, directory)
    )


def secret_warnings(directory: Path, *, env: str | None = None, explicit: Path | None = None) -> list[str]:
    """Missing and unused keys for validate / run --local / dev: warnings, never a failure."""
    try:
        return secrets_check(directory, env=env, explicit=explicit).warnings()
    except TentacularError as error:
        return [f"secrets: {error.message}"]


def secrets_init(directory: Path, *, force: bool = False) -> InitResult:
    return init_secrets(directory, force=force)


def local_run_secrets(
    directory: Path, *, env: str | None = None, explicit: Path | None = None
) -> tuple[SecretResolver, list[str]]:
    """For run --local / dev: the resolver the engine start uses, and the missing/unused warnings."""
    settings = load_settings()
    env_name = environment_name(env)
    environment = settings.environment(env_name) if env_name else None
    from tentacular.spec import resolve_workflow_file

    workflow_dir = resolve_workflow_file(directory).parent
    resolver = secret_resolver(settings, environment, workflow_dir)
    return resolver, secret_warnings(workflow_dir, env=env, explicit=explicit)
