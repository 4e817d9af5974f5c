"""Image references are parsed like Docker does (Q31)."""

from __future__ import annotations

import pytest

from tentacular.deploy._imageref import ImageRef, resolve_image_tag
from tentacular.errors import UsageError


@pytest.mark.parametrize(
    ("tag", "registry", "expected"),
    [
        ("tentacular-engine:0.1.0", None, "tentacular-engine:0.1.0"),
        ("tentacular-engine:0.1.0", "registry.example.com", "registry.example.com/tentacular-engine:0.1.0"),
        ("tentacular-engine:0.1.0", "localhost:5000", "localhost:5000/tentacular-engine:0.1.0"),
        ("tentacular-engine", "localhost:5000/", "localhost:5000/tentacular-engine"),
        ("tentacular-engine:1", "ghcr.io/acme/tools", "ghcr.io/acme/tools/tentacular-engine:1"),
        # Q31: a tag that already names a registry with a port is not prefixed again.
        ("localhost:5000/img:1.0", "localhost:5000", "localhost:5000/img:1.0"),
        (
            "registry.example.com:5000/team/img:1.0",
            "other.example.com",
            "registry.example.com:5000/team/img:1.0",
        ),
        ("localhost/img", "r.example.com", "localhost/img"),
        ("team/img:2", "r.example.com", "r.example.com/team/img:2"),
        ("[::1]:5000/img:2", "r.example.com", "[::1]:5000/img:2"),
        ("img@sha256:" + "a" * 64, "r.example.com:443", "r.example.com:443/img@sha256:" + "a" * 64),
    ],
)
def test_resolve_image_tag(tag: str, registry: str | None, expected: str) -> None:
    assert resolve_image_tag(tag, registry) == expected


def test_parse_parts() -> None:
    ref = ImageRef.parse("localhost:5000/team/img:1.0")
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == ("localhost:5000", "team/img", "1.0", None)
    no_tag = ImageRef.parse("localhost:5000/img")
    assert (no_tag.registry, no_tag.repository, no_tag.tag) == ("localhost:5000", "img", None)


@pytest.mark.parametrize(
    "bad", ["", "Upper/Case", "img:", "img:bad tag", "https://r.example.com/img", "img@sha256:xyz", "-img"]
)
def test_invalid_references(bad: str) -> None:
    with pytest.raises(UsageError):
        ImageRef.parse(bad)


def test_registry_with_scheme_is_rejected() -> None:
    with pytest.raises(UsageError, match="scheme"):
        resolve_image_tag("img:1", "https://r.example.com")
