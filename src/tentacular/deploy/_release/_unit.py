"""The release unit file: one header line, then gzip-compressed canonical JSON.

    TNTC-RELEASE-UNIT 1 sha256:<hex digest of every byte after this line>\\n
    <gzip(canonical JSON {format, formatVersion, id, unit, history})>

Why not SQLite (the ktl proposal): a unit must detect a change to *any* byte. A digest over
SQLite's logical content cannot see free pages, cell slack or header bytes, and
``PRAGMA integrity_check`` checks structure, not content; here the header digest covers
every following byte and every header byte is parsed exactly. The bytes are reproducible
(sorted keys, gzip mtime 0), so the same inputs give the same file; rewrites are atomic.

``unit`` is immutable once bundled and ``id`` is its digest (what objects carry as
``tentacular.io/release``); ``history`` is appended by apply and verify.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import tempfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tentacular.errors import ReleaseUnitError, ReleaseUnitTooNewError

MAGIC = "TNTC-RELEASE-UNIT"
FORMAT_VERSION = 1
_HEADER_LIMIT = 128
_MAX_UNIT_BYTES = 64 * 1024 * 1024  # a unit holds < 1 MiB of code; anything far beyond is not one


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def unit_id(unit: Mapping[str, Any]) -> str:
    return digest(canonical(unit))


@dataclass
class ReleaseUnit:
    """A loaded (verified) unit: its immutable content, its id, and what happened to it since."""

    unit: dict[str, Any]
    history: list[dict[str, Any]] = field(default_factory=list)
    path: Path | None = None

    @property
    def id(self) -> str:
        return unit_id(self.unit)

    @property
    def short_id(self) -> str:
        return self.id.removeprefix("sha256:")[:16]

    @property
    def workflow(self) -> str:
        return str(self.unit["workflow"]["name"])

    @property
    def objects(self) -> list[dict[str, Any]]:
        return [entry["object"] for entry in self.unit["objects"]]

    def record(self, entry: Mapping[str, Any]) -> None:
        """Append to the history and rewrite the file (when it came from one)."""
        self.history.append(dict(entry))
        if self.path is not None:
            write_unit(self, self.path)

    def document(self) -> dict[str, Any]:
        return {
            "format": MAGIC,
            "formatVersion": FORMAT_VERSION,
            "id": self.id,
            "unit": self.unit,
            "history": self.history,
        }


def encode(unit: ReleaseUnit) -> bytes:
    body = gzip.compress(canonical(unit.document()), compresslevel=9, mtime=0)
    return f"{MAGIC} {FORMAT_VERSION} {digest(body)}\n".encode("ascii") + body


def write_unit(unit: ReleaseUnit, path: Path) -> None:
    """Atomically: a reader sees the old file or the new one, never half of one."""
    data = encode(unit)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        umask = os.umask(0)
        os.umask(umask)
        Path(tmp).chmod(0o666 & ~umask)  # an ordinary file (mkstemp makes it 0600); it holds no secret
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    unit.path = path


def _bad(path: Path, why: str) -> ReleaseUnitError:
    return ReleaseUnitError(
        f"{path} is not a valid release unit: {why}",
        hint="bundle it again with: tntc release bundle <dir> -o " + path.name,
    )


def read_unit(path: Path) -> ReleaseUnit:
    """Load and verify a unit; every corruption, truncation or edit is a ReleaseUnitError."""
    try:
        size = path.stat().st_size
        if size > _MAX_UNIT_BYTES:
            raise _bad(path, f"{size} bytes is far larger than any release unit")
        data = path.read_bytes()
    except OSError as exc:
        raise ReleaseUnitError(f"cannot read release unit {path}: {exc.strerror or exc}") from None
    newline = data.find(b"\n", 0, _HEADER_LIMIT)
    if newline < 0:
        raise _bad(path, "no header line (empty, truncated or another kind of file)")
    try:
        magic, version, declared = data[:newline].decode("ascii").split(" ")
    except (UnicodeDecodeError, ValueError):
        raise _bad(path, "the header line is damaged") from None
    if magic != MAGIC:
        raise _bad(path, f'it does not start with "{MAGIC}"')
    if not version.isdigit():
        raise _bad(path, "the header line is damaged")
    if int(version) > FORMAT_VERSION:
        raise ReleaseUnitTooNewError(
            f"{path} is a format {version} release unit; this tntc reads format {FORMAT_VERSION} only",
            hint="upgrade tntc to read it (pip install -U tentacular)",
        )
    if int(version) != FORMAT_VERSION:
        raise _bad(path, f"unknown format version {version}")
    body = data[newline + 1 :]
    if digest(body) != declared:
        raise _bad(path, "its content does not match its checksum (truncated, corrupted or edited)")
    try:
        document = json.loads(gzip.decompress(body))
    except (OSError, EOFError, zlib.error, ValueError):
        raise _bad(path, "its content cannot be decoded") from None
    return _from_document(document, path)


def _from_document(document: Any, path: Path) -> ReleaseUnit:
    if not isinstance(document, dict) or document.get("format") != MAGIC:
        raise _bad(path, "unexpected document layout")
    unit, history = document.get("unit"), document.get("history")
    if not isinstance(unit, dict) or not isinstance(history, list):
        raise _bad(path, "unexpected document layout")
    loaded = ReleaseUnit(unit, history, path)
    if document.get("id") != loaded.id:
        raise _bad(path, "its id does not match its content")
    for key in ("workflow", "objects", "image", "files"):
        if key not in unit:
            raise _bad(path, f'missing "{key}"')
    for entry in unit["objects"]:
        if entry.get("hash") != _object_hash(entry.get("object")):
            raise _bad(path, f"object {entry.get('ref')} does not match its hash")
    for item in unit["files"]:
        if item.get("sha256") != digest(file_bytes(item)):
            raise _bad(path, f"file {item.get('path')} does not match its hash")
    return loaded


def _object_hash(obj: Any) -> str:
    from tentacular.deploy._versions import object_hash

    return object_hash(obj) if isinstance(obj, dict) else ""


def file_bytes(item: Mapping[str, Any]) -> bytes:
    if "text" in item:
        return str(item["text"]).encode("utf-8")
    import base64

    return base64.b64decode(str(item.get("base64", "")))
