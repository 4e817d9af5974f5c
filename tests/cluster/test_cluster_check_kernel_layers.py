"""`tntc cluster check` says which kernel layers the pods will get (issue 11), on the real control
plane: without the RuntimeClass, one line per node kernel; never a failure."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cluster.test_lifecycle import copy_example, tntc


def test_cluster_check_reports_the_kernel_layers(
    admin_kubeconfig: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = copy_example("word-counter", tmp_path)
    _, check, _ = tntc(capsys, "cluster", "check", "--dir", str(directory), "--runtime-class", "")
    layers = [c for c in check["checks"] if c["name"].startswith("Kernel layers")]
    assert len(layers) == 1 and layers[0]["passed"], check["checks"]
