"""One NATS connection for all triggers: connect with backoff, report state, reconnect for ever.

NATS unreachable at start must not stop the engine: the HTTP API serves while this
keeps trying (0.5 s doubling to 30 s, with jitter); ``/health?detail=1`` shows the
state, the attempts and the last error. After the first connection nats-py
reconnects by itself; the callbacks keep the state current.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import Any

from tentacular.engine._logs import LogSink
from tentacular.engine._triggers._settings import NatsSettings

Sleep = Callable[[float], Awaitable[None]]
INITIAL_DELAY = 0.5
MAX_DELAY = 30.0


def backoff_delays(*, initial: float = INITIAL_DELAY, cap: float = MAX_DELAY) -> Any:
    delay = initial
    while True:
        yield delay
        delay = min(cap, delay * 2)


class NatsLink:
    def __init__(
        self,
        settings: NatsSettings,
        log: LogSink,
        *,
        redact: Callable[[str], str],
        sleep: Sleep = asyncio.sleep,
        jitter: Callable[[float], float] = lambda delay: delay * random.uniform(0.8, 1.2),
    ) -> None:
        self.settings = settings
        self.log = log
        self._redact = redact
        self._sleep = sleep
        self._jitter = jitter
        self.client: Any = None
        self.state = "connecting"
        self.attempts = 0
        self.last_error: str | None = None
        self.connected = asyncio.Event()
        self.slow_consumer_drops = 0
        self._first_connect_error: BaseException | None = None

    async def connect(self, stop: asyncio.Event) -> Any:
        """The connected client, or None when ``stop`` was set first."""
        import nats

        url = self.settings.endpoint.url
        delays = backoff_delays()
        while not stop.is_set():
            self.attempts += 1
            self._first_connect_error = None
            try:
                client = await nats.connect(
                    **self.settings.connect_options(),
                    name="tentacular-engine",
                    connect_timeout=2,
                    # Left alone, nats-py retries a first connect inside connect() (for ever, or 60
                    # times a second apart); this loop owns first-connect retries (backoff, state),
                    # nats-py the reconnects once connected (options switched below).
                    allow_reconnect=False,
                    max_reconnect_attempts=1,
                    reconnect_time_wait=0.05,
                    error_cb=self._on_error,
                    disconnected_cb=self._on_disconnected,
                    reconnected_cb=self._on_reconnected,
                    closed_cb=self._on_closed,
                )
            except Exception as exc:
                self.state = "unreachable"
                cause, self._first_connect_error = self._first_connect_error, None
                self.last_error = self._describe(cause or exc)
                delay = self._jitter(next(delays))
                self.log.engine(
                    "error",
                    f"NATS {url}: connect failed ({self.last_error}); retry in {delay:.1f}s "
                    f"(attempt {self.attempts}); the HTTP API keeps serving",
                )
                await self._sleep_or_stop(delay, stop)
                continue
            client.options["allow_reconnect"] = True
            client.options["max_reconnect_attempts"] = -1
            client.options["reconnect_time_wait"] = 1.0
            self.client = client
            self.state = "connected"
            self.last_error = None
            self.connected.set()
            self.log.engine("info", f"NATS {url}: connected")
            return client
        return None

    async def _sleep_or_stop(self, delay: float, stop: asyncio.Event) -> None:
        sleeper = asyncio.ensure_future(self._sleep(delay))
        stopper = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({sleeper, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleeper, stopper):
                task.cancel()

    def _describe(self, exc: BaseException) -> str:
        text = str(exc) or type(exc).__name__
        if "authorization" in text.lower() or "authentication" in text.lower():
            text = f"the server rejected the credentials ({text}); check the nats secret"
        return self._redact(text)

    async def _on_error(self, exc: Exception) -> None:
        import nats.errors

        if isinstance(exc, nats.errors.SlowConsumerError):
            self.slow_consumer_drops += 1
            if self.slow_consumer_drops in (1, 10, 100) or self.slow_consumer_drops % 1000 == 0:
                self.log.engine(
                    "warning",
                    f"NATS: subscription {exc.subject} is full; core NATS dropped a message "
                    f"({self.slow_consumer_drops} so far). Use jetstream: true for at-least-once delivery",
                )
            return
        if self.client is None:
            self._first_connect_error = exc  # connect() reports it with its retry
            return
        self.last_error = self._describe(exc)
        self.log.engine("warning", f"NATS: {self.last_error}")

    async def _on_disconnected(self) -> None:
        if self.state == "connected":
            self.state = "reconnecting"
            self.log.engine("warning", f"NATS {self.settings.endpoint.url}: disconnected; reconnecting")

    async def _on_reconnected(self) -> None:
        self.state = "connected"
        self.log.engine("info", f"NATS {self.settings.endpoint.url}: reconnected")

    async def _on_closed(self) -> None:
        self.state = "closed"

    def snapshot(self) -> dict[str, Any]:
        return {
            "url": self.settings.endpoint.url,
            "state": self.state,
            "attempts": self.attempts,
            "lastError": self.last_error,
            "slowConsumerDrops": self.slow_consumer_drops,
        }
