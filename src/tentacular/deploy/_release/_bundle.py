"""``tntc release bundle``: render a workflow once, for one environment, into a release unit (K-R1).

The unit never holds a secret value because bundling never resolves one: the Secret object
is left out and only its name and the contract's secret inventory (names) are recorded.
"""

from __future__ import annotations

import base64
import dataclasses
import subprocess
from pathlib import Path
from typing import Any

import yaml

from tentacular.deploy import _codemap
from tentacular.deploy._kube.deploy import contract_gate
from tentacular.deploy._operations import resolve_target
from tentacular.deploy._options import TargetOptions
from tentacular.deploy._plan import render_objects
from tentacular.deploy._release._image import pin_image
from tentacular.deploy._release._unit import ReleaseUnit, digest, write_unit
from tentacular.deploy._settings import Resolved, load_settings
from tentacular.deploy._source import git_revision, source_path
from tentacular.deploy._versions import deployed_by, now_rfc3339, object_hash
from tentacular.events import EventSink, ignore_events
from tentacular.spec import derive, load_workflow


@dataclasses.dataclass(frozen=True, kw_only=True)
class BundleOptions(TargetOptions):
    """What to bundle for: the environment (its overrides, namespace, image) and the image pin."""

    image: str | None = None
    digest: str | None = None
    allow_tag: bool = False
    runtime_class: str | None = None
    warn: bool = False


def git_dirty(directory: Path) -> bool | None:
    """Uncommitted changes under ``directory``; None outside a git checkout or without git."""
    try:
        result = subprocess.run(
            ["git", "-C", str(directory), "status", "--porcelain", "--", "."],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return bool(result.stdout.strip()) if result.returncode == 0 else None


def _file_entry(item: _codemap.CodeFile) -> dict[str, Any]:
    entry: dict[str, Any] = {"path": item.path, "sha256": digest(item.content), "size": len(item.content)}
    if item.text is not None:
        entry["text"] = item.text
    else:
        entry["base64"] = base64.b64encode(item.content).decode("ascii")
    return entry


def bundle(
    directory: str | Path, output: str | Path, options: BundleOptions, *, on_event: EventSink = ignore_events
) -> ReleaseUnit:
    """Render ``directory`` for the chosen environment and write the unit to ``output``."""
    settings = load_settings()
    loaded = load_workflow(directory)
    target = resolve_target(
        settings,
        options,
        loaded=loaded,
        image=options.image,
        runtime_class=options.runtime_class,
        warn=options.warn,
    )
    warnings = contract_gate(loaded, strict=target.enforcement == "strict", on_event=on_event)
    pinned = pin_image(target.image.value, digest=options.digest, allow_tag=options.allow_tag)
    pinned_target = dataclasses.replace(
        target, image=Resolved(pinned.pinned, f"release unit ({pinned.source})")
    )
    objects = render_objects(loaded, pinned_target, None)
    overrides = dict(target.environment.config_overrides) if target.environment else None
    telemetry = dict(target.environment.telemetry_overrides) if target.environment else None
    shipped = _codemap.shipped_workflow_text(loaded.text, overrides, telemetry)
    code = _codemap.collect_code(loaded.directory, shipped, compiled=_codemap.compiled_form(loaded, shipped))
    document = yaml.safe_load(shipped) or {}
    workflow = loaded.workflow
    derived = derive(workflow).to_dict()
    unit: dict[str, Any] = {
        "workflow": {
            "name": workflow.name,
            "version": workflow.version,
            "codeHash": code.digest(),
            "namespace": workflow.deployment.namespace,
        },
        "files": [_file_entry(item) for item in code.files],
        "config": document.get("config") or {},
        "contract": document.get("contract"),
        "derived": {**derived, "secretObject": f"{workflow.name}-secrets"},
        "image": pinned.to_dict(),
        "runtimeClass": target.runtime_class.value or None,
        "objects": [
            {
                "ref": f"{obj['kind']}/{obj['metadata']['name']}",
                "kind": obj["kind"],
                "name": obj["metadata"]["name"],
                "hash": object_hash(obj),
                "object": obj,
            }
            for obj in objects
            if obj["kind"] != "Secret"
        ],
        "source": {
            "path": source_path(loaded.directory),
            "gitSha": git_revision(loaded.directory),
            "dirty": git_dirty(loaded.directory),
        },
        "bundled": {
            "by": deployed_by(None),
            "at": now_rfc3339(),
            "tntcVersion": _tntc_version(),
            "environment": target.environment.name if target.environment else None,
            "namespace": target.namespace.value,
            "warnings": warnings,
        },
    }
    result = ReleaseUnit(unit)
    write_unit(result, Path(output))
    return result


def _tntc_version() -> str:
    import tentacular

    return str(tentacular.__version__)
