"""Rules between trigger fields, and between triggers and files (INVENTORY §2.2, D9).

They read the raw parsed data (aliases as written) and skip values of the wrong
type: the model reports those at their own field.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tentacular.spec._findings import Finding
from tentacular.spec._nats import NatsUrlError, parse_nats_url
from tentacular.spec._triggers import WEBHOOK_PROVIDERS, has_wildcard, subject_problem

_JETSTREAM_ONLY = ("maxDeliver", "deadLetter")
_GENERIC_ONLY = ("auth", "header", "algorithm")


def check_trigger_fields(triggers: Any, directory: Path | None) -> Iterator[Finding]:
    if not isinstance(triggers, list):
        return
    jetstream_subjects: set[str] = set()
    durables: dict[str, int] = {}
    for index, trigger in enumerate(triggers):
        if isinstance(trigger, dict) and trigger.get("type") == "queue":
            yield from _check_queue(index, trigger, durables)
            if _uses_jetstream(trigger) and isinstance(trigger.get("subject"), str):
                jetstream_subjects.add(trigger["subject"])
    for index, trigger in enumerate(triggers):
        if isinstance(trigger, dict) and trigger.get("type") == "webhook":
            yield from _check_webhook(index, trigger, jetstream_subjects)
    for index, trigger in enumerate(triggers):
        if isinstance(trigger, dict) and isinstance(trigger.get("schema"), str) and directory is not None:
            yield from _check_schema_file(index, trigger["schema"], directory)


def _uses_jetstream(trigger: dict[str, Any]) -> bool:
    return trigger.get("jetstream") is True or "stream" in trigger or "durable" in trigger


def _check_queue(index: int, trigger: dict[str, Any], durables: dict[str, int]) -> Iterator[Finding]:
    subject = trigger.get("subject")
    jetstream = _uses_jetstream(trigger)
    if not jetstream:
        for key in _JETSTREAM_ONLY:
            if key in trigger:
                yield Finding(
                    ("triggers", index, key),
                    f"{key} applies to JetStream triggers only (core NATS delivers at most once)",
                    hint="add `jetstream: true` to this trigger, or remove the field",
                )
        return
    if trigger.get("jetstream") is False:
        yield Finding(
            ("triggers", index, "jetstream"),
            "jetstream is false but stream/durable is set",
            hint="remove stream and durable for a core NATS trigger, or set jetstream: true",
        )
    durable = trigger.get("durable")
    if isinstance(durable, str):
        if durable in durables:
            yield Finding(
                ("triggers", index, "durable"),
                f'durable "{durable}" is already used by triggers[{durables[durable]}]',
                hint="each JetStream trigger needs its own durable consumer name",
            )
        else:
            durables[durable] = index
    if not isinstance(subject, str) or subject_problem(subject) is not None:
        return
    dead_letter = trigger.get("deadLetter")
    if dead_letter is None and has_wildcard(subject):
        yield Finding(
            ("triggers", index, "subject"),
            f'a JetStream trigger on the wildcard subject "{subject}" needs an explicit deadLetter subject',
            hint="add e.g. `deadLetter: orders.dlq` (a subject outside the trigger's subject)",
        )
    if isinstance(dead_letter, str) and _matches(subject, dead_letter):
        yield Finding(
            ("triggers", index, "deadLetter"),
            f'deadLetter "{dead_letter}" matches the trigger\'s own subject "{subject}"',
            hint="dead letters would be delivered to the workflow again; pick a subject outside it",
        )


def _matches(pattern: str, subject: str) -> bool:
    """Does the NATS subscription ``pattern`` receive messages published to ``subject``?"""
    wanted, tokens = pattern.split("."), subject.split(".")
    for position, token in enumerate(wanted):
        if token == ">":
            return len(tokens) > position
        if position >= len(tokens) or (token != "*" and token != tokens[position]):
            return False
    return len(wanted) == len(tokens)


def _check_webhook(index: int, trigger: dict[str, Any], jetstream_subjects: set[str]) -> Iterator[Finding]:
    provider = trigger.get("provider")
    if provider is None and isinstance(trigger.get("path"), str):
        yield Finding(
            ("triggers", index, "path"),
            "path-only webhooks (seed era) are not served: the engine serves POST /webhook/<provider>",
            hint="set `provider: github` or `provider: generic`",
            severity="warning",
        )
        return
    if not isinstance(provider, str):
        return
    if provider not in WEBHOOK_PROVIDERS:
        yield Finding(
            ("triggers", index, "provider"),
            f'unknown webhook provider "{provider}" (must be {" or ".join(WEBHOOK_PROVIDERS)})',
            hint="use github for GitHub deliveries, generic for any HMAC- or bearer-signed sender",
        )
        return
    if provider == "github":
        for key in _GENERIC_ONLY:
            if key in trigger:
                yield Finding(
                    ("triggers", index, key),
                    f"{key} applies to generic webhooks; github always signs with X-Hub-Signature-256",
                    hint="remove the field, or set provider: generic",
                )
    elif "event" in trigger or "actions" in trigger:
        key = "event" if "event" in trigger else "actions"
        yield Finding(
            ("triggers", index, key),
            "event and actions filter github deliveries; a generic webhook has neither",
            hint="remove the field, or set provider: github",
        )
    elif trigger.get("auth") == "bearer" and "algorithm" in trigger:
        yield Finding(
            ("triggers", index, "algorithm"),
            "algorithm applies to hmac signatures, not to bearer secrets",
            hint="remove the field, or set auth: hmac",
        )
    subject = trigger.get("subject")
    if isinstance(subject, str) and subject not in jetstream_subjects:
        yield Finding(
            ("triggers", index, "subject"),
            f'subject "{subject}" is not the subject of a JetStream queue trigger of this workflow',
            hint="add a queue trigger with this subject and `jetstream: true`, or remove subject",
        )


def _check_schema_file(index: int, schema: str, directory: Path) -> Iterator[Finding]:
    relative = Path(schema)
    if relative.is_absolute() or ".." in relative.parts:
        yield Finding(
            ("triggers", index, "schema"),
            f'schema "{schema}" must be a path inside the workflow directory',
            hint="keep schemas next to workflow.yaml, e.g. schema: ./schemas/order.json",
        )
        return
    target = directory / relative
    if not target.is_file():
        yield Finding(
            ("triggers", index, "schema"),
            f'schema file "{schema}" does not exist',
            hint=f"create {schema} (a JSON Schema document) or fix the path",
        )
        return
    import json

    try:
        document = json.loads(target.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        yield Finding(
            ("triggers", index, "schema"),
            f'schema file "{schema}" is not valid JSON: {exc}',
            hint="a trigger schema is a JSON Schema document in JSON",
        )
        return
    if not isinstance(document, dict | bool):
        yield Finding(
            ("triggers", index, "schema"),
            f'schema file "{schema}" is not a JSON Schema (expected an object)',
            hint='start from {"type": "object", "properties": {...}}',
        )


def check_nats_server(data: dict[str, Any]) -> Iterator[Finding]:
    """Queue triggers need a NATS server: ``config.nats_url`` or a ``protocol: nats`` dependency."""
    triggers = data.get("triggers")
    if not isinstance(triggers, list):
        return
    queue_index = next(
        (
            i
            for i, t in enumerate(triggers)
            if isinstance(t, dict)
            and (t.get("type") == "queue" or (t.get("type") == "webhook" and "subject" in t))
        ),
        None,
    )
    config = data.get("config")
    url = config.get("nats_url") if isinstance(config, dict) else None
    if isinstance(url, str) and url.strip():
        try:
            parse_nats_url(url.strip())
        except NatsUrlError as exc:
            yield Finding(("config", "nats_url"), exc.message, hint=exc.hint)
        return
    if queue_index is None:
        return
    contract = data.get("contract")
    dependencies = contract.get("dependencies") if isinstance(contract, dict) else None
    if isinstance(dependencies, dict) and any(
        isinstance(d, dict) and d.get("protocol") == "nats" for d in dependencies.values()
    ):
        return
    yield Finding(
        ("triggers", queue_index),
        "queue triggers need a NATS server, and none is configured",
        hint="set config.nats_url (e.g. nats://nats.messaging.svc.cluster.local:4222) "
        "or declare a contract dependency with protocol: nats",
    )
