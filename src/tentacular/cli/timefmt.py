"""Human-readable times for tables (``tntc list``)."""

from __future__ import annotations

from datetime import UTC, datetime


def age(created: str | None, now: datetime | None = None) -> str:
    """``kubectl``-style age of an RFC 3339 timestamp: ``3d``, ``5h``, ``12m``, ``40s``; ``?`` if unknown."""
    if not created:
        return "?"
    started = datetime.fromisoformat(created.replace("Z", "+00:00"))
    seconds = int(((now or datetime.now(UTC)) - started).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{max(seconds, 0)}s"
