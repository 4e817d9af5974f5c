"""Every rendered object validates against the official schemas of Kubernetes 1.28 … newest."""

from __future__ import annotations

import kubernetes_validate
import pytest
from kubernetes_validate import utils
from packaging.version import Version

from tentacular.deploy._manifests import APPLY_ORDER
from tentacular.spec import LoadedWorkflow
from tests.deploy.conftest import every_rendering

VERSIONS = sorted({v for v in utils.all_versions() if Version(v) >= Version("1.28")}, key=Version)


def test_a_range_of_versions_is_covered() -> None:
    assert VERSIONS[0] == "1.28.0"
    assert len(VERSIONS) >= 3


@pytest.mark.parametrize("version", VERSIONS)
def test_every_object_validates(version: str, full_workflow: LoadedWorkflow) -> None:
    kinds = set()
    for label, objects in every_rendering(full_workflow):
        for obj in objects:
            where = f"{label}: {obj['kind']}/{obj['metadata']['name']} against {version}"
            try:
                kubernetes_validate.validate(obj, version, strict=True)
            except kubernetes_validate.ValidationError as exc:
                path = ".".join(str(p) for p in exc.path)
                pytest.fail(f"{where}: {path}: {exc.message}")
            kinds.add(obj["kind"])
    # HTTPRoute is a Gateway API custom resource: no official schema (see test_webhook_ingress.py)
    assert kinds == set(APPLY_ORDER) - {"HTTPRoute"}


def test_the_validator_rejects_a_broken_object(full_workflow: LoadedWorkflow) -> None:
    deployment = next(
        o for _, objs in every_rendering(full_workflow) for o in objs if o["kind"] == "Deployment"
    )
    deployment["spec"]["replicas"] = "one"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, VERSIONS[-1], strict=True)
    del deployment["spec"]["replicas"]
    deployment["spec"]["template"]["spec"]["containers"][0]["securityContext"]["readOnlyRootFS"] = True
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, VERSIONS[-1], strict=True)
