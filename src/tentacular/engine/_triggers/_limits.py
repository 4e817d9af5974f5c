"""Backpressure primitives: a token bucket (``rateLimit``) and a concurrency gate (``maxConcurrency``).

Both take the clock and sleep as arguments so tests drive them without waiting.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class TokenBucket:
    """``count`` tokens per ``period`` seconds, burst ``count``; ``take`` waits for a token."""

    def __init__(
        self, count: int, period: float, *, clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep
    ) -> None:
        self.capacity = float(count)
        self.rate = count / period
        self._tokens = float(count)
        self._clock = clock
        self._sleep = sleep
        self._stamp = clock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def available(self) -> int:
        self._refill()
        return int(self._tokens)

    async def take(self) -> None:
        while True:
            self._refill()
            if self._tokens >= 1:
                self._tokens -= 1
                return
            await self._sleep((1 - self._tokens) / self.rate)


class ConcurrencyGate:
    """At most ``limit`` runs at once; ``acquire`` waits for a free slot."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._busy = 0
        self._changed = asyncio.Condition()

    @property
    def free(self) -> int:
        return self.limit - self._busy

    @property
    def busy(self) -> int:
        return self._busy

    async def acquire(self) -> None:
        async with self._changed:
            await self._changed.wait_for(lambda: self._busy < self.limit)
            self._busy += 1

    async def wait_free(self) -> None:
        async with self._changed:
            await self._changed.wait_for(lambda: self._busy < self.limit)

    async def release(self) -> None:
        async with self._changed:
            self._busy -= 1
            self._changed.notify_all()

    async def wait_idle(self) -> None:
        async with self._changed:
            await self._changed.wait_for(lambda: self._busy == 0)
