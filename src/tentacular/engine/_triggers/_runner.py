"""Run one trigger input through the engine and count it in the engine's telemetry."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tentacular.engine._core import WorkflowEngine, new_run_id

if TYPE_CHECKING:
    from tentacular.engine._executor import ExecutionResult
    from tentacular.engine._server import Telemetry


class TriggerRunner:
    def __init__(self, engine: WorkflowEngine, telemetry: Telemetry | None) -> None:
        self.engine = engine
        self.telemetry = telemetry

    @property
    def log(self) -> Any:
        return self.engine.services.log

    def redact(self, text: str) -> str:
        return self.engine.services.redactor.text(text)

    async def run(
        self, payload: Any, *, trigger: str, carrier: Mapping[str, str] | None = None
    ) -> ExecutionResult:
        """One run; ``trigger`` is its type (queue, webhook, cron) and ``carrier`` the sender's
        W3C trace context (``traceparent`` of a webhook request or NATS message header)."""
        telemetry = self.telemetry
        run_id = new_run_id()
        started = time.perf_counter()
        if telemetry is not None:
            telemetry.in_flight += 1
        try:
            result = await self.engine.run(payload, run_id=run_id, trigger=trigger, carrier=carrier)
        except BaseException as exc:
            if telemetry is not None:
                message = self.redact(f"{type(exc).__name__}: {exc}")
                telemetry.record(run_id, False, time.perf_counter() - started, message)
            raise
        finally:
            if telemetry is not None:
                telemetry.in_flight -= 1
        if telemetry is not None:
            telemetry.record(run_id, result.success, result.duration, first_error(result))
        return result


def first_error(result: ExecutionResult) -> str | None:
    data = result.to_dict()
    return next(iter(data["errors"].values()), None)


def result_bytes(result: ExecutionResult) -> bytes:
    return json.dumps(result.to_dict(), ensure_ascii=False, separators=(",", ":")).encode()


def rejection_bytes(reason: str) -> bytes:
    return json.dumps(
        {"success": False, "outputs": {}, "errors": {"trigger": reason}, "cancelled": []}
    ).encode()
