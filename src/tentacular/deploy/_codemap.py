"""The code ConfigMap ``{wf}-code-{version}-{hash}`` and the hash that rolls the Deployment
(D6, §7.4, Q17, roadmap #9).

Each distinct code gets its own immutable ConfigMap, named by the workflow version and the
first characters of the code hash, so older code stays in the cluster for ``tntc rollback``.

Every file under ``nodes/`` (nested directories too, helper modules included) plus
``workflow.yaml`` ships, and ``workflow.compiled.json``: the validated workflow the engine
loads at start instead of validating again (``spec._compiled``, issue 19). ConfigMap keys
may not contain ``/``, so paths are flattened with ``__`` and the Deployment's volume maps
every key back to its path with ``items``.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tentacular.errors import ManifestError
from tentacular.spec import (
    COMPILED_FILE,
    WORKFLOW_FILE,
    CompiledFormUnusable,
    LoadedWorkflow,
    compile_workflow,
)
from tentacular.spec._loader import parse_workflow

CONFIGMAP_LIMIT_BYTES = 921_600  # 900 KB, leaving room under the 1 MiB object limit
KEY_SEPARATOR = "__"
NODES_DIR = "nodes"
_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
_MAX_KEY_LENGTH = 253
_SKIPPED_DIRS = frozenset({"__pycache__"})
_SKIPPED_SUFFIXES = (".pyc", ".pyo")
SHORT_HASH_LENGTH = 10
CODE_COMPONENT = "code"  # app.kubernetes.io/component of every code ConfigMap


@dataclass(frozen=True)
class CodeFile:
    path: str  # relative to the workflow directory, with "/"
    content: bytes

    @property
    def key(self) -> str:
        return config_key(self.path)

    @property
    def text(self) -> str | None:
        try:
            return self.content.decode("utf-8")
        except UnicodeDecodeError:
            return None

    @property
    def shipped_size(self) -> int:
        """Bytes the file adds to the ConfigMap (binary files travel base64-encoded)."""
        if self.text is not None:
            return len(self.content)
        return len(base64.b64encode(self.content))


@dataclass(frozen=True)
class CodeBundle:
    """The shipped files, sorted by key so every rendering is identical."""

    files: tuple[CodeFile, ...]

    @classmethod
    def of(cls, files: Mapping[str, bytes]) -> CodeBundle:
        bundle = tuple(sorted((CodeFile(path, data) for path, data in files.items()), key=lambda f: f.key))
        seen: dict[str, str] = {}
        for item in bundle:
            if item.key in seen:
                raise ManifestError(
                    f'"{seen[item.key]}" and "{item.path}" both become ConfigMap key "{item.key}"',
                    hint=f'rename one of them; "{KEY_SEPARATOR}" stands for "/" in ConfigMap keys',
                )
            seen[item.key] = item.path
        return cls(bundle)

    @property
    def size(self) -> int:
        return sum(item.shipped_size for item in self.files)

    def digest(self) -> str:
        """sha256 over every key and content: changes exactly when shipped code or config does."""
        hasher = hashlib.sha256()
        for item in self.files:
            hasher.update(f"{len(item.key)}:{item.key}:{len(item.content)}:".encode())
            hasher.update(item.content)
        return f"sha256:{hasher.hexdigest()}"


def config_key(path: str) -> str:
    key = path.replace("/", KEY_SEPARATOR)
    if not _KEY.match(key) or len(key) > _MAX_KEY_LENGTH:
        raise ManifestError(
            f'file "{path}" cannot be shipped: ConfigMap keys allow only letters, digits, "-", "_" '
            f'and "." (at most {_MAX_KEY_LENGTH} characters)',
            hint="rename the file",
        )
    return key


def shipped_workflow_text(
    text: str,
    config_overrides: Mapping[str, Any] | None,
    telemetry_overrides: Mapping[str, Any] | None = None,
) -> str:
    """workflow.yaml as written, or re-rendered with the environment's ``config_overrides`` merged
    into ``config`` and its ``telemetry`` settings merged into ``telemetry``."""
    if not config_overrides and not telemetry_overrides:
        return text
    document = yaml.safe_load(text)
    if not isinstance(document, dict):
        raise ManifestError("workflow.yaml is not a mapping; cannot apply config overrides")
    if config_overrides:
        document["config"] = {**(document.get("config") or {}), **config_overrides}
    if telemetry_overrides:
        document["telemetry"] = {**(document.get("telemetry") or {}), **telemetry_overrides}
    merged = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, default_flow_style=False)
    workflow, issues = parse_workflow(merged)
    if workflow is None:
        problems = "; ".join(f"{i.path}: {i.message}" for i in issues if i.severity == "error")
        raise ManifestError(
            f"the environment's overrides make the workflow invalid: {problems}",
            hint="fix config_overrides / telemetry of the selected environment",
        )
    return merged


def effective_workflow(loaded: LoadedWorkflow, shipped: str) -> LoadedWorkflow:
    """``loaded`` as the pod will see it: the shipped (overridden) workflow.yaml, parsed."""
    workflow, _issues = parse_workflow(shipped)
    assert workflow is not None  # shipped_workflow_text validated it
    return loaded._replace(workflow=workflow, text=shipped)


def compiled_form(loaded: LoadedWorkflow, shipped: str) -> str | None:
    """``workflow.compiled.json`` for the shipped workflow.yaml; None when a value in it has no
    compiled form (a YAML set, say): the engine then validates workflow.yaml at start."""
    workflow = loaded.workflow if shipped == loaded.text else effective_workflow(loaded, shipped).workflow
    try:
        return compile_workflow(workflow, shipped)
    except CompiledFormUnusable:
        return None


def collect_code(directory: Path, workflow_text: str, *, compiled: str | None = None) -> CodeBundle:
    """Read every shippable file under ``nodes/``; symlinks may not lead outside the workflow."""
    root = directory.resolve()
    files: dict[str, bytes] = {WORKFLOW_FILE: workflow_text.encode("utf-8")}
    if compiled is not None:
        files[COMPILED_FILE] = compiled.encode("utf-8")
    for path in _node_files(root / NODES_DIR, root):
        files[path.relative_to(root).as_posix()] = path.read_bytes()
    bundle = CodeBundle.of(files)
    if bundle.size > CONFIGMAP_LIMIT_BYTES:
        largest = sorted(bundle.files, key=lambda f: f.shipped_size, reverse=True)[:3]
        raise ManifestError(
            f"workflow code size ({bundle.size} bytes) exceeds the ConfigMap limit of "
            f"{CONFIGMAP_LIMIT_BYTES} bytes (900 KB)",
            hint="largest files: "
            + ", ".join(f"{f.path} ({f.shipped_size} bytes)" for f in largest)
            + "; keep data out of nodes/ (fetch it at run time or bake packages into the image)",
            size=bundle.size,
            limit=CONFIGMAP_LIMIT_BYTES,
        )
    return bundle


def _node_files(nodes: Path, root: Path) -> Iterator[Path]:
    if not nodes.is_dir():
        return
    for path in sorted(nodes.rglob("*")):
        relative = path.relative_to(root)
        if any(part.startswith(".") or part in _SKIPPED_DIRS for part in relative.parts):
            continue
        if path.name.endswith(_SKIPPED_SUFFIXES) or not path.is_file():
            continue
        if not path.resolve().is_relative_to(root):
            raise ManifestError(
                f"{relative} links outside the workflow directory",
                hint="copy the file into nodes/ instead of linking to it",
            )
        yield path


def short_hash(digest: str) -> str:
    """``sha256:abcdef…`` → ``abcdef0123``: enough to tell versions apart, valid in names and labels."""
    return digest.removeprefix("sha256:")[:SHORT_HASH_LENGTH]


def code_configmap_name(workflow: str, version: str, digest: str) -> str:
    return f"{workflow}-code-{version}-{short_hash(digest)}"


def code_configmap(bundle: CodeBundle, meta: dict[str, object]) -> dict[str, Any]:
    """Immutable: its name changes with its content, so it never needs updating (roadmap #9)."""
    data = {item.key: item.text for item in bundle.files if item.text is not None}
    binary = {
        item.key: base64.b64encode(item.content).decode("ascii") for item in bundle.files if item.text is None
    }
    manifest: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": meta,
        "immutable": True,
        "data": data,
    }
    if binary:
        manifest["binaryData"] = binary
    return manifest


def code_volume_items(bundle: CodeBundle) -> list[dict[str, str]]:
    """Every key back to its path (Q17), so helper modules and nested packages are mounted too."""
    return [{"key": item.key, "path": item.path} for item in bundle.files]
