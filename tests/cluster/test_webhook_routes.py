"""A Gateway API HTTPRoute (issue 14) is pruned when the spec drops it and removed by undeploy,
like every other object the workflow owns, on the real control plane with the HTTPRoute CRD."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.cluster.control_plane import ControlPlane
from tests.cluster.kube import Kube
from tests.cluster.test_lifecycle import copy_example, tntc

CRD = "httproutes.gateway.networking.k8s.io"
CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"


@pytest.fixture(scope="module")
def httproute_crd(control_plane: ControlPlane) -> Iterator[None]:
    """The HTTPRoute API, schema-less (what the test needs is the resource, not Gateway's validation)."""
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        # *.k8s.io groups are protected: the real Gateway API CRDs carry this annotation too.
        "metadata": {
            "name": CRD,
            "annotations": {
                "api-approved.kubernetes.io": "https://github.com/kubernetes-sigs/gateway-api/pull/891"
            },
        },
        "spec": {
            "group": "gateway.networking.k8s.io",
            "scope": "Namespaced",
            "names": {
                "plural": "httproutes",
                "singular": "httproute",
                "kind": "HTTPRoute",
                "listKind": "HTTPRouteList",
            },
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
                    },
                }
            ],
        },
    }
    with control_plane.client() as api:
        created = api.post(CRDS, json=crd)
        assert created.status_code in (201, 409), created.text
        deadline = time.monotonic() + 60
        while not _established(api.get(f"{CRDS}/{CRD}").json()):
            assert time.monotonic() < deadline, "the HTTPRoute CRD never became established"
            time.sleep(0.1)
        # Discovery lags the CRD a little: the route's own list must answer before tntc applies one.
        while api.get("/apis/gateway.networking.k8s.io/v1/httproutes").status_code != 200:
            assert time.monotonic() < deadline, "the HTTPRoute API is not served"
            time.sleep(0.1)
    try:
        yield
    finally:
        with control_plane.client() as api:
            api.delete(f"{CRDS}/{CRD}")


def _established(crd: dict[str, Any]) -> bool:
    conditions = (crd.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions)


def _with_webhook(directory: Path, exposure: dict[str, Any] | None) -> Path:
    spec_path = directory / "workflow.yaml"
    spec = yaml.safe_load(spec_path.read_text())
    spec["triggers"] = [t for t in spec["triggers"] if t.get("type") != "webhook"]
    spec["triggers"].append({"type": "webhook", "provider": "generic"})
    deployment = spec.setdefault("deployment", {})
    deployment.pop("webhook", None)
    if exposure is not None:
        deployment["webhook"] = exposure
    spec_path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return directory


def test_httproute_is_pruned_when_dropped_and_removed_by_undeploy(
    httproute_crd: None,
    admin_kubeconfig: Path,
    kube: Kube,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    gateway = {"host": "hooks.example.com", "gateway": {"name": "public", "namespace": "gw"}}
    directory = _with_webhook(copy_example("word-counter", tmp_path), gateway)
    route = "HTTPRoute/word-counter-webhook"

    def routes() -> set[str]:
        response = kube.api.get(f"/apis/gateway.networking.k8s.io/v1/namespaces/{kube.namespace}/httproutes")
        response.raise_for_status()
        return {item["metadata"]["name"] for item in response.json()["items"]}

    code, doc, _ = tntc(capsys, "deploy", str(directory), "--force", "--no-wait")
    assert code == 0, doc
    assert {"object": route, "action": "created"} in doc["manifests"]
    assert routes() == {"word-counter-webhook"}

    # The host stays, the gateway goes: an Ingress replaces the route, which is pruned.
    code, doc, _ = tntc(
        capsys, "deploy", str(_with_webhook(directory, {"host": "hooks.example.com"})), "--force", "--no-wait"
    )
    assert code == 0, doc
    assert {"object": route, "action": "pruned"} in doc["manifests"]
    assert {"object": "Ingress/word-counter-webhook", "action": "created"} in doc["manifests"]
    assert routes() == set()

    code, doc, _ = tntc(capsys, "deploy", str(_with_webhook(directory, gateway)), "--force", "--no-wait")
    assert code == 0, doc
    assert {"object": "Ingress/word-counter-webhook", "action": "pruned"} in doc["manifests"]
    assert routes() == {"word-counter-webhook"}
    code, doc, _ = tntc(capsys, "undeploy", "word-counter", "--yes")
    assert code == 0, doc
    assert route in doc["removed"]
    assert routes() == set()
