"""Pinning the engine image to a digest through the registry's HTTP API (OCI distribution spec, K-R6).

``HEAD /v2/<repository>/manifests/<tag or digest>`` answers with ``Docker-Content-Digest``;
registries that want a token say so in ``WWW-Authenticate`` and hand out anonymous pull
tokens. ``localhost``/loopback registries are spoken to over plain HTTP, like Docker does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tentacular.deploy._imageref import ImageRef
from tentacular.errors import ImageDigestError

ACCEPT = ", ".join(
    (
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    )
)
DOCKER_HUB = "registry-1.docker.io"
TIMEOUT_SECONDS = 10.0
_CHALLENGE = re.compile(r'(\w+)="([^"]*)"')


@dataclass(frozen=True)
class PinnedImage:
    reference: str  # as given (tag or digest)
    digest: str | None  # None only when a tag was allowed through unpinned
    source: str  # "given", "registry" or "unpinned"

    @property
    def pinned(self) -> str:
        """``repo@sha256:…`` (the tag dropped: the digest is what runs), or the tag when unpinned."""
        if self.digest is None:
            return self.reference
        ref = ImageRef.parse(self.reference)
        return str(ImageRef(ref.registry, ref.repository, None, self.digest))

    def to_dict(self) -> dict[str, str | None]:
        return {
            "reference": self.reference,
            "digest": self.digest,
            "source": self.source,
            "image": self.pinned,
        }


def _base_url(registry: str | None) -> str:
    host = registry or DOCKER_HUB
    if host == "docker.io":
        host = DOCKER_HUB
    bare = host.rsplit(":", 1)[0] if not host.startswith("[") else host
    plain = bare in ("localhost", "127.0.0.1", "[::1]")
    return f"{'http' if plain else 'https'}://{host}"


def _repository(ref: ImageRef) -> str:
    if ref.registry in (None, "docker.io") and "/" not in ref.repository:
        return f"library/{ref.repository}"
    return ref.repository


def _head(ref: ImageRef, what: str) -> tuple[int, str | None]:
    """(status, digest) of the manifest ``what`` (a tag or a digest), with an anonymous token if asked."""
    import httpx

    url = f"{_base_url(ref.registry)}/v2/{_repository(ref)}/manifests/{what}"
    headers = {"Accept": ACCEPT}
    with httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=True) as http:
        response = http.head(url, headers=headers)
        challenge = response.headers.get("www-authenticate", "")
        if response.status_code == 401 and challenge.lower().startswith("bearer"):
            params = dict(_CHALLENGE.findall(challenge))
            realm = params.pop("realm", "")
            token = http.get(realm, params=params).json().get("token") if realm else None
            if token:
                headers["Authorization"] = f"Bearer {token}"
                response = http.head(url, headers=headers)
        return response.status_code, response.headers.get("docker-content-digest")


def pin_image(reference: str, *, digest: str | None = None, allow_tag: bool = False) -> PinnedImage:
    """The image by digest: already in the reference, given, or resolved from the registry."""
    ref = ImageRef.parse(reference)
    if ref.digest is not None:
        return PinnedImage(reference, ref.digest, "given")
    if digest is not None:
        ImageRef.parse(f"{ref.repository}@{digest}")
        return PinnedImage(reference, digest, "given")
    try:
        status, found = _head(ref, ref.tag or "latest")
    except Exception as exc:  # httpx errors, bad JSON from a token endpoint
        failure = f"registry unreachable ({type(exc).__name__})"
    else:
        if status == 200 and found:
            return PinnedImage(reference, found, "registry")
        failure = f"registry answered {status}" + ("" if status != 200 else " without a digest")
    if allow_tag:
        return PinnedImage(reference, None, "unpinned")
    raise ImageDigestError(
        f"cannot pin {reference} to a digest: {failure}",
        hint="push the image first, give the digest with --digest sha256:…, "
        "or bundle the tag unpinned with --allow-tag",
    )


def check_digest(pinned: str) -> str | None:
    """None when the registry still serves ``repo@digest``; else why not (404 = it no longer resolves).

    Raises ImageDigestError only when the registry definitely says the digest is gone."""
    ref = ImageRef.parse(pinned)
    if ref.digest is None:
        return None
    try:
        status, _ = _head(ref, ref.digest)
    except Exception as exc:
        return f"could not check {pinned} against its registry ({type(exc).__name__})"
    if status == 404:
        raise ImageDigestError(
            f"the unit's image {pinned} no longer resolves: the registry has no manifest with that digest",
            hint="re-push the image, or bundle a new unit from the image now in the registry",
        )
    return None if status == 200 else f"registry answered {status} for {pinned}"
