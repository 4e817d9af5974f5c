"""Fixtures: the real control plane and its helpers (tests/cluster/kube.py; the fault proxy in
tests/cluster/fault_proxy.py), isolated config homes, and the older API emulator, kept only for
test_usage.py: it reads engine counters through the pods/proxy of running pods, and no engine runs
behind kwok's pods."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tentacular.deploy._kube.waiting import use_clock
from tests.cluster.emulator import KubeEmulator
from tests.cluster.kube import (
    admin_kubeconfig,
    control_plane,
    edit_deployer,
    fault_proxy,
    kube,
    namespace,
    pod_logs,
    skip_summary,
)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    skip_summary(terminalreporter)


__all__ = [
    "admin_kubeconfig",
    "control_plane",
    "edit_deployer",
    "fault_proxy",
    "kube",
    "namespace",
    "pod_logs",
]


class FakeClock:
    """Time moves only when someone sleeps, so waits are instant and deterministic."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> Iterator[FakeClock]:
    fake = FakeClock()
    with use_clock(fake):
        yield fake


@pytest.fixture
def emulator() -> Iterator[KubeEmulator]:
    emu = KubeEmulator().start()
    emu.add_namespace("default")
    emu.put(
        {
            "apiVersion": "node.k8s.io/v1",
            "kind": "RuntimeClass",
            "metadata": {"name": "gvisor"},
            "handler": "runsc",
        }
    )
    try:
        yield emu
    finally:
        emu.stop()


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No real ~/.tentacular, ~/.kube or TENTACULAR_ENV leaks into a test; cwd is a scratch dir."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("TENTACULAR_HOME", str(home / ".tentacular"))
    monkeypatch.delenv("TENTACULAR_ENV", raising=False)
    monkeypatch.delenv("KUBECONFIG", raising=False)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return home


@pytest.fixture
def kubeconfig(
    emulator: KubeEmulator, isolated: Path, monkeypatch: pytest.MonkeyPatch, clock: FakeClock
) -> Path:
    path = emulator.kubeconfig(isolated / "kubeconfig")
    monkeypatch.setenv("KUBECONFIG", str(path))
    return path
