"""Start, observe and stop every event trigger of one engine."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from tentacular.engine._core import WorkflowEngine
from tentacular.engine._telemetry import TRIGGER_EVENTS, Labels, MetricDef
from tentacular.engine._triggers._connection import NatsLink, Sleep
from tentacular.engine._triggers._core import CoreQueueSource
from tentacular.engine._triggers._cron import CronSource
from tentacular.engine._triggers._jetstream import JetStreamSource
from tentacular.engine._triggers._limits import TokenBucket
from tentacular.engine._triggers._payload import SchemaCheck
from tentacular.engine._triggers._runner import TriggerRunner
from tentacular.engine._triggers._settings import nats_settings
from tentacular.engine._triggers._webhooks import WebhookRoute
from tentacular.spec._nats import needs_nats

if TYPE_CHECKING:
    from tentacular.engine._server import EngineApp, Receive, Scope, Send, Telemetry
    from tentacular.spec import QueueTrigger, WebhookTrigger, Workflow

Source = CoreQueueSource | JetStreamSource
TRIGGER_OUTCOMES = (
    "received",
    "processed",
    "failed",
    "redelivered",
    "dead_lettered",
    "rejected",
    "dropped",
    "replayed",
    "unmatched",
)


class TriggerHost:
    def __init__(
        self,
        engine: WorkflowEngine,
        *,
        telemetry: Telemetry | None = None,
        sleep: Sleep = asyncio.sleep,
        cron: bool = False,
    ) -> None:
        revision = engine.revision
        workflow = revision.workflow
        services = engine.services
        self.engine = engine
        self.runner = TriggerRunner(engine, telemetry)
        self.stopping = asyncio.Event()
        self.link: NatsLink | None = None
        if needs_nats(workflow):
            settings = nats_settings(workflow, services.secrets)
            self.link = NatsLink(settings, services.log, redact=services.redactor.text, sleep=sleep)
        self.sources: list[Source] = []
        schemas: dict[int, SchemaCheck] = {}
        for index, trigger in enumerate(workflow.triggers):
            schema_file = getattr(trigger, "schema_file", None)
            if schema_file:
                schemas[index] = SchemaCheck(revision.directory / schema_file)
            if trigger.type == "queue":
                self.sources.append(self._source(trigger, workflow, revision.timeout, schemas.get(index)))
        webhooks: list[WebhookTrigger] = []
        webhook_schemas: dict[int, SchemaCheck] = {}
        for index, trigger in enumerate(workflow.triggers):
            if trigger.type == "webhook" and trigger.provider:
                if index in schemas:
                    webhook_schemas[len(webhooks)] = schemas[index]
                webhooks.append(trigger)
        self.webhooks: WebhookRoute | None = None
        if webhooks:
            self.webhooks = WebhookRoute(
                webhooks,
                runner=self.runner,
                secrets=services.secrets,
                schemas=webhook_schemas,
                publish=self._publish_to_jetstream if self.link is not None else None,
            )
        self._tasks: list[asyncio.Task[None]] = []
        self._main: asyncio.Task[None] | None = None
        self.cron = [CronSource(t, runner=self.runner) for t in workflow.triggers_of("cron")] if cron else []
        self._workflow_name = workflow.name
        services.telemetry.metrics.extra_collectors.append(self.metric_series)

    def _source(
        self, trigger: QueueTrigger, workflow: Workflow, timeout: float, schema: SchemaCheck | None
    ) -> Source:
        rate = trigger.rate
        bucket = TokenBucket(rate.count, rate.period) if rate is not None else None
        if trigger.uses_jetstream:
            return JetStreamSource(
                trigger,
                workflow_name=workflow.name,
                timeout=timeout,
                runner=self.runner,
                schema=schema,
                bucket=bucket,
            )
        return CoreQueueSource(
            trigger, queue_group=workflow.name, runner=self.runner, schema=schema, bucket=bucket
        )

    async def start(self) -> None:
        """Returns at once; NATS is connected (with retries) in the background."""
        if self.link is not None:
            self._main = asyncio.ensure_future(self._connect_and_consume())
        for source in self.cron:
            self._tasks.append(asyncio.ensure_future(source.run(self.stopping)))

    async def _connect_and_consume(self) -> None:
        assert self.link is not None
        client = await self.link.connect(self.stopping)
        if client is None:
            return
        for source in self.sources:
            self._tasks.append(asyncio.ensure_future(self._consume(source, client)))

    async def _consume(self, source: Source, client: Any) -> None:
        log = self.runner.log
        delay = 1.0
        while not self.stopping.is_set():
            try:
                await source.run(client, self.stopping)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                message = self.runner.redact(f"{type(exc).__name__}: {exc}")
                log.engine("error", f"trigger {source.counters.trigger}: {message}; retrying in {delay:.0f}s")
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self.stopping.wait(), timeout=delay)
                delay = min(30.0, delay * 2)

    async def _publish_to_jetstream(self, subject: str, data: bytes, headers: dict[str, str]) -> None:
        link = self.link
        if link is None or link.client is None or link.state != "connected":
            raise ConnectionError("NATS is not connected")
        await link.client.jetstream().publish(subject, data, headers=headers, timeout=5)

    def begin_stop(self) -> None:
        """SIGTERM: stop taking new messages now (safe to call from a signal handler on the loop thread)."""
        self.stopping.set()

    async def stop(self, grace: float) -> None:
        """Stop fetching, let in-flight runs finish within ``grace``, hand back the rest, close."""
        deadline = time.monotonic() + grace
        self.stopping.set()
        log = self.runner.log
        if self._main is not None:
            self._main.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._main
        log.engine(
            "info",
            f"triggers: intake stopped; up to {grace:g}s for {len(self._runs())} run(s) in flight to finish",
        )
        loops = list(self._tasks)
        if loops:
            await asyncio.wait(loops, timeout=max(0.1, deadline - time.monotonic()))
        runs = self._runs()
        if runs:
            _, pending = await asyncio.wait(runs, timeout=max(0.0, deadline - time.monotonic()))
            if pending:
                log.engine(
                    "warning", f"triggers: {len(pending)} run(s) unfinished at the deadline; handed back"
                )
                for task in pending:
                    task.cancel()
                await asyncio.wait(pending, timeout=2)
        for loop in loops:
            loop.cancel()
        link = self.link
        if link is not None and link.client is not None and not link.client.is_closed:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(link.client.drain(), timeout=5)
            with contextlib.suppress(Exception):
                await link.client.close()

    def _runs(self) -> list[asyncio.Task[None]]:
        tasks: list[asyncio.Task[None]] = []
        for source in self.sources:
            tasks.extend(source.tasks)
        if self.webhooks is not None:
            tasks.extend(self.webhooks.tasks)
        for cron in self.cron:
            tasks.extend(cron.tasks)
        return tasks

    def metric_series(self) -> Iterator[tuple[MetricDef, Labels, float]]:
        """``tentacular_trigger_events_total{trigger, outcome}`` from the per-trigger counters."""
        counters = [source.counters for source in self.sources]
        if self.webhooks is not None:
            counters.extend(self.webhooks.counters.values())
        counters.extend(source.counters for source in self.cron)
        for entry in counters:
            for outcome in TRIGGER_OUTCOMES:
                value = getattr(entry, outcome)
                if value:
                    yield TRIGGER_EVENTS, (self._workflow_name, entry.trigger, outcome), float(value)

    def snapshot(self) -> dict[str, Any]:
        counters = [source.counters.to_dict() for source in self.sources]
        if self.webhooks is not None:
            counters.extend(c.to_dict() for c in self.webhooks.counters.values())
        counters.extend(source.counters.to_dict() for source in self.cron)
        data: dict[str, Any] = {"triggers": counters}
        if self.link is not None:
            data["nats"] = self.link.snapshot()
        return data

    async def serve_webhook(self, app: EngineApp, scope: Scope, receive: Receive, send: Send) -> None:
        from tentacular.engine._server import respond

        if scope["method"] != "POST":
            await respond(send, 405, b"Method Not Allowed", text=True, allow=b"POST")
            return
        provider = scope["path"][len("/webhook/") :].strip("/")
        if self.webhooks is None:
            await respond(send, 404, b'{"error":"this workflow has no webhook triggers"}')
            return
        body = await app.read_body(scope, receive)
        if body is None:
            await respond(
                send, 413, json.dumps({"error": f"request body exceeds {app.max_body} bytes"}).encode()
            )
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        status, answer = await self.webhooks.handle(provider, headers, body)
        await respond(send, status, json.dumps(answer).encode())
