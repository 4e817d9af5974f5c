"""`tntc cluster check` predicts the kernel layers pods will get (issue 11, Build 1).

A real cluster with gVisor nodes and varied kernels cannot be reached here, so the cluster is
a small stand-in at the edge (the KubeClient face: get/list); the prediction itself is pure."""

from __future__ import annotations

from typing import Any

import pytest

from tentacular.deploy._kube.client import NODE, RUNTIME_CLASS, Kind
from tentacular.deploy._kube.kernel_layers import check_kernel_layers, landlock_abi, node_layers
from tentacular.errors import ClusterForbiddenError


@pytest.mark.parametrize(
    ("kernel", "abi"),
    [
        ("5.10.0-28-amd64", 0),
        ("5.15.0-1051-aws", 1),
        ("6.1.0-18", 2),
        ("6.8.0-1015-gcp", 4),
        ("6.12.9", 6),
        ("6.16.3-arch1", 7),
        ("garbage", 0),
    ],
)
def test_landlock_abi_by_kernel_version(kernel: str, abi: int) -> None:
    assert landlock_abi(kernel) == abi


def _node(kernel: str, arch: str = "amd64") -> dict[str, Any]:
    return {"status": {"nodeInfo": {"kernelVersion": kernel, "architecture": arch}}}


def test_node_layers_names_each_layer_and_its_gaps() -> None:
    assert node_layers(_node("6.12.1")) == (
        "seccomp, Landlock ABI 6 (files, TCP ports, scopes) if the kernel enables it"
    )
    assert node_layers(_node("5.15.0", "arm64")) == (
        "no seccomp (arm64: the filter is x86-64 only), Landlock ABI 1 (files) if the kernel enables it"
    )
    assert "no Landlock (kernel 5.4.0 is older than 5.13)" in node_layers(_node("5.4.0"))


class StandIn:
    """The two reads the check makes, answered from fixed data (or refused)."""

    def __init__(self, *, runtime_class: dict[str, Any] | None, nodes: list[dict[str, Any]] | None) -> None:
        self.runtime_class = runtime_class
        self.nodes = nodes

    def get(self, kind: Kind, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        assert kind == RUNTIME_CLASS
        return self.runtime_class

    def list(self, kind: Kind, namespace: str | None, **_: Any) -> list[dict[str, Any]]:
        assert kind == NODE and namespace is None
        if self.nodes is None:
            raise ClusterForbiddenError(
                "nodes is forbidden: User cannot list resource nodes at the cluster scope"
            )
        return self.nodes


def test_under_gvisor_gvisor_is_the_boundary_and_landlock_is_unavailable() -> None:
    check = check_kernel_layers(StandIn(runtime_class={"handler": "runsc"}, nodes=[]), "gvisor")  # type: ignore[arg-type]
    assert check.passed and check.warning is None
    assert check.name == (
        "Kernel layers: gVisor (RuntimeClass gvisor, handler runsc) is the boundary; "
        "seccomp-bpf inside it, Landlock unavailable under gVisor"
    )


def test_without_gvisor_each_node_kernel_is_summarised_and_gaps_warned() -> None:
    nodes = [_node("6.12.9"), _node("6.12.9"), _node("5.15.0", "arm64")]
    check = check_kernel_layers(StandIn(runtime_class=None, nodes=nodes), "gvisor")  # type: ignore[arg-type]
    assert check.passed
    assert "2 node(s): seccomp, Landlock ABI 6 (files, TCP ports, scopes)" in check.name
    assert "1 node(s): no seccomp (arm64" in check.name
    assert check.warning is not None and "some nodes lack a kernel layer" in check.warning


def test_kernels_without_tcp_rules_are_a_warning_and_forbidden_reads_are_not_a_failure() -> None:
    old = check_kernel_layers(StandIn(runtime_class=None, nodes=[_node("6.1.0")]), None)  # type: ignore[arg-type]
    assert old.passed and old.warning is not None and "Landlock TCP rules (>= 6.7)" in old.warning
    denied = check_kernel_layers(StandIn(runtime_class=None, nodes=None), None)  # type: ignore[arg-type]
    assert denied.passed and denied.warning is not None
    assert denied.warning.startswith("cannot read nodes") and "/health?detail=1" in denied.warning
