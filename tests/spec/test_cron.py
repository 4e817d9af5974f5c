"""Cron schedules: what Kubernetes accepts passes, everything else says what is wrong."""

from __future__ import annotations

import pytest

from tentacular.spec._cron import cron_problem


@pytest.mark.parametrize(
    "schedule",
    [
        "0 8 * * *",
        "*/15 * * * *",
        "0 9 * * 1-5",
        "0 0 1,15 * *",
        "30 2 * JAN,jul SUN",
        "0 0 ? * MON-FRI",
        "5-55/10 0-23/2 * * *",
        "@daily",
        "@hourly",
        "59 23 31 12 6",
    ],
)
def test_valid(schedule: str) -> None:
    assert cron_problem(schedule) is None


@pytest.mark.parametrize(
    ("schedule", "problem"),
    [
        ("61 * * * *", "minute field '61': '61' is outside 0-59"),
        ("* 24 * * *", "hour field '24'"),
        ("* * 0 * *", "day of month field '0'"),
        ("* * * 13 *", "month field '13'"),
        ("* * * * 7", "day of week field '7'"),
        ("* * * *", "expected 5 fields"),
        ("* * * * * *", "expected 5 fields"),
        ("*/0 * * * *", "invalid step '0'"),
        ("5-1 * * * *", "runs backwards"),
        ("1,,2 * * * *", "empty list item"),
        ("? * * * *", "minute field '?'"),
        ("* * * FOO *", "not a number or name"),
        ("@fortnightly", "unknown macro"),
    ],
)
def test_invalid(schedule: str, problem: str) -> None:
    message = cron_problem(schedule)
    assert message is not None and problem in message
