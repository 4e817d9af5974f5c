"""A JetStream queue trigger (roadmap #18, #20): durable pull consumer, at-least-once.

* The engine pulls only as many messages as it has free ``maxConcurrency`` slots (and
  rate-limit tokens), so a backlog stays on the server, not in memory.
* A message is acked only after its run finished. A failed run is nak'ed with a
  growing delay and redelivered; after ``maxDeliver`` attempts the original payload and
  headers plus the error go to the dead-letter subject (``<subject>.dlq``) and the
  message is terminated. A payload that can never run (schema, size, declared JSON
  that does not parse) is dead-lettered at once.
* ``ack_wait`` is longer than the workflow timeout; a run in progress sends
  in-progress heartbeats so long DAGs are not redelivered under it.
* An engine crash leaves its messages unacked: the server redelivers them after
  ``ack_wait``. SIGTERM stops pulling, lets runs finish within the grace period and
  nak's the unfinished ones so another replica gets them at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from typing import TYPE_CHECKING, Any

from tentacular.engine._telemetry import carrier_from_headers
from tentacular.engine._triggers._counters import TriggerCounters
from tentacular.engine._triggers._limits import ConcurrencyGate, TokenBucket
from tentacular.engine._triggers._payload import PayloadRejected, SchemaCheck, message_payload
from tentacular.engine._triggers._runner import TriggerRunner, first_error

if TYPE_CHECKING:
    from tentacular.spec import QueueTrigger

FETCH_WAIT = 1.0  # seconds a pull waits for messages before the loop checks its stop flag again
MAX_HEADER = 2048
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def ack_wait_for(timeout: float) -> float:
    """Longer than one run's timeout, with room for the engine to answer."""
    return max(2 * timeout, timeout + 5.0)


def retry_delay(delivered: int) -> float:
    return float(min(30.0, 0.5 * 2 ** max(0, delivered - 1)))


def nats_name(*parts: str) -> str:
    return _UNSAFE.sub("_", "-".join(parts)).strip("_-")[:64] or "tentacular"


