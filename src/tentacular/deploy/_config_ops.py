"""The deploy face's configuration operations: ``configure``, ``build``, enforcement and version info."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tentacular.deploy._options import TargetOptions
from tentacular.deploy._settings import (
    cluster_target,
    environment_from_fields,
    environment_name,
    load_settings,
    project_config_path,
    update_config_file,
    user_config_path,
)
from tentacular.errors import UsageError
from tentacular.events import Event, EventSink, ignore_events
from tentacular.spec import Enforcement, load_workflow

if TYPE_CHECKING:
    from tentacular.deploy._builder import BuildOutcome

#: Settings only an environment has (a top-level default would be ambiguous).
ENVIRONMENT_ONLY = ("context", "kubeconfig", "image", "secrets_source", "enforcement")


@dataclass(frozen=True)
class BuildReport:
    directory: Path
    outcome: BuildOutcome


def build(
    directory: str | Path,
    *,
    target: TargetOptions,
    tag: str | None = None,
    registry: str | None = None,
    push: bool = False,
    platform: str | None = None,
    on_event: EventSink = ignore_events,
) -> BuildReport:
    """Build the engine image (plus the workflow's hash-pinned packages) for the chosen environment."""
    from tentacular.deploy._builder import BuildRequest, build_image

    loaded = load_workflow(directory)
    settings = load_settings()
    env_name = environment_name(target.env)
    # Kind detection looks at the context the chosen environment deploys to (Q29).
    cluster = cluster_target(settings.environment(env_name) if env_name else None)
    request = BuildRequest(
        loaded=loaded,
        tag=tag,
        registry=registry or settings.text("registry"),
        push=push,
        platform=platform,
        kubeconfig=str(cluster.kubeconfig) if cluster.kubeconfig else None,
        kube_context=cluster.context,
    )
    return BuildReport(loaded.directory, build_image(request, lambda m: on_event(Event(m))))


@dataclass(frozen=True)
class ConfigureReport:
    file: Path
    env: str | None
    updated: dict[str, Any]
    effective: dict[str, Any]
    files: list[Path] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": str(self.file),
            "updated": self.updated,
            "effective": self.effective,
            "files": [str(p) for p in self.files],
        }


def parse_overrides(items: Sequence[str]) -> dict[str, Any]:
    """``KEY=VALUE`` pairs; values are YAML scalars (``3`` is a number, ``""`` an empty string)."""
    import yaml

    pairs: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--override wants KEY=VALUE, got {item!r}")
        pairs[key] = yaml.safe_load(raw) if raw else ""
    return pairs


def configure(
    *,
    target: TargetOptions,
    project: bool = False,
    values: Mapping[str, str | None],
    overrides: Sequence[str] = (),
) -> ConfigureReport:
    """Write settings into the user (or project) file, into ``target.env`` when given, and show
    the effective result. ``values`` maps setting names to flag values (``None``: not given)."""
    env = target.env
    ordered = {"registry": values.get("registry"), "namespace": target.namespace, **values}
    given = {k: v for k, v in ordered.items() if v is not None}
    env_only = [k for k in ENVIRONMENT_ONLY if k in given]
    if (env_only or overrides) and not env:
        raise UsageError(
            "--context, --kubeconfig, --image, --secrets-source, --enforcement, --override need --env NAME"
        )
    if env and "registry" in given:
        raise UsageError("registry is a top-level setting; drop --env")
    updates: dict[str, Any] = dict(given)
    if overrides:
        updates["config_overrides"] = parse_overrides(overrides)
    path = project_config_path() if project else user_config_path()
    if updates:
        if env:
            environment_from_fields(env, updates)  # validate before writing
        update_config_file(path, updates, env)
    settings = load_settings()
    return ConfigureReport(path, env, updates, dict(settings.data), list(settings.files))


def enforcement_for(*, env: str | None, warn: bool) -> Enforcement:
    """``--warn`` wins; else the environment's ``enforcement`` (Q6); else strict.

    An unknown ``--env`` is the same error here as in ``tntc deploy``: one resolution, one rule.
    """
    if warn:
        return "audit"
    name = environment_name(env)
    if not name:
        return "strict"
    return load_settings().environment(name).enforcement


def git_revision(directory: str | Path) -> str | None:
    from tentacular.deploy._source import git_revision as revision

    return revision(Path(directory))
