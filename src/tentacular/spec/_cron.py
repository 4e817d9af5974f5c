"""Syntax check of cron schedules as Kubernetes CronJobs accept them (5 fields or a macro).

A dedicated checker instead of croniter: validation is all we need here, and
croniter (with dateutil) costs ~24 ms of import time in every `tntc validate`.
"""

from __future__ import annotations

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
