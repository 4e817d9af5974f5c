"""User/project configuration, named environments and the deploy cascades (D7, F-151…F-165, Q6…Q9, Q29).

Pure resolution: files are read here, but nothing talks to a cluster. Every
resolved value remembers where it came from, so commands can explain themselves.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tentacular.deploy._kind import KindCluster, detect_kind
from tentacular.errors import ConfigError
from tentacular.spec import DEFAULT_RUNTIME_CLASS, ENFORCEMENTS, WORKFLOW_FILE, Enforcement

CONFIG_FILE = "config.yaml"
HOME_ENV = "TENTACULAR_HOME"
ENV_NAME_ENV = "TENTACULAR_ENV"
DEFAULT_NAMESPACE = "default"
BASE_IMAGE_FILE = Path(".tentacular") / "base-image.txt"
ENVIRONMENT_FIELDS = (
    "context",
    "kubeconfig",
    "namespace",
    "image",
    "image_pull_policy",
    "runtime_class",
    "config_overrides",
    "telemetry",  # merged key by key into workflow.yaml's telemetry section (exporter, endpoint, ...)
    "secrets_source",
    "enforcement",
    "allowed_secret_providers",
    "keep",  # code versions to retain (tntc deploy --keep), read by deploy._versions
    "policy",  # release policy file (tntc release plan/apply --policy), read by deploy._release
)


def default_engine_image() -> str:
    """The tag `tntc build` gives the engine-only image, so build and deploy agree by default."""
    from tentacular.deploy._wheel import engine_version

    return f"tentacular-engine:{engine_version()}"


def tentacular_home() -> Path:
    override = os.environ.get(HOME_ENV)
    return Path(override).expanduser() if override else Path.home() / ".tentacular"


def user_config_path() -> Path:
    return tentacular_home() / CONFIG_FILE


def project_config_path(cwd: Path | None = None) -> Path:
    return (cwd or Path.cwd()) / ".tentacular" / CONFIG_FILE


def read_config_file(path: Path) -> dict[str, Any]:
    """A missing file is an empty config; a broken one is an error (silently ignoring it hides typos)."""
    if not path.is_file():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(
            f"cannot read {path}: {exc}", hint="fix the YAML or re-create it with tntc configure"
        ) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must be a mapping of settings", hint="e.g. namespace: my-namespace")
    environments = data.get("environments")
    if environments is not None and not (
        isinstance(environments, dict) and all(isinstance(v, dict | None) for v in environments.values())
    ):
        raise ConfigError(
            f"{path}: environments must map names to settings", hint="e.g. environments: {dev: {}}"
        )
    return data


def merge_configs(user: Mapping[str, Any], project: Mapping[str, Any]) -> dict[str, Any]:
    """Project over user; environments merge field by field and config_overrides key by key (Q7)."""
    merged: dict[str, Any] = {k: v for k, v in user.items() if k != "environments"}
    merged.update({k: v for k, v in project.items() if k != "environments" and v is not None})
    providers = {**(user.get("secret_providers") or {}), **(project.get("secret_providers") or {})}
    if providers:
        merged["secret_providers"] = providers  # merged by provider name, project over user
    environments: dict[str, dict[str, Any]] = {}
    for source in (user, project):
        for name, fields in (source.get("environments") or {}).items():
            target = environments.setdefault(str(name), {})
            for key, value in (fields or {}).items():
                if key in ("config_overrides", "telemetry") and isinstance(value, dict):
                    target[key] = {**target.get(key, {}), **value}
                elif value is not None:
                    target[key] = value
    merged["environments"] = environments
    return merged


@dataclass(frozen=True)
class Environment:
    """One named environment; ``None`` means "not set here, fall through the cascade"."""

    name: str
    context: str | None = None
    kubeconfig: str | None = None
    namespace: str | None = None
    image: str | None = None
    image_pull_policy: str | None = None
    runtime_class: str | None = None
    config_overrides: Mapping[str, Any] = field(default_factory=dict)
    telemetry_overrides: Mapping[str, Any] = field(default_factory=dict)
    secrets_source: str | None = None
    enforcement: Enforcement = "strict"
    allowed_secret_providers: tuple[str, ...] | None = None  # None: every provider (K-S11 policy)

    def secrets_path(self, workflow_dir: Path) -> Path | None:
        """``secrets_source`` relative paths are taken from the workflow directory."""
        if not self.secrets_source:
            return None
        path = Path(self.secrets_source).expanduser()
        return path if path.is_absolute() else workflow_dir / path


@dataclass(frozen=True)
class Settings:
    """The merged user + project configuration."""

    data: Mapping[str, Any] = field(default_factory=dict)
    files: tuple[Path, ...] = ()

    def text(self, key: str) -> str | None:
        value = self.data.get(key)
        return str(value) if value not in (None, "") else None

    @property
    def environments(self) -> dict[str, dict[str, Any]]:
        return dict(self.data.get("environments") or {})

    @property
    def secret_providers(self) -> dict[str, dict[str, Any]]:
        """``secret_providers: {name: {type: ..., ...}}`` from the config files, checked."""
        raw = self.data.get("secret_providers") or {}
        where = ", ".join(str(f) for f in self.files) or "config"
        if not isinstance(raw, dict):
            raise ConfigError(f"{where}: secret_providers must map names to settings")
        providers: dict[str, dict[str, Any]] = {}
        for name, config in raw.items():
            if not isinstance(config, dict) or not config.get("type"):
                raise ConfigError(
                    f'{where}: secret provider "{name}" needs a type',
                    hint="e.g. secret_providers: {vault: {type: vault, address: https://vault:8200}}",
                )
            providers[str(name)] = dict(config)
        return providers

    def has_environment(self, name: str) -> bool:
        return name in self.environments

    def environment(self, name: str) -> Environment:
        if name not in self.environments:
            known = ", ".join(sorted(self.environments)) or "none configured"
            raise ConfigError(
                f'environment "{name}" not found in config',
                hint=f"known environments: {known}; add one with: tntc configure --env {name} ...",
            )
        return environment_from_fields(name, self.environments[name])


def environment_from_fields(name: str, fields: Mapping[str, Any]) -> Environment:
    unknown = sorted(set(fields) - set(ENVIRONMENT_FIELDS))
    if unknown:
        raise ConfigError(
            f'environment "{name}" has unknown field(s): {", ".join(unknown)}',
            hint=f"known fields: {', '.join(ENVIRONMENT_FIELDS)}",
        )
    overrides = fields.get("config_overrides") or {}
    if not isinstance(overrides, dict):
        raise ConfigError(f'environment "{name}": config_overrides must be a mapping')
    telemetry = fields.get("telemetry") or {}
    if not isinstance(telemetry, dict):
        raise ConfigError(
            f'environment "{name}": telemetry must be a mapping like workflow.yaml\'s telemetry section',
            hint="e.g. telemetry: {exporter: otlp, endpoint: http://otel-collector.monitoring:4318}",
        )
    enforcement: Enforcement = "audit" if fields.get("enforcement") == "audit" else "strict"
    if fields.get("enforcement") not in (None, "", *ENFORCEMENTS):
        raise ConfigError(
            f'environment "{name}": enforcement must be {" or ".join(ENFORCEMENTS)}, '
            f'got "{fields["enforcement"]}"',
            hint="audit reports contract problems as warnings instead of failing",
        )

    def text(key: str) -> str | None:
        value = fields.get(key)
        return None if value is None else str(value)

    allowed = fields.get("allowed_secret_providers")
    if allowed is not None and not (isinstance(allowed, list) and all(isinstance(a, str) for a in allowed)):
        raise ConfigError(
            f'environment "{name}": allowed_secret_providers must be a list of provider names',
            hint="e.g. allowed_secret_providers: [vault]",
        )

    return Environment(
        name=name,
        context=text("context") or None,
        kubeconfig=text("kubeconfig") or None,
        namespace=text("namespace") or None,
        image=text("image") or None,
        image_pull_policy=text("image_pull_policy") or None,
        runtime_class=text("runtime_class"),  # "" is meaningful: no RuntimeClass
        config_overrides=dict(overrides),
        telemetry_overrides=dict(telemetry),
        secrets_source=text("secrets_source") or None,
        enforcement=enforcement,
        allowed_secret_providers=tuple(allowed) if allowed is not None else None,
    )


def load_settings(user_path: Path | None = None, project_path: Path | None = None) -> Settings:
    user_file = user_path or user_config_path()
    project_file = project_path or project_config_path()
    merged = merge_configs(read_config_file(user_file), read_config_file(project_file))
    files = tuple(p for p in (user_file, project_file) if p.is_file())
    return Settings(merged, files)


def environment_name(flag: str | None, environ: Mapping[str, str] | None = None) -> str | None:
    """``--env`` wins; ``TENTACULAR_ENV`` supplies a default (F-160)."""
    if flag:
        return flag
    value = (os.environ if environ is None else environ).get(ENV_NAME_ENV, "")
    return value or None


@dataclass(frozen=True)
class Resolved:
    value: str
    source: str


def resolve_namespace(
    flag: str | None,
    environment: Environment | None,
    workflow_namespace: str | None,
    settings: Settings,
) -> Resolved:
    """``-n`` > env > ``deployment.namespace`` > project/user config > ``default`` (F-162, Q8, Q9)."""
    for value, source in (
        (flag, "flag"),
        (environment.namespace if environment else None, f"environment {environment and environment.name}"),
        (workflow_namespace, WORKFLOW_FILE),
        (settings.text("namespace"), "config"),
    ):
        if value:
            return Resolved(value, source)
    return Resolved(DEFAULT_NAMESPACE, "default")


def resolve_image(flag: str | None, environment: Environment | None, workflow_dir: Path | None) -> Resolved:
    """``--image`` > env > ``.tentacular/base-image.txt`` > ``tentacular-engine:<tntc version>`` (F-163)."""
    if flag:
        return Resolved(flag, "flag")
    if environment and environment.image:
        return Resolved(environment.image, f"environment {environment.name}")
    if workflow_dir is not None:
        recorded = workflow_dir / BASE_IMAGE_FILE
        if recorded.is_file():
            text = recorded.read_text(encoding="utf-8").strip()
            if text:
                return Resolved(text, str(BASE_IMAGE_FILE))
    return Resolved(default_engine_image(), "default")


@dataclass(frozen=True)
class ClusterTarget:
    """Which kubeconfig file and context to talk to; ``None`` means the usual defaults."""

    kubeconfig: Path | None = None
    context: str | None = None


def cluster_target(environment: Environment | None) -> ClusterTarget:
    if environment is None:
        return ClusterTarget()
    path = Path(environment.kubeconfig).expanduser() if environment.kubeconfig else None
    return ClusterTarget(path, environment.context)


def detect_kind_for(target: ClusterTarget, environ: Mapping[str, str] | None = None) -> KindCluster | None:
    """Kind detection on the context this command will really use, not the default one (Q29)."""
    return detect_kind(target.kubeconfig, target.context, environ)


def resolve_runtime_class(
    flag: str | None,
    environment: Environment | None,
    settings: Settings,
    kind: KindCluster | None,
) -> Resolved:
    """``--runtime-class`` > env > config > kind (none) > ``gvisor``.

    An explicit setting wins over kind auto-detection (a kind cluster may well have gVisor
    installed); an empty value is a decision ("no RuntimeClass"), not an absence, at every level.
    """
    if flag is not None:
        return Resolved(flag, "flag")
    if environment is not None and environment.runtime_class is not None:
        return Resolved(environment.runtime_class, f"environment {environment.name}")
    if settings.data.get("runtime_class") is not None:
        return Resolved(str(settings.data["runtime_class"]), "config")
    if kind is not None:
        return Resolved("", f"kind cluster {kind.name}")
    return Resolved(DEFAULT_RUNTIME_CLASS, "default")


def image_pull_policy(kind: KindCluster | None) -> str:
    # kind loads images into its nodes; Always would try (and fail) to pull them.
    return "IfNotPresent" if kind is not None else "Always"


def resolve_pull_policy(
    flag: str | None, environment: Environment | None, settings: Settings, kind: KindCluster | None
) -> Resolved:
    """``--image-pull-policy`` > env > config > kind (``IfNotPresent``) > ``Always``."""
    if flag:
        return Resolved(flag, "flag")
    if environment is not None and environment.image_pull_policy:
        return Resolved(environment.image_pull_policy, f"environment {environment.name}")
    configured = settings.text("image_pull_policy")
    if configured:
        return Resolved(configured, "config")
    return Resolved(image_pull_policy(kind), f"kind cluster {kind.name}" if kind else "default")


@dataclass(frozen=True)
class DeployTarget:
    """Everything a deploy needs to know about where and how, with sources for display."""

    environment: Environment | None
    cluster: ClusterTarget
    namespace: Resolved
    image: Resolved
    runtime_class: Resolved
    kind: KindCluster | None
    enforcement: Enforcement
    pull_policy_setting: Resolved | None = None

    @property
    def pull_policy(self) -> str:
        setting = self.pull_policy_setting
        return setting.value if setting is not None else image_pull_policy(self.kind)

    def to_dict(self) -> dict[str, Any]:
        return {
            "environment": self.environment.name if self.environment else None,
            "context": self.cluster.context,
            "namespace": self.namespace.value,
            "image": self.image.value,
            "runtimeClass": self.runtime_class.value or None,
            "imagePullPolicy": self.pull_policy,
            "kind": self.kind.name if self.kind else None,
            "enforcement": self.enforcement,
        }


def resolve_deploy_target(
    settings: Settings,
    *,
    env_name: str | None,
    namespace_flag: str | None = None,
    image_flag: str | None = None,
    runtime_class_flag: str | None = None,
    workflow_namespace: str | None = None,
    workflow_dir: Path | None = None,
    warn_flag: bool = False,
    pull_policy_flag: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> DeployTarget:
    environment = settings.environment(env_name) if env_name else None
    cluster = cluster_target(environment)
    kind = detect_kind_for(cluster, environ)
    enforcement: Enforcement = (
        "audit" if warn_flag else (environment.enforcement if environment else "strict")
    )
    return DeployTarget(
        environment=environment,
        cluster=cluster,
        namespace=resolve_namespace(namespace_flag, environment, workflow_namespace, settings),
        image=resolve_image(image_flag, environment, workflow_dir),
        runtime_class=resolve_runtime_class(runtime_class_flag, environment, settings, kind),
        kind=kind,
        enforcement=enforcement,
        pull_policy_setting=resolve_pull_policy(pull_policy_flag, environment, settings, kind),
    )


def update_config_file(
    path: Path, updates: Mapping[str, Any], environment: str | None = None
) -> dict[str, Any]:
    """Set keys (top-level or in one environment), keep everything else, write the file back."""
    data = read_config_file(path)
    if environment:
        environments = data.setdefault("environments", {}) or {}
        data["environments"] = environments
        target: dict[str, Any] = environments.setdefault(environment, {}) or {}
        environments[environment] = target
    else:
        target = data
    for key, value in updates.items():
        if key == "config_overrides":
            target[key] = {**(target.get(key) or {}), **value}
        else:
            target[key] = value
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return data
