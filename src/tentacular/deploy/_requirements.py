"""Workflow-declared Python packages, accepted only pinned and hash-checked (D6).

A workflow lists its third-party packages in ``runtime.python.requirements`` and/or
a ``runtime.python.requirementsFile`` (pip's requirements format). The image build
installs them with ``pip install --require-hashes``, so every line must pin one exact
version and carry at least one ``--hash``; we check that before any container tool
runs, with an error that names the offending line instead of pip's build log.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tentacular.errors import BuildError
from tentacular.spec import LoadedWorkflow

_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?"
_REQUIREMENT = re.compile(
    rf"^(?P<name>{_NAME})\s*(?:\[[A-Za-z0-9._,\s-]*\])?\s*"
    r"(?P<op>===?)\s*(?P<version>[A-Za-z0-9._+!-]+)\s*"
    r"(?:;(?P<marker>[^#]*?))?\s*$"
)
_HASH = re.compile(r"^--hash[=\s]\s*(?P<algo>sha256|sha384|sha512):(?P<digest>[0-9a-fA-F]+)$")
_DIGEST_LENGTH = {"sha256": 64, "sha384": 96, "sha512": 128}
_HINT = (
    "pin every package (including dependencies) with its hashes, e.g. generate the file with "
    "`pip-compile --generate-hashes` or `uv pip compile --generate-hashes`"
)


@dataclass(frozen=True)
class PinnedRequirement:
    name: str
    version: str
    hashes: tuple[str, ...]
    line: str

    @property
    def normalized_name(self) -> str:
        return re.sub(r"[-_.]+", "-", self.name).lower()


def parse_requirements(text: str, source: str, *, numbered: bool = True) -> list[PinnedRequirement]:
    """Parse requirement lines, rejecting anything not pinned to one version with hashes."""
    return [
        _parse_line(logical, f"{source}:{number}" if numbered else source)
        for number, logical in _logical_lines(text)
    ]


def workflow_requirements(loaded: LoadedWorkflow) -> list[PinnedRequirement]:
    """Everything the workflow declares, inline entries first, then the requirements file."""
    runtime = loaded.workflow.runtime.python
    found: list[PinnedRequirement] = []
    for index, entry in enumerate(runtime.requirements):
        found.extend(parse_requirements(entry, f"runtime.python.requirements[{index}]", numbered=False))
    if runtime.requirements_file:
        found.extend(_read_requirements_file(loaded, runtime.requirements_file))
    seen: dict[str, PinnedRequirement] = {}
    for requirement in found:
        previous = seen.get(requirement.normalized_name)
        if previous is not None and previous.version != requirement.version:
            raise BuildError(
                f"package {requirement.name} is pinned twice with different versions "
                f"({previous.version} and {requirement.version})",
                hint="declare each package once",
            )
        seen.setdefault(requirement.normalized_name, requirement)
    return found


def render_lockfile(requirements: list[PinnedRequirement]) -> str:
    """The file handed to ``pip install --require-hashes -r``."""
    return "".join(f"{requirement.line}\n" for requirement in requirements)


def _read_requirements_file(loaded: LoadedWorkflow, relative: str) -> list[PinnedRequirement]:
    directory = loaded.directory.resolve()
    path = (directory / relative).resolve()
    if not path.is_relative_to(directory):
        raise BuildError(
            f'runtime.python.requirementsFile "{relative}" points outside the workflow directory',
            hint="keep the requirements file inside the workflow directory",
        )
    if not path.is_file():
        raise BuildError(
            f"requirements file {path} does not exist",
            hint="fix runtime.python.requirementsFile in workflow.yaml",
        )
    return parse_requirements(path.read_text(encoding="utf-8"), relative)


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Join backslash continuations and drop comments, keeping the first physical line number."""
    lines: list[tuple[int, str]] = []
    buffer = ""
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = re.sub(r"(^|\s)#.*$", "", raw).rstrip()
        if not buffer:
            start = number
        if stripped.endswith("\\"):
            buffer += stripped[:-1] + " "
            continue
        buffer += stripped
        if buffer.strip():
            lines.append((start, " ".join(buffer.split())))
        buffer = ""
    if buffer.strip():
        lines.append((start, " ".join(buffer.split())))
    return lines


def _parse_line(line: str, where: str) -> PinnedRequirement:
    head, _, options = line.partition(" --")
    options = f"--{options}" if options else ""
    if head.startswith("-"):
        raise BuildError(
            f'{where}: unsupported pip option "{head.split()[0]}"',
            hint="only pinned requirements with --hash options are accepted; "
            "no -e, -r, -c, --index-url or URLs",
        )
    if "://" in head or head.startswith((".", "/")) or " @ " in head:
        raise BuildError(f'{where}: "{head}" is a URL or path, not a pinned package', hint=_HINT)
    match = _REQUIREMENT.match(head)
    if match is None:
        raise BuildError(f'{where}: "{head}" must pin one exact version (name==version)', hint=_HINT)
    hashes: list[str] = []
    for option in re.split(r"\s+(?=--)", options) if options else []:
        hash_match = _HASH.match(option.strip())
        if hash_match is None:
            raise BuildError(f'{where}: unsupported option "{option.strip()}"', hint=_HINT)
        algo, digest = hash_match.group("algo"), hash_match.group("digest")
        if len(digest) != _DIGEST_LENGTH[algo]:
            raise BuildError(f"{where}: {algo} hash of {match.group('name')} has the wrong length")
        hashes.append(f"{algo}:{digest.lower()}")
    if not hashes:
        raise BuildError(f"{where}: {match.group('name')} has no --hash", hint=_HINT)
    return PinnedRequirement(match.group("name"), match.group("version"), tuple(hashes), line)
