"""Workflow catalogs: git repositories with a ``catalog.yaml`` index, plus the bundled examples.

Refs: ``CATALOG:TEMPLATE`` (a configured catalog, or ``builtin``) and
``<git-url>//<path>@<tag>`` (any repository, a subdirectory, a tag or branch). Templates are
copied into a staging directory, renamed and validated before they are moved into place,
so a bad ref, a network failure or an invalid template leaves nothing behind.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tentacular.agent import _git
from tentacular.defaults import WORKFLOW_FILE
from tentacular.errors import CatalogError, ScaffoldError, SpecError

INDEX_FILE = "catalog.yaml"
INDEX_VERSION = "1"
BUILTIN = "builtin"
DEFAULT_TTL_SECONDS = 3600.0
_CATALOG_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_SKIP = frozenset({".git", ".secrets", ".secrets.yaml", ".tentacular", "__pycache__", _git.STAMP})
_NAME_LINE = re.compile(r"^name:[ \t]*.*$", re.MULTILINE)


@dataclass(frozen=True)
class CatalogSource:
    name: str
    url: str | None  # None: the bundled example-workflows/
    ref: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "url": self.url or "(bundled example-workflows)", "ref": self.ref}


@dataclass(frozen=True)
class Template:
    catalog: str
    name: str
    path: str
    description: str = ""
    version: str = ""
    tags: tuple[str, ...] = ()
    secrets: tuple[str, ...] = ()
    min_tntc_version: str = ""
    files: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "catalog": self.catalog,
            "name": self.name,
            "description": self.description,
            "version": self.version,
            "tags": list(self.tags),
            "secrets": list(self.secrets),
            "path": self.path,
            "minTntcVersion": self.min_tntc_version,
            "files": list(self.files),
        }

    def matches(self, query: str) -> bool:
        needle = query.lower()
        return any(needle in text.lower() for text in (self.name, self.description, *self.tags))


@dataclass
class Catalogs:
    """The configured catalogs (plus ``builtin``) and where their clones are cached."""

    sources: dict[str, CatalogSource]
    cache_root: Path
    ttl: float = DEFAULT_TTL_SECONDS
    refresh: bool = False
    warnings: list[str] = field(default_factory=list)

    def source(self, name: str) -> CatalogSource:
        if name not in self.sources:
            raise CatalogError(
                f"no catalog named {name!r}",
                hint=f"known catalogs: {', '.join(sorted(self.sources))}; add one under `catalogs:` in "
                "~/.tentacular/config.yaml",
            )
        return self.sources[name]

    def templates(self, name: str | None = None) -> list[Template]:
        names = [name] if name else list(self.sources)
        found: list[Template] = []
        for catalog in names:
            root = self._root(self.source(catalog))
            found.extend(read_index(root, catalog))
        return found

    def find(self, ref: str) -> tuple[Template, Path]:
        """The template a ref names and its directory on disk (checked out)."""
        catalog, template = parse_catalog_ref(ref)
        if catalog is None:
            matches = [t for t in self.templates() if t.name == template]
            if not matches:
                raise CatalogError(
                    f"no template named {template!r} in any catalog", hint="see: tntc catalog list"
                )
            catalog = matches[0].catalog
        source = self.source(catalog)
        root = self._root(source)
        entry = next((t for t in read_index(root, catalog) if t.name == template), None)
        if entry is None:
            raise CatalogError(
                f"catalog {catalog!r} has no template {template!r}",
                hint=f"see: tntc catalog list --catalog {catalog}",
            )
        return entry, self._checkout_path(source, root, entry.path)

    def _root(self, source: CatalogSource) -> Path:
        if source.url is None:
            return builtin_dir()
        checkout = _git.fetch(
            source.url, source.ref, cache_root=self.cache_root, ttl=self.ttl, refresh=self.refresh
        )
        if checkout.stale:
            self.warnings.append(f"catalog {source.name}: refresh failed, using the cached copy")
        return checkout.directory

    def _checkout_path(self, source: CatalogSource, root: Path, path: str) -> Path:
        if source.url is not None:
            _git.add_paths(_git.Checkout(source.url, source.ref, root), [path])
        return _inside(root, path)


def builtin_dir() -> Path:
    import tentacular

    directory = Path(tentacular.__file__).resolve().parents[2] / "example-workflows"
    if not directory.is_dir():
        raise CatalogError(
            "the built-in catalog (example-workflows/) is not part of this installation",
            hint="configure a git catalog under `catalogs:` in ~/.tentacular/config.yaml",
        )
    return directory


def configured(settings: Mapping[str, Any], *, cache_root: Path, refresh: bool = False) -> Catalogs:
    """Catalogs from the merged config: ``catalogs: {name: url | {url, ref}}`` and ``catalog.cacheTTL``."""
    sources = {BUILTIN: CatalogSource(BUILTIN, None)}
    raw = settings.get("catalogs") or {}
    if not isinstance(raw, Mapping):
        raise CatalogError(
            "config `catalogs` must map names to git URLs", hint="catalogs: {team: https://…/repo.git}"
        )
    for name, value in raw.items():
        url, ref = (
            (value, None)
            if isinstance(value, str)
            else (dict(value or {}).get("url"), dict(value or {}).get("ref"))
        )
        if not _CATALOG_NAME.match(str(name)) or not url:
            raise CatalogError(
                f"config catalogs.{name}: wants a lowercase name and a git URL",
                hint="catalogs: {team: {url: https://example.com/catalog.git, ref: v1}}",
            )
        sources[str(name)] = CatalogSource(str(name), str(url), str(ref) if ref else None)
    options = settings.get("catalog") or {}
    ttl = DEFAULT_TTL_SECONDS
    if isinstance(options, Mapping) and options.get("cacheTTL") is not None:
        ttl = _seconds(options["cacheTTL"])
    return Catalogs(sources, cache_root, ttl=ttl, refresh=refresh)


def _seconds(value: Any) -> float:
    from tentacular.spec._model import duration_seconds

    try:
        return float(value) if isinstance(value, int | float) else duration_seconds(str(value))
    except ValueError:
        raise CatalogError(
            f"config catalog.cacheTTL: not a duration: {value!r}", hint="e.g. 1h, 30m, 3600"
        ) from None


def parse_catalog_ref(ref: str) -> tuple[str | None, str]:
    """``team:hello`` → ("team", "hello"); ``hello`` → (None, "hello")."""
    catalog, sep, template = ref.partition(":")
    if not sep:
        return None, ref
    if not _CATALOG_NAME.match(catalog) or not template or "/" in template:
        raise CatalogError(
            f"not a catalog ref: {ref!r}", hint="use CATALOG:TEMPLATE or <git-url>//<path>@<tag>"
        )
    return catalog, template


def parse_git_ref(ref: str) -> tuple[str, str, str | None] | None:
    """``<git-url>//<path>@<tag>`` → (url, path, tag); None when ``ref`` is not of that form."""
    scheme = ref.find("://")
    start = scheme + 3 if scheme >= 0 else 0
    split = ref.find("//", start)
    if split < 0:
        return None
    url, rest = ref[:split], ref[split + 2 :]
    path, _, tag = rest.partition("@")
    path = path.strip("/")
    if not url or not path:
        raise CatalogError(f"not a git ref: {ref!r}", hint="e.g. https://example.com/catalog.git//hello@v1.0")
    return url, path, tag or None


