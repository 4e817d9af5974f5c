"""What a deploy (or a live test) did: phases, checks, applied objects, the run, warnings.

One report, filled in as the phases complete and kept when a later one fails, so
the envelope can say how far a deploy got. Hints are computed from what really
happened: "--force" only when a pre-deploy live test failed, "tntc logs" only when
something reached the cluster.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from tentacular.deploy._kube.apply import ApplyReport
from tentacular.deploy._kube.checks import Check
from tentacular.deploy._kube.drift import DriftField
from tentacular.deploy._kube.trigger import RunOutcome
from tentacular.deploy._settings import DeployTarget
from tentacular.errors import TentacularError

FORCE_HINT = "use --force to skip pre-deploy live test"
LOGS_HINT = "check deployment logs with: tntc logs {name}"
LIVE_TEST_PHASE = "live-test"
#: Phases after which the workflow's pods exist, so their logs can explain a failure.
_APPLIED_PHASES = frozenset({"wait", "verify"})


@dataclass
class Phase:
    name: str
    status: str = "pass"
    duration_ms: int = 0
    detail: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "status": self.status, "durationMs": self.duration_ms}
        if self.detail:
            data["detail"] = self.detail
        return data


@dataclass
class DeployReport:
    """The one typed result of ``deploy()`` and ``live_test()``."""

    workflow: str
    target: DeployTarget | None = None
    phases: list[Phase] = field(default_factory=list)
    apply: ApplyReport = field(default_factory=ApplyReport)
    checks: list[Check] = field(default_factory=list)
    execution: RunOutcome | None = None
    warnings: list[str] = field(default_factory=list)
    #: Fields other managers own on the deployed objects, still there after this deploy.
    drift: list[DriftField] = field(default_factory=list)
    secret_sources: dict[str, str] = field(default_factory=dict)  # service.key -> source, never a value
    failure: str | None = None
    error: TentacularError | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None

    @property
    def failed_phase(self) -> str | None:
        return next((p.name for p in self.phases if p.status == "fail"), None)

    @property
    def exit_code(self) -> int | None:
        return self.error.exit_code if self.error is not None else None

    @contextmanager
    def phase(self, name: str) -> Iterator[Phase]:
        current = Phase(name)
        started = time.perf_counter()
        self.phases.append(current)
        try:
            yield current
        except BaseException as exc:
            current.status = "fail"
            current.detail = current.detail or getattr(exc, "message", None) or str(exc)
            raise
        finally:
            current.duration_ms = int((time.perf_counter() - started) * 1000)

    def fail(self, message: str, error: TentacularError | None = None) -> DeployReport:
        self.failure = message
        self.error = error
        return self

    @property
    def hints(self) -> list[str]:
        """Only hints that apply to what happened (Build 4)."""
        if self.ok:
            return []
        hints: list[str] = []
        if self.error is not None and self.error.hint:
            hints.append(self.error.hint)
        if any(p.name == LIVE_TEST_PHASE and p.status == "fail" for p in self.phases):
            hints.append(FORCE_HINT)
        reached_pods = any(p.name in _APPLIED_PHASES for p in self.phases)
        if reached_pods:
            hints.append(LOGS_HINT.format(name=self.workflow))
        return list(dict.fromkeys(hints))

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "phases": [p.to_dict() for p in self.phases],
            "manifests": self.apply.to_list(),
            "warnings": self.warnings,
            "drift": [d.to_dict() for d in self.drift],
            "secretSources": self.secret_sources,
        }
        if self.target is not None:
            data["target"] = self.target.to_dict()
        if self.checks:
            data["checks"] = [c.to_dict() for c in self.checks]
        if self.execution is not None:
            data["execution"] = self.execution.execution or {"raw": self.execution.raw}
        if self.error is not None:
            data["error"] = self.error.to_dict()
        return data
