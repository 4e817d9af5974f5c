"""Cron schedules computed for `tntc dev --cron`, and the scheduler driven by an injected clock."""

from __future__ import annotations

import asyncio
import datetime
from typing import Any

import pytest

from tentacular.engine._triggers._cron import CronSource
from tentacular.spec._cron import next_fire_time
from tentacular.spec._triggers import CronTrigger

UTC = datetime.UTC
START = datetime.datetime(2026, 12, 1, 20, 21, 30, tzinfo=UTC)  # a Tuesday


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        ("* * * * *", (2026, 12, 1, 20, 22)),
        ("*/15 * * * *", (2026, 12, 1, 20, 30)),
        ("0 2 * * *", (2026, 12, 2, 2, 0)),
        ("0 9 * * 1", (2026, 12, 7, 9, 0)),
        ("30 2 * * 1-5", (2026, 12, 2, 2, 30)),
        ("@monthly", (2027, 1, 1, 0, 0)),
        ("@hourly", (2026, 12, 1, 21, 0)),
        ("0 0 29 2 *", (2028, 2, 29, 0, 0)),
        ("0 0 1 * MON", (2026, 12, 7, 0, 0)),  # both day fields restricted: either matches
        ("5 4 * JAN,FEB SUN", (2027, 1, 3, 4, 5)),
        ("0 12 1-7/3 * *", (2026, 12, 4, 12, 0)),
    ],
)
def test_next_fire_time(schedule: str, expected: tuple[int, ...]) -> None:
    assert next_fire_time(schedule, START) == datetime.datetime(*expected, tzinfo=UTC)


def test_impossible_schedule_has_no_next_time() -> None:
    assert next_fire_time("0 0 30 2 *", START) is None


class FakeRunner:
    def __init__(self) -> None:
        self.payloads: list[Any] = []
        self.triggers: list[str] = []
        self.log = self

    def engine(self, level: str, message: str) -> None:
        pass

    async def run(self, payload: Any, *, trigger: str) -> Any:
        self.payloads.append(payload)
        self.triggers.append(trigger)

        class Result:
            success = True

        return Result()


async def test_cron_source_fires_on_schedule_with_the_trigger_name() -> None:
    now = [START]
    stopping = asyncio.Event()
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += datetime.timedelta(seconds=seconds)
        if len(waits) == 3:
            stopping.set()
        for _ in range(5):  # let the previous firing finish, as real time would
            await asyncio.sleep(0)

    runner = FakeRunner()
    trigger = CronTrigger(type="cron", name="nightly", schedule="*/10 * * * *")
    source = CronSource(trigger, runner=runner, now=lambda: now[0], sleep=sleep)  # type: ignore[arg-type]
    await source.run(stopping)
    await asyncio.sleep(0)
    assert waits == [510.0, 600.0, 600.0]  # 20:21:30 -> 20:30, 20:40, 20:50
    assert runner.payloads == [{"trigger": "nightly"}, {"trigger": "nightly"}]
    assert runner.triggers == ["cron", "cron"]  # the run is counted and traced as a cron run
    assert source.counters.processed == 2