def read_index(root: Path, catalog: str) -> list[Template]:
    if catalog == BUILTIN and not (root / INDEX_FILE).is_file():
        return build_index(root, catalog)
    path = root / INDEX_FILE
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError:
        raise CatalogError(
            f"catalog {catalog!r} has no {INDEX_FILE}",
            hint="generate it in the catalog repository: tntc catalog index .",
        ) from None
    except yaml.YAMLError as exc:
        raise CatalogError(f"catalog {catalog!r}: {INDEX_FILE} is not valid YAML: {exc}") from None
    entries = data.get("templates") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise CatalogError(f"catalog {catalog!r}: {INDEX_FILE} needs a `templates:` list")
    templates = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or not entry.get("name") or not entry.get("path"):
            raise CatalogError(
                f"catalog {catalog!r}: {INDEX_FILE} templates[{index}] needs `name` and `path`"
            )
        _inside(root, str(entry["path"]))  # refuse paths that leave the repository
        templates.append(_template(catalog, entry))
    return templates


def _template(catalog: str, entry: Mapping[str, Any]) -> Template:
    def strings(key: str) -> tuple[str, ...]:
        value = entry.get(key) or []
        return tuple(str(v) for v in value) if isinstance(value, list) else (str(value),)

    return Template(
        catalog=catalog,
        name=str(entry["name"]),
        path=str(entry["path"]).strip("/"),
        description=str(entry.get("description") or ""),
        version=str(entry.get("version") or ""),
        tags=strings("tags"),
        secrets=strings("secrets"),
        min_tntc_version=str(entry.get("minTntcVersion") or ""),
        files=strings("files"),
    )


def _inside(root: Path, path: str) -> Path:
    resolved = (root / path).resolve()
    if resolved != root.resolve() and root.resolve() not in resolved.parents:
        raise CatalogError(f"template path {path!r} leaves the catalog repository")
    return resolved


