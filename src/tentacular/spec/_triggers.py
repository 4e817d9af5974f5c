"""Trigger models (INVENTORY §2.2, D9): manual, cron, NATS queue (core or JetStream), webhook.

Field syntax is checked here, one field at a time, so every error points at its
field; rules that relate fields to each other or to files on disk live in
``crossref`` (``check_trigger``).
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator
from pydantic_core import PydanticCustomError

from tentacular.spec._behaviour import QueueTriggerBehaviour, WebhookTriggerBehaviour
from tentacular.spec._fields import (
    SECRET_REF_RE,
    CronSchedule,
    Duration,
    Identifier,
    SpecModel,
)
from tentacular.spec._values import RATE_LIMIT_RE as RATE_LIMIT_RE
from tentacular.spec._values import RateLimit as RateLimit
from tentacular.spec._values import parse_rate_limit as parse_rate_limit

WEBHOOK_PROVIDERS: tuple[str, ...] = ("github", "generic")
DEFAULT_MAX_CONCURRENCY = 4
DEFAULT_MAX_DELIVER = 5
DEFAULT_MAX_PAYLOAD = 1024 * 1024
MAX_CONCURRENCY_LIMIT = 1024
# NATS names of streams and consumers: no whitespace, no subject separators or wildcards, no path chars.
NATS_NAME_RE = r"^[A-Za-z0-9_-]{1,64}$"
_SUBJECT_MAX = 255
_SUBJECT_TOKEN_BAD = re.compile(r"[\s]")


def subject_problem(subject: str, *, wildcards: bool = True) -> str | None:
    """Why ``subject`` is not a valid NATS subject (``*`` a whole token, ``>`` the last), or None."""
    if len(subject) > _SUBJECT_MAX:
        return f"longer than {_SUBJECT_MAX} characters"
    tokens = subject.split(".")
    for index, token in enumerate(tokens):
        if not token:
            return "empty token (leading, trailing or double '.')"
        if _SUBJECT_TOKEN_BAD.search(token):
            return f'whitespace in token "{token}"'
        if ("*" in token or ">" in token) and token not in ("*", ">"):
            return f'wildcard inside token "{token}" (a wildcard must be a whole token)'
        if token in ("*", ">") and not wildcards:
            return f'wildcard "{token}" is not allowed here'
        if token == ">" and index != len(tokens) - 1:
            return "'>' must be the last token"
    return None


def has_wildcard(subject: str) -> bool:
    return any(token in ("*", ">") for token in subject.split("."))


def _check_subject(value: str) -> str:
    problem = subject_problem(value)
    if problem:
        raise PydanticCustomError(
            "nats_subject", 'invalid NATS subject "{value}": {problem}', {"value": value, "problem": problem}
        )
    return value


def _check_literal_subject(value: str) -> str:
    problem = subject_problem(value, wildcards=False)
    if problem:
        raise PydanticCustomError(
            "nats_subject", 'invalid NATS subject "{value}": {problem}', {"value": value, "problem": problem}
        )
    return value


def _check_nats_name(value: str) -> str:
    if not re.match(NATS_NAME_RE, value):
        raise PydanticCustomError(
            "nats_name",
            'invalid JetStream name "{value}" (letters, digits, "_" and "-", at most 64)',
            {"value": value},
        )
    return value


def _check_rate_limit(value: str) -> str:
    try:
        parse_rate_limit(value)
    except ValueError:
        raise PydanticCustomError(
            "rate_limit", 'invalid rateLimit "{value}" (expected <count>/<period>)', {"value": value}
        ) from None
    return value


def _check_secret_ref(value: str) -> str:
    if not re.match(SECRET_REF_RE, value):
        raise PydanticCustomError(
            "secret_ref", 'secret must be in "service.key" format, got: "{value}"', {"value": value}
        )
    return value


Subject = Annotated[str, AfterValidator(_check_subject), Field(min_length=1)]
LiteralSubject = Annotated[str, AfterValidator(_check_literal_subject), Field(min_length=1)]
NatsName = Annotated[
    str, AfterValidator(_check_nats_name), Field(json_schema_extra={"pattern": NATS_NAME_RE})
]
RateLimitText = Annotated[
    str, AfterValidator(_check_rate_limit), Field(json_schema_extra={"pattern": RATE_LIMIT_RE})
]
SecretReference = Annotated[
    str, AfterValidator(_check_secret_ref), Field(json_schema_extra={"pattern": SECRET_REF_RE})
]


class _TriggerBase(SpecModel):
    name: Identifier | None = None


class ManualTrigger(_TriggerBase):
    type: Literal["manual"]


class CronTrigger(_TriggerBase):
    type: Literal["cron"]
    schedule: CronSchedule


class QueueTrigger(QueueTriggerBehaviour, _TriggerBase):
    """A NATS subscription; JetStream (durable, at-least-once) when ``jetstream``/``stream``/``durable``."""

    type: Literal["queue"]
    subject: Subject
    jetstream: bool = False
    stream: NatsName | None = None
    durable: NatsName | None = None
    max_concurrency: int = Field(
        default=DEFAULT_MAX_CONCURRENCY, ge=1, le=MAX_CONCURRENCY_LIMIT, alias="maxConcurrency"
    )
    rate_limit: RateLimitText | None = Field(default=None, alias="rateLimit")
    max_deliver: int = Field(default=DEFAULT_MAX_DELIVER, ge=1, le=1000, alias="maxDeliver")
    dead_letter: LiteralSubject | None = Field(default=None, alias="deadLetter")
    max_payload: int = Field(default=DEFAULT_MAX_PAYLOAD, ge=1, alias="maxPayload")
    schema_file: str | None = Field(default=None, alias="schema", min_length=1)


class WebhookTrigger(WebhookTriggerBehaviour, _TriggerBase):
    """``POST /webhook/<provider>``: github (X-Hub-Signature-256) or generic (hmac or bearer)."""

    type: Literal["webhook"]
    path: str | None = None
    provider: Identifier | None = None
    event: str | None = None
    actions: list[str] = Field(default_factory=list)
    secret: SecretReference | None = None
    auth: Literal["hmac", "bearer"] = "hmac"
    header: str | None = Field(default=None, min_length=1)
    algorithm: Literal["sha256", "sha512", "sha1"] = "sha256"
    subject: LiteralSubject | None = None
    replay_window: Duration = Field(default="10m", alias="replayWindow")
    schema_file: str | None = Field(default=None, alias="schema", min_length=1)

    @model_validator(mode="after")
    def _path_or_provider(self) -> WebhookTrigger:
        if not self.path and not self.provider:
            raise PydanticCustomError(
                "webhook_target", "webhook trigger requires path or provider", {"field": "provider"}
            )
        return self
