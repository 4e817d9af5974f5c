"""``POST /webhook/<provider>`` (INVENTORY §4.8.4, D9): verify, filter, answer at once, run later.

* github: ``X-Hub-Signature-256: sha256=<hex>`` = HMAC-SHA256(body, secret); event
  ``X-GitHub-Event``; delivery id ``X-GitHub-Delivery``; ``actions`` filter ``payload.action``.
* generic: ``auth: hmac`` (``header``, default ``X-Signature-256``, value ``sha256=<hex>`` or
  bare hex, ``algorithm``) or ``auth: bearer`` (``Authorization: Bearer <secret>``);
  delivery id ``X-Delivery-Id`` / ``X-Request-Id``.
* The secret is the trigger's ``secret`` reference (default ``<provider>.webhook_secret``),
  compared in constant time; without it every delivery is refused (fail closed).

Answers: bad or missing signature 401; invalid JSON 400; no matching trigger
200 ``{ok, matched:false}``; a replayed delivery id 200 ``{ok, matched, replayed:true}``;
a match 202 ``{ok, matched:true, delivery_id}`` and the run starts in the background —
or, when the trigger names a JetStream ``subject``, only after the delivery is stored
there (a crash after the answer loses nothing).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from tentacular.engine._telemetry import carrier_from_headers
from tentacular.engine._triggers._counters import TriggerCounters
from tentacular.engine._triggers._payload import SOURCE_HEADER, PayloadRejected, SchemaCheck
from tentacular.engine._triggers._runner import TriggerRunner, first_error

if TYPE_CHECKING:
    from tentacular.spec import WebhookTrigger

Send = Callable[[dict[str, Any]], Awaitable[None]]
DEFAULT_HMAC_HEADER = "x-signature-256"
MAX_BACKGROUND_RUNS = 256
MAX_REMEMBERED_DELIVERIES = 10_000


class ReplayFilter:
    """Delivery ids seen within a window; bounded in size, expired by the injected clock."""

    def __init__(self, window: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.window = window
        self._clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()

    def first_time(self, delivery_id: str) -> bool:
        now = self._clock()
        while self._seen:
            oldest, stamp = next(iter(self._seen.items()))
            if now - stamp <= self.window and len(self._seen) < MAX_REMEMBERED_DELIVERIES:
                break
            self._seen.pop(oldest)
        if delivery_id in self._seen:
            return False
        self._seen[delivery_id] = now
        return True


def _secret(secrets: Mapping[str, Mapping[str, Any]], reference: str) -> bytes | None:
    service, _, key = reference.partition(".")
    value = (secrets.get(service) or {}).get(key)
    return value.encode() if isinstance(value, str) and value else None


def _hmac_ok(secret: bytes, body: bytes, presented: str | None, algorithm: str) -> bool:
    if not presented:
        return False
    text = presented.strip()
    prefix = f"{algorithm}="
    if text.lower().startswith(prefix):
        text = text[len(prefix) :]
    expected = hmac.new(secret, body, getattr(hashlib, algorithm)).hexdigest()
    return hmac.compare_digest(expected.encode(), text.lower().encode())


class WebhookRoute:
    def __init__(
        self,
        triggers: list[WebhookTrigger],
        *,
        runner: TriggerRunner,
        secrets: Mapping[str, Mapping[str, Any]],
        schemas: Mapping[int, SchemaCheck],
        publish: Callable[[str, bytes, dict[str, str]], Awaitable[None]] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.triggers = triggers
        self.runner = runner
        self.secrets = secrets
        self.schemas = schemas
        self.publish = publish
        self.counters = {
            id(trigger): TriggerCounters(trigger.label, "webhook", max_concurrency=MAX_BACKGROUND_RUNS)
            for trigger in triggers
        }
        self.replays = {
            provider: ReplayFilter(
                max(t.replay_seconds for t in triggers if t.provider == provider), clock=clock
            )
            for provider in {t.provider for t in triggers if t.provider}
        }
        self.tasks: set[asyncio.Task[None]] = set()
        for trigger in triggers:
            if trigger.provider and _secret(secrets, trigger.secret_ref) is None:
                runner.log.engine(
                    "error",
                    f"webhook {trigger.label}: secret {trigger.secret_ref} is not set; "
                    f"every POST /webhook/{trigger.provider} will be refused with 401",
                )

    def providers(self) -> list[str]:
        return sorted({t.provider for t in self.triggers if t.provider})

    async def handle(
        self, provider: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, dict[str, Any]]:
        candidates = [t for t in self.triggers if t.provider == provider]
        log = self.runner.log
        if not candidates:
            return 404, {"error": f"no webhook trigger for provider {provider!r}"}
        verified = [t for t in candidates if self._verified(t, headers, body)]
        if not verified:
            log.engine("warning", f"webhook {provider}: invalid or missing signature; refused")
            for candidate in candidates:
                self.counters[id(candidate)].rejected += 1
            return 401, {"error": "Invalid signature"}
        try:
            payload = json.loads(body) if body.strip() else {}
        except ValueError:
            log.engine("warning", f"webhook {provider}: body is not valid JSON; refused")
            return 400, {"error": "Invalid JSON payload"}
        event = headers.get("x-github-event") if provider == "github" else None
        delivery = (
            headers.get("x-github-delivery")
            or headers.get("x-delivery-id")
            or headers.get("x-request-id")
            or (os.urandom(8).hex() if provider != "github" else "unknown")
        )
        action = payload.get("action") if isinstance(payload, dict) else None
        action = action if isinstance(action, str) else None
        trigger = next((t for t in verified if _matches(t, event, action)), None)
        if trigger is None:
            for candidate in verified:
                self.counters[id(candidate)].unmatched += 1
            log.engine(
                "info", f"webhook {provider}: event {event!r} action {action!r} matches no trigger; dropping"
            )
            return 200, {"ok": True, "matched": False}
        counters = self.counters[id(trigger)]
        if delivery != "unknown" and not self.replays[provider].first_time(delivery):
            counters.replayed += 1
            log.engine(
                "warning",
                f"webhook {provider}: delivery {delivery} was already accepted; ignoring the replay",
            )
            return 200, {"ok": True, "matched": True, "replayed": True, "delivery_id": delivery}
        data = payload if isinstance(payload, dict) else {"data": payload}
        data["_webhook"] = {
            "provider": provider,
            "event": event,
            "action": action,
            "delivery_id": delivery,
            "trigger": trigger.label,
        }
        schema = self.schemas.get(self.triggers.index(trigger))
        if schema is not None:
            try:
                schema.check(payload)
            except PayloadRejected as exc:
                counters.rejected += 1
                log.engine("warning", f"webhook {provider}: {exc.reason}")
                return 400, {"error": exc.reason}
        counters.received += 1
        if trigger.subject:
            return await self._hand_to_jetstream(trigger, data, delivery, counters, headers)
        if len(self.tasks) >= MAX_BACKGROUND_RUNS:
            counters.dropped += 1
            return 503, {"error": "too many webhook runs in progress; retry later"}
        task = asyncio.ensure_future(self._run(data, counters, delivery, carrier_from_headers(headers)))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return 202, {"ok": True, "matched": True, "delivery_id": delivery}

    async def _hand_to_jetstream(
        self,
        trigger: WebhookTrigger,
        data: dict[str, Any],
        delivery: str,
        counters: TriggerCounters,
        request_headers: Mapping[str, str],
    ) -> tuple[int, dict[str, Any]]:
        assert trigger.subject is not None
        if self.publish is None:
            counters.dropped += 1
            return 503, {"error": "NATS is not connected; retry later"}
        headers = {
            SOURCE_HEADER: "webhook",
            "Content-Type": "application/json",
            "Nats-Msg-Id": f"webhook-{delivery}",  # JetStream drops a re-sent delivery within its window
            # The queued run continues the sender's trace, as a direct webhook run does.
            **(carrier_from_headers(request_headers) or {}),
        }
        try:
            await self.publish(trigger.subject, json.dumps(data).encode(), headers)
        except Exception as exc:
            counters.dropped += 1
            self.runner.log.engine(
                "error", f"webhook: storing delivery {delivery} in {trigger.subject} failed: {exc}"
            )
            return 503, {"error": "could not store the delivery; retry later"}
        counters.processed += 1
        return 202, {"ok": True, "matched": True, "delivery_id": delivery, "queued": trigger.subject}

    async def _run(
        self,
        data: dict[str, Any],
        counters: TriggerCounters,
        delivery: str,
        carrier: Mapping[str, str] | None,
    ) -> None:
        counters.started()
        success = False
        try:
            result = await self.runner.run(data, trigger="webhook", carrier=carrier)
            success = result.success
            if not success:
                self.runner.log.engine(
                    "error",
                    f"webhook-triggered execution failed (delivery {delivery}): {first_error(result)}",
                )
        except Exception as exc:
            self.runner.log.engine("error", f"webhook delivery {delivery}: {self.runner.redact(str(exc))}")
        finally:
            counters.finished(success=success)

    def _verified(self, trigger: WebhookTrigger, headers: Mapping[str, str], body: bytes) -> bool:
        secret = _secret(self.secrets, trigger.secret_ref)
        if secret is None:
            return False
        if trigger.provider == "github":
            return _hmac_ok(secret, body, headers.get("x-hub-signature-256"), "sha256")
        if trigger.auth == "bearer":
            presented = headers.get("authorization", "")
            scheme, _, token = presented.partition(" ")
            return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), secret)
        header = (trigger.header or DEFAULT_HMAC_HEADER).lower()
        return _hmac_ok(secret, body, headers.get(header), trigger.algorithm)


def _matches(trigger: WebhookTrigger, event: str | None, action: str | None) -> bool:
    if trigger.event is not None and trigger.event != event:
        return False
    return not (trigger.actions and action is not None and action not in trigger.actions)