def build_index(directory: Path, catalog: str = "") -> list[Template]:
    """Index every workflow below ``directory``; any invalid one stops it (nothing is written)."""
    from tentacular.agent._resources import workflow_dirs
    from tentacular.spec import check_workflow, derive

    previous = _previous_entries(directory)
    templates: list[Template] = []
    problems: list[str] = []
    for workflow_dir in workflow_dirs(directory):
        check = check_workflow(workflow_dir)
        relative = workflow_dir.relative_to(directory).as_posix()
        if check.workflow is None or check.errors:
            problems.append(f"{relative}: {check.errors[0].render() if check.errors else 'invalid'}")
            continue
        workflow = check.workflow
        kept = previous.get(workflow.name, {})
        tags = sorted(set(_derived_tags(workflow_dir, workflow)) | set(kept.get("tags") or []))
        templates.append(
            Template(
                catalog=catalog,
                name=workflow.name,
                path=relative,
                description=workflow.description or str(kept.get("description") or ""),
                version=workflow.version,
                tags=tuple(tags),
                secrets=tuple(derive(workflow).secrets),
                min_tntc_version=str(kept.get("minTntcVersion") or _current_minor()),
                files=tuple(_files(workflow_dir)),
            )
        )
    if problems:
        raise CatalogError(
            f"{len(problems)} template(s) are invalid: " + "; ".join(problems),
            hint="fix them (tntc validate DIR) before indexing",
        )
    return sorted(templates, key=lambda t: t.name)


def _previous_entries(directory: Path) -> dict[str, dict[str, Any]]:
    try:
        data = yaml.safe_load((directory / INDEX_FILE).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return {}
    entries = data.get("templates") if isinstance(data, dict) else None
    return {str(e["name"]): e for e in entries or [] if isinstance(e, dict) and e.get("name")}


def _derived_tags(workflow_dir: Path, workflow: Any) -> list[str]:
    tags = {f"trigger:{t.type}" for t in workflow.triggers}
    for node in workflow.nodes.values():
        tags.add("typescript" if str(node.path).endswith(".ts") else "python")
    if workflow.contract is not None:
        tags.update(f"protocol:{d.protocol}" for d in workflow.contract.dependencies.values() if d.protocol)
    return sorted(tags)


def _files(workflow_dir: Path) -> list[str]:
    return sorted(
        p.relative_to(workflow_dir).as_posix()
        for p in workflow_dir.rglob("*")
        if p.is_file() and not any(part in _SKIP for part in p.relative_to(workflow_dir).parts)
    )


def _current_minor() -> str:
    import tentacular

    return ".".join(tentacular.__version__.split(".")[:2])


def write_index(directory: Path) -> tuple[Path, list[Template]]:
    templates = build_index(directory)
    document = {
        "version": INDEX_VERSION,
        "templates": [{k: v for k, v in t.to_dict().items() if k != "catalog"} for t in templates],
    }
    target = directory / INDEX_FILE
    staging = target.with_name(f".{INDEX_FILE}.tmp")
    staging.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), encoding="utf-8")
    staging.replace(target)
    return target, templates


def materialize(source: Path, target: Path, *, name: str | None, force: bool = False) -> list[Path]:
    """Copy a template to ``target`` (renamed to ``name``), validated; all or nothing."""
    from tentacular.spec import check_workflow

    if not (source / WORKFLOW_FILE).is_file():
        raise CatalogError(f"the template at {source} has no {WORKFLOW_FILE}")
    if target.exists() and any(target.iterdir()) and not force:
        raise ScaffoldError(
            f"{target} already exists and is not empty", hint="choose another --dir, or pass --force"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        shutil.copytree(
            source, staging, dirs_exist_ok=True, ignore=lambda _d, names: [n for n in names if n in _SKIP]
        )
        if name is not None:
            _rename(staging / WORKFLOW_FILE, name)
        check = check_workflow(staging)
        if check.workflow is None or check.errors:
            raise SpecError(
                f"the template is not a valid workflow ({len(check.errors)} error(s)); nothing was written",
                check.issues,
                hint="report it to the catalog's maintainers",
            )
        files = sorted(p.relative_to(staging) for p in staging.rglob("*") if p.is_file())
        if target.exists():
            shutil.rmtree(target) if force else target.rmdir()
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return [target / f for f in files]


def _rename(workflow_file: Path, name: str) -> None:
    from tentacular.spec._model import WORKFLOW_NAME_RE

    if not re.match(WORKFLOW_NAME_RE, name):
        raise ScaffoldError(f"workflow name must be kebab-case (e.g., my-workflow), got: {name}")
    text = workflow_file.read_text(encoding="utf-8")
    if not _NAME_LINE.search(text):
        raise CatalogError("the template's workflow.yaml has no top-level `name:` line to rename")
    workflow_file.write_text(_NAME_LINE.sub(f"name: {name}", text, count=1), encoding="utf-8")


def pull_git_ref(
    url: str, path: str, tag: str | None, *, cache_root: Path, ttl: float, refresh: bool
) -> Path:
    checkout = _git.fetch(url, tag, cache_root=cache_root, ttl=ttl, refresh=refresh)
    _git.add_paths(checkout, [path])
    directory = _inside(checkout.directory, path)
    if not directory.is_dir():
        raise CatalogError(f"{url}@{tag or 'default branch'} has no directory {path!r}")
    return directory
