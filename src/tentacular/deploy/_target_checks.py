"""Warnings about traps a deploy walks into without failing at once (issue 10, Build 6).

* A dependency on a loopback address works on the developer's machine (``tntc run
  --local``) but inside a pod ``localhost`` is the pod itself.
* An image without a registry while a registry is configured makes the cluster look
  on Docker Hub: the original's ImagePullBackOff trap. Kind clusters are exempt (``tntc
  build`` loads the image into the nodes).
"""

from __future__ import annotations

import ipaddress

from tentacular.deploy._imageref import ImageRef
from tentacular.deploy._settings import DeployTarget, Settings
from tentacular.errors import TentacularError
from tentacular.spec import LoadedWorkflow

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})


def is_loopback(host: str) -> bool:
    name = host.strip("[]").rstrip(".").lower()
    if name in LOOPBACK_NAMES or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def target_warnings(loaded: LoadedWorkflow, target: DeployTarget, settings: Settings) -> list[str]:
    warnings: list[str] = []
    contract = loaded.workflow.contract
    for name, dependency in sorted((contract.dependencies if contract else {}).items()):
        if dependency.host and is_loopback(dependency.host):
            warnings.append(
                f'dependency "{name}" is on a loopback address ({dependency.host}): inside the cluster '
                "that is the pod itself, not your machine; point it at an address the cluster can reach"
            )
    registry = settings.text("registry")
    image = target.image.value
    if registry and target.kind is None:
        try:
            has_registry = ImageRef.parse(image).registry is not None
        except TentacularError:
            has_registry = True  # an invalid reference fails the deploy with its own error
        if not has_registry:
            warnings.append(
                f'image "{image}" has no registry, but registry "{registry}" is configured: the cluster '
                f"will look for it on Docker Hub (ImagePullBackOff); push it with tntc build --push, or "
                f"deploy --image {registry.rstrip('/')}/{image}"
            )
    return warnings
