"""Cron triggers on their schedule inside ``tntc dev --cron`` (in a cluster a CronJob does it, §4.8.2).

Times are UTC, like a CronJob without ``timeZone`` on a UTC control plane. Each
firing runs ``{"trigger": "<name>"}`` (or ``{}`` for an unnamed trigger), as the
CronJob would POST it; a firing while the previous run of the same trigger is
still going is skipped (the CronJob's ``concurrencyPolicy: Forbid``).
"""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import Awaitable, Callable
from typing import Any

from tentacular.engine._triggers._counters import TriggerCounters
from tentacular.engine._triggers._runner import TriggerRunner, first_error
from tentacular.spec._cron import next_fire_time

Now = Callable[[], datetime.datetime]
Sleep = Callable[[float], Awaitable[None]]


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class CronSource:
    def __init__(
        self,
        trigger: Any,
        *,
        runner: TriggerRunner,
        now: Now = utc_now,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.trigger = trigger
        self.runner = runner
        self._now = now
        self._sleep = sleep
        self.counters = TriggerCounters(trigger.name or trigger.schedule, "cron", max_concurrency=1)
        self.tasks: set[asyncio.Task[None]] = set()

    async def run(self, stopping: asyncio.Event) -> None:
        schedule = self.trigger.schedule
        log = self.runner.log
        while not stopping.is_set():
            now = self._now()
            fire = next_fire_time(schedule, now)
            if fire is None:
                log.engine("warning", f"cron {schedule!r} never fires; not scheduled")
                return
            await self._sleep(max(0.0, (fire - now).total_seconds()))
            if stopping.is_set():
                return
            if self.tasks:
                self.counters.dropped += 1
                log.engine(
                    "warning",
                    f"cron {self.counters.trigger}: previous run still going; skipping {fire:%H:%M}",
                )
                continue
            task = asyncio.ensure_future(self._fire())
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def _fire(self) -> None:
        payload = {"trigger": self.trigger.name} if self.trigger.name else {}
        self.counters.received += 1
        self.counters.started()
        success = False
        try:
            result = await self.runner.run(payload, trigger="cron")
            success = result.success
            if not success:
                self.runner.log.engine(
                    "error", f"cron {self.counters.trigger}: run failed: {first_error(result)}"
                )
        finally:
            self.counters.finished(success=success)
