"""Syntax check of cron schedules as Kubernetes CronJobs accept them (5 fields or a macro).

A dedicated checker instead of croniter: validation is all we need here, and
croniter (with dateutil) costs ~24 ms of import time in every `tntc validate`.
"""

from __future__ import annotations

import datetime

MACROS = frozenset({"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"})

_MONTHS = {
    name: i
    for i, name in enumerate(
        ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), start=1
    )
}
_DAYS = {name: i for i, name in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"))}

# (name, lowest, highest, symbolic names)
_FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day of month", 1, 31, {}),
    ("month", 1, 12, _MONTHS),
    ("day of week", 0, 6, _DAYS),
)


def cron_problem(schedule: str) -> str | None:
    """None when ``schedule`` is valid, else a sentence saying what is wrong."""
    text = schedule.strip()
    if text.startswith("@"):
        return None if text in MACROS else f"unknown macro {text} (use one of {', '.join(sorted(MACROS))})"
    fields = text.split()
    if len(fields) != 5:
        return f"expected 5 fields (minute hour day-of-month month day-of-week), got {len(fields)}"
    for value, (name, low, high, names) in zip(fields, _FIELDS, strict=True):
        problem = _field_problem(value, low, high, names, allow_question=name.startswith("day"))
        if problem:
            return f"{name} field {value!r}: {problem}"
    return None


def _field_problem(
    field: str, low: int, high: int, names: dict[str, int], *, allow_question: bool
) -> str | None:
    for part in field.split(","):
        if not part:
            return "empty list item"
        base, _, step = part.partition("/")
        if step and (not step.isdigit() or int(step) == 0):
            return f"invalid step {step!r}"
        if base in ("*",) or (base == "?" and allow_question and not step):
            continue
        start_text, dash, end_text = base.partition("-")
        start = _number(start_text, names)
        end = _number(end_text, names) if dash else start
        if start is None or end is None:
            return f"{base!r} is not a number{' or name' if names else ''}"
        if not (low <= start <= high and low <= end <= high):
            return f"{base!r} is outside {low}-{high}"
        if start > end:
            return f"range {base!r} runs backwards"
    return None


def _number(text: str, names: dict[str, int]) -> int | None:
    if text.isdigit():
        return int(text)
    return names.get(text.upper())


_MACRO_FIELDS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_SEARCH_YEARS = 5  # a schedule with no time in five years has none (e.g. Feb 30); leap days recur in 4


def _expand(field: str, low: int, high: int, names: dict[str, int]) -> set[int]:
    values: set[int] = set()
    for part in field.split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if base in ("*", "?"):
            start, end = low, high
        else:
            start_text, dash, end_text = base.partition("-")
            start = _number(start_text, names) or 0
            end = (_number(end_text, names) or 0) if dash else (high if step_text else start)
        values.update(range(start, end + 1, step))
    return values


def next_fire_time(schedule: str, after: datetime.datetime) -> datetime.datetime | None:
    """The first whole minute strictly after ``after`` that ``schedule`` names (cron's day rule:
    when both day fields are restricted, either may match). None when there is none."""
    text = _MACRO_FIELDS.get(schedule.strip(), schedule.strip())
    fields = text.split()
    sets = [
        _expand(value, low, high, names) for value, (_, low, high, names) in zip(fields, _FIELDS, strict=True)
    ]
    minutes, hours, days, months, weekdays = sets
    days_any, weekdays_any = fields[2] in ("*", "?"), fields[4] in ("*", "?")
    moment = after.replace(second=0, microsecond=0) + datetime.timedelta(minutes=1)
    horizon = after + datetime.timedelta(days=366 * _SEARCH_YEARS)
    while moment <= horizon:
        if moment.month not in months:
            moment = (moment.replace(day=1, hour=0, minute=0) + datetime.timedelta(days=32)).replace(day=1)
            continue
        day_ok = moment.day in days
        weekday_ok = (moment.isoweekday() % 7) in weekdays
        # cron's day rule: both day fields restricted means either may match
        matches_day = (day_ok and weekday_ok) if (days_any or weekdays_any) else (day_ok or weekday_ok)
        if not matches_day:
            moment = moment.replace(hour=0, minute=0) + datetime.timedelta(days=1)
            continue
        if moment.hour not in hours:
            moment = moment.replace(minute=0) + datetime.timedelta(hours=1)
            continue
        if moment.minute in minutes:
            return moment
        moment += datetime.timedelta(minutes=1)
    return None