def one_line(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= MAX_HEADER else flat[: MAX_HEADER - 1] + "…"


class JetStreamSource:
    def __init__(
        self,
        trigger: QueueTrigger,
        *,
        workflow_name: str,
        timeout: float,
        runner: TriggerRunner,
        schema: SchemaCheck | None,
        bucket: TokenBucket | None,
    ) -> None:
        self.trigger = trigger
        self.workflow_name = workflow_name
        self.runner = runner
        self.schema = schema
        self.bucket = bucket
        self.ack_wait = ack_wait_for(timeout)
        self.durable = trigger.durable or nats_name(workflow_name, trigger.name or trigger.subject)
        self.gate = ConcurrencyGate(trigger.max_concurrency)
        self.counters = TriggerCounters(trigger.label, "jetstream", max_concurrency=trigger.max_concurrency)
        self.tasks: set[asyncio.Task[None]] = set()
        self.stream: str | None = None
        self._js: Any = None

    async def run(self, client: Any, stopping: asyncio.Event) -> None:
        import nats.errors
        from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

        js = client.jetstream()
        self._js = js
        log = self.runner.log
        trigger = self.trigger
        self.stream = await self._ensure_stream(js, trigger.subject, trigger.stream)
        await self._ensure_stream(js, trigger.dead_letter_subject, None, suffix="dlq")
        config = ConsumerConfig(
            durable_name=self.durable,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=self.ack_wait,
            max_deliver=trigger.max_deliver + 1,  # one more: a crash-looping message still reaches the DLQ
            filter_subject=trigger.subject,
        )
        psub = await js.pull_subscribe(
            trigger.subject, durable=self.durable, stream=self.stream, config=config
        )
        log.engine(
            "info",
            f"JetStream: consuming {trigger.subject} from stream {self.stream} as {self.durable} "
            f"(maxConcurrency {trigger.max_concurrency}, maxDeliver {trigger.max_deliver}, "
            f"dead letters to {trigger.dead_letter_subject})",
        )
        while not stopping.is_set():
            await self.gate.wait_free()
            if stopping.is_set():
                break
            batch = self.gate.free
            if self.bucket is not None:
                await self.bucket.take()
                batch = 1
            try:
                messages = await psub.fetch(batch=batch, timeout=FETCH_WAIT)
            except (TimeoutError, nats.errors.TimeoutError):
                continue
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.engine("warning", f"JetStream {trigger.subject}: fetch failed ({exc}); retrying")
                await asyncio.sleep(FETCH_WAIT)
                continue
            for msg in messages:
                await self.gate.acquire()
                task = asyncio.ensure_future(self._handle(msg))
                self.tasks.add(task)
                task.add_done_callback(self.tasks.discard)
        with contextlib.suppress(Exception):
            await psub.unsubscribe()

    async def _ensure_stream(self, js: Any, subject: str, wanted: str | None, *, suffix: str = "") -> str:
        import nats.js.errors

        try:
            found: str = await js.find_stream_name_by_subject(subject)
        except nats.js.errors.NotFoundError:
            found = ""
        if found:
            if wanted and found != wanted:
                self.runner.log.engine(
                    "warning",
                    f"JetStream: subject {subject} is stored by stream {found}, not {wanted}; using {found}",
                )
            return found
        name = wanted or nats_name(
            self.workflow_name.upper(), (self.trigger.name or self.trigger.subject).upper()
        )
        if suffix:
            name = nats_name(name, suffix.upper())
        await js.add_stream(name=name, subjects=[subject])
        self.runner.log.engine("info", f"JetStream: created stream {name} for {subject}")
        return name

    async def _handle(self, msg: Any) -> None:
        counters = self.counters
        trigger = self.trigger
        heartbeat: asyncio.Task[None] | None = None
        started = False
        try:
            delivered = int(msg.metadata.num_delivered)
            counters.received += 1
            if delivered > 1:
                counters.redelivered += 1
            if delivered > trigger.max_deliver:
                await self._dead_letter(msg, f"delivered {delivered} times without finishing", delivered)
                return
            try:
                payload = self._payload(msg)
            except PayloadRejected as exc:
                counters.rejected += 1
                await self._dead_letter(msg, exc.reason, delivered)
                return
            heartbeat = asyncio.ensure_future(self._heartbeat(msg))
            counters.started()
            started = True
            result = await self.runner.run(
                payload, trigger="queue", carrier=carrier_from_headers(msg.headers)
            )
            heartbeat.cancel()
            counters.finished(success=result.success)
            started = False
            if result.success:
                await msg.ack()
                return
            error = first_error(result) or "the run failed"
            if delivered >= trigger.max_deliver:
                await self._dead_letter(msg, error, delivered)
            else:
                delay = retry_delay(delivered)
                self.runner.log.engine(
                    "warning",
                    f"NATS-triggered execution failed on {trigger.subject} (attempt {delivered}/"
                    f"{trigger.max_deliver}, retry in {delay:.1f}s): {error}",
                )
                await msg.nak(delay=delay)
        except asyncio.CancelledError:
            # Shutdown ran out of grace: hand the message back now rather than after ack_wait.
            with contextlib.suppress(Exception):
                await asyncio.shield(msg.nak())
            raise
        except Exception as exc:
            self.runner.log.engine(
                "error", f"JetStream {trigger.subject}: {self.runner.redact(f'{type(exc).__name__}: {exc}')}"
            )
            with contextlib.suppress(Exception):
                await msg.nak(delay=retry_delay(1))
        finally:
            if heartbeat is not None:
                heartbeat.cancel()
            if started:
                counters.finished(success=False)
            await self.gate.release()

    async def _heartbeat(self, msg: Any) -> None:
        while True:
            await asyncio.sleep(self.ack_wait / 3)
            with contextlib.suppress(Exception):
                await msg.in_progress()

    def _payload(self, msg: Any) -> Any:
        return message_payload(msg, self.trigger, self.schema)

    async def _dead_letter(self, msg: Any, error: str, delivered: int) -> None:
        trigger = self.trigger
        metadata = msg.metadata
        sequence = metadata.sequence.stream
        reason = one_line(self.runner.redact(error))
        headers = {str(k): str(v) for k, v in (msg.headers or {}).items()}
        headers.update(
            {
                "Tentacular-Error": reason,
                "Tentacular-Subject": msg.subject,
                "Tentacular-Deliveries": str(delivered),
                "Tentacular-Stream": str(metadata.stream),
                "Tentacular-Stream-Sequence": str(sequence),
                "Tentacular-Workflow": self.workflow_name,
                # the same id for a re-sent dead letter: a crash before term() cannot duplicate it
                "Nats-Msg-Id": f"{metadata.stream}-{sequence}-dlq",
            }
        )
        await self._js.publish(trigger.dead_letter_subject, msg.data, headers=headers)
        await msg.term()
        self.counters.dead_lettered += 1
        self.runner.log.engine(
            "error",
            f"JetStream {msg.subject}: message {sequence} dead-lettered to {trigger.dead_letter_subject} "
            f"after {delivered} attempt(s): {reason}",
        )
