"""Package the running tentacular code as a wheel for the engine image.

The image must run exactly the engine that rendered its manifests (INVENTORY §7.13:
"engine image built from the same package"). Re-packing the imported ``tentacular``
package works the same for a pipx install and an editable checkout, needs no build
backend or network, and is byte-for-byte reproducible (fixed timestamps), so an
unchanged engine hits the container build cache.
"""

from __future__ import annotations

import base64
import hashlib
import zipfile
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

import tentacular
from tentacular.errors import BuildError

DISTRIBUTION = "tentacular"
_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest timestamp a zip entry can hold
_SKIPPED_DIRS = frozenset({"__pycache__"})
_SKIPPED_SUFFIXES = (".pyc", ".pyo")


def engine_version() -> str:
    return str(tentacular.__version__)


def wheel_filename(version: str) -> str:
    return f"{DISTRIBUTION}-{version}-py3-none-any.whl"


def build_engine_wheel(destination: Path) -> Path:
    """Write ``tentacular-<version>-py3-none-any.whl`` into ``destination`` and return its path."""
    version = engine_version()
    if "unknown" in version:
        raise BuildError(
            "the tentacular package is not installed, so its version is unknown",
            hint="install it first: pip install -e .",
        )
    package_dir = Path(tentacular.__file__).resolve().parent
    dist_info = f"{DISTRIBUTION}-{version}.dist-info"
    entries: list[tuple[str, bytes]] = [
        (f"tentacular/{path.relative_to(package_dir).as_posix()}", path.read_bytes())
        for path in _package_files(package_dir)
    ]
    entries.append((f"{dist_info}/METADATA", _metadata_text(version).encode()))
    entries.append((f"{dist_info}/WHEEL", _WHEEL_TEXT.encode()))
    entry_points = _distribution_file("entry_points.txt")
    if entry_points:
        entries.append((f"{dist_info}/entry_points.txt", entry_points.encode()))
    record_lines = [f"{name},sha256={_digest(data)},{len(data)}" for name, data in entries]
    record_lines.append(f"{dist_info}/RECORD,,")
    entries.append((f"{dist_info}/RECORD", ("\n".join(record_lines) + "\n").encode()))

    destination.mkdir(parents=True, exist_ok=True)
    target = destination / wheel_filename(version)
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return target


_WHEEL_TEXT = "Wheel-Version: 1.0\nGenerator: tntc\nRoot-Is-Purelib: true\nTag: py3-none-any\n"


def _package_files(package_dir: Path) -> Iterator[Path]:
    for path in sorted(package_dir.rglob("*")):
        relative = path.relative_to(package_dir)
        if not path.is_file() or path.name.endswith(_SKIPPED_SUFFIXES):
            continue
        if any(part in _SKIPPED_DIRS or part.startswith(".") for part in relative.parts):
            continue
        yield path


def _metadata_text(version: str) -> str:
    lines = ["Metadata-Version: 2.1", f"Name: {DISTRIBUTION}", f"Version: {version}"]
    try:
        distribution = metadata.distribution(DISTRIBUTION)
        requires_python = (distribution.metadata.get_all("Requires-Python") or [None])[0]
        requirements = distribution.requires or []
        extras = distribution.metadata.get_all("Provides-Extra") or []
    except metadata.PackageNotFoundError:
        requires_python, requirements, extras = None, [], []
    if requires_python:
        lines.append(f"Requires-Python: {requires_python}")
    lines.extend(f"Provides-Extra: {extra}" for extra in extras)
    lines.extend(f"Requires-Dist: {requirement}" for requirement in requirements)
    return "\n".join(lines) + "\n"


def _distribution_file(name: str) -> str | None:
    try:
        return metadata.distribution(DISTRIBUTION).read_text(name)
    except metadata.PackageNotFoundError:
        return None


def _digest(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
