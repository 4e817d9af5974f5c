"""A core NATS queue trigger (INVENTORY §4.8.3, Q34): at-most-once, shared by the queue group.

Every replica subscribes in the queue group named after the workflow, so each message
goes to one of them. At most ``maxConcurrency`` runs at a time; while all slots are
busy the subscription is not read, and nats-py buffers at most ``PENDING_MSGS`` /
``PENDING_BYTES`` for it — beyond that core NATS drops (logged and counted): use
``jetstream: true`` when every message matters. A message with a reply subject
gets the ExecutionResult (request-reply).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

from tentacular.engine._telemetry import carrier_from_headers
from tentacular.engine._triggers._counters import TriggerCounters
from tentacular.engine._triggers._limits import ConcurrencyGate, TokenBucket
from tentacular.engine._triggers._payload import PayloadRejected, SchemaCheck, message_payload
from tentacular.engine._triggers._runner import TriggerRunner, first_error, rejection_bytes, result_bytes

if TYPE_CHECKING:
    from tentacular.spec import QueueTrigger

PENDING_MSGS = 1024
PENDING_BYTES = 16 * 1024 * 1024
POLL = 0.25  # seconds between checks of the stop flag while the subject is idle


class CoreQueueSource:
    def __init__(
        self,
        trigger: QueueTrigger,
        *,
        queue_group: str,
        runner: TriggerRunner,
        schema: SchemaCheck | None,
        bucket: TokenBucket | None,
    ) -> None:
        self.trigger = trigger
        self.queue_group = queue_group
        self.runner = runner
        self.schema = schema
        self.bucket = bucket
        self.gate = ConcurrencyGate(trigger.max_concurrency)
        self.counters = TriggerCounters(trigger.label, "core", max_concurrency=trigger.max_concurrency)
        self.tasks: set[asyncio.Task[None]] = set()

    async def run(self, client: Any, stopping: asyncio.Event) -> None:
        import nats.errors

        subject = self.trigger.subject
        sub = await client.subscribe(
            subject,
            queue=self.queue_group,
            pending_msgs_limit=PENDING_MSGS,
            pending_bytes_limit=PENDING_BYTES,
        )
        await client.flush()  # the server knows the subscription before the log line says so
        self.runner.log.engine("info", f"NATS: subscribed to {subject} (queue group {self.queue_group})")
        drain: asyncio.Task[None] | None = None
        while True:
            if stopping.is_set() and drain is None:
                drain = asyncio.ensure_future(
                    sub.drain()
                )  # the server stops sending; buffered ones still run
            await self.gate.acquire()
            try:
                msg = await sub.next_msg(timeout=POLL)
            except (TimeoutError, nats.errors.TimeoutError):
                await self.gate.release()
                if drain is not None and drain.done():
                    break
                continue
            except nats.errors.ConnectionClosedError:
                await self.gate.release()
                break
            if self.bucket is not None:
                await self.bucket.take()
            task = asyncio.ensure_future(self._handle(msg))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        if drain is not None:
            with contextlib.suppress(Exception):
                await drain

    async def _handle(self, msg: Any) -> None:
        counters = self.counters
        trigger = self.trigger
        log = self.runner.log
        try:
            counters.received += 1
            try:
                payload = self._payload(msg)
            except PayloadRejected as exc:
                counters.rejected += 1
                log.engine("error", f"NATS {msg.subject}: message rejected: {exc.reason}")
                if msg.reply:
                    await msg.respond(rejection_bytes(exc.reason))
                return
            counters.started()
            success = False
            try:
                result = await self.runner.run(
                    payload, trigger="queue", carrier=carrier_from_headers(msg.headers)
                )
                success = result.success
            finally:
                counters.finished(success=success)
            if not success:
                log.engine(
                    "error", f"NATS-triggered execution failed on {trigger.subject}: {first_error(result)}"
                )
            if msg.reply:
                await msg.respond(result_bytes(result))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # never crash the subscription loop
            log.engine(
                "error", f"NATS {trigger.subject}: {self.runner.redact(f'{type(exc).__name__}: {exc}')}"
            )
        finally:
            await self.gate.release()

    def _payload(self, msg: Any) -> Any:
        return message_payload(msg, self.trigger, self.schema)
