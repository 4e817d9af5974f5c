"""Per-trigger counters behind ``/health?detail=1`` (issue 14): what ran, failed, was redelivered."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class TriggerCounters:
    trigger: str
    kind: str  # "core", "jetstream" or "webhook"
    max_concurrency: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    received: int = 0
    processed: int = 0
    failed: int = 0
    redelivered: int = 0
    dead_lettered: int = 0
    rejected: int = 0
    dropped: int = 0
    replayed: int = 0
    unmatched: int = 0

    def started(self) -> None:
        self.in_flight += 1
        if self.in_flight > self.max_in_flight:
            self.max_in_flight = self.in_flight

    def finished(self, *, success: bool) -> None:
        self.in_flight -= 1
        if success:
            self.processed += 1
        else:
            self.failed += 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "trigger": self.trigger,
            "kind": self.kind,
            "maxConcurrency": self.max_concurrency,
            "inFlight": self.in_flight,
            "maxInFlight": self.max_in_flight,
            "received": self.received,
            "processed": self.processed,
            "failed": self.failed,
            "redelivered": self.redelivered,
            "deadLettered": self.dead_lettered,
            "rejected": self.rejected,
            "dropped": self.dropped,
            "replayed": self.replayed,
            "unmatched": self.unmatched,
        }
