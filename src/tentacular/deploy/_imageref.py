"""Container image references, parsed the way Docker does (Q31).

Upstream decided whether a tag "already has a registry" by looking for ``/`` before
the first ``:`` – which breaks on ``localhost:5000/img``. Docker's rule: the first
path component is a registry host when it contains ``.`` or ``:`` or is ``localhost``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tentacular.errors import UsageError

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REPOSITORY = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_DIGEST = re.compile(r"^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[0-9a-fA-F]{32,}$")
_HOST = re.compile(
    r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
    r"|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$"
)


@dataclass(frozen=True)
class ImageRef:
    """``[registry/]repository[:tag][@digest]``."""

    registry: str | None
    repository: str
    tag: str | None = None
    digest: str | None = None

    @classmethod
    def parse(cls, reference: str) -> ImageRef:
        text = reference.strip()
        if not text or "://" in text or any(c.isspace() for c in text):
            raise UsageError(f'invalid image reference "{reference}"', hint="e.g. registry:5000/name:tag")
        name, _, digest = text.partition("@")
        tag: str | None = None
        last_slash = name.rfind("/")
        colon = name.rfind(":")
        if colon > last_slash:
            name, tag = name[:colon], name[colon + 1 :]
        registry: str | None = None
        first, _, rest = name.partition("/")
        if rest and ("." in first or ":" in first or first == "localhost" or first.startswith("[")):
            registry, name = first, rest
        ref = cls(registry, name, tag, digest or None)
        ref._check(reference)
        return ref

    def _check(self, original: str) -> None:
        problems = []
        if self.registry is not None and not _HOST.match(self.registry):
            problems.append(f'registry "{self.registry}"')
        if not _REPOSITORY.match(self.repository):
            problems.append(f'repository "{self.repository}" (lower-case letters, digits, . _ - /)')
        if self.tag is not None and not _TAG.match(self.tag):
            problems.append(f'tag "{self.tag}"')
        if self.digest is not None and not _DIGEST.match(self.digest):
            problems.append(f'digest "{self.digest}"')
        if problems:
            raise UsageError(
                f'invalid image reference "{original}": bad {", ".join(problems)}',
                hint="e.g. localhost:5000/tentacular-engine:0.1.0",
            )

    def with_registry(self, registry: str | None) -> ImageRef:
        """Prefix ``registry`` (which may carry a path, e.g. ``ghcr.io/org``) unless one is set."""
        if not registry or self.registry is not None:
            return self
        host, _, path = registry.strip().rstrip("/").partition("/")
        if "://" in registry:
            raise UsageError(
                f'registry "{registry}" must not include a scheme', hint="e.g. -r registry.example.com:5000"
            )
        combined = f"{path}/{self.repository}" if path else self.repository
        return ImageRef.parse(str(ImageRef(host, combined, self.tag, self.digest)))

    def __str__(self) -> str:
        text = f"{self.registry}/{self.repository}" if self.registry else self.repository
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def resolve_image_tag(tag: str, registry: str | None) -> str:
    """The final reference for ``--tag`` and ``--registry``: no double prefix, ports allowed."""
    return str(ImageRef.parse(tag).with_registry(registry))
