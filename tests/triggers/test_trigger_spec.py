"""`tntc validate` checks every trigger field with its location (issue 14, INVENTORY §2.2)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tentacular.spec import parse_workflow
from tentacular.spec._triggers import parse_rate_limit, subject_problem

BASE: dict[str, Any] = {
    "name": "queue-flow",
    "version": "1.0",
    "triggers": [],
    "nodes": {"work": {"path": "./nodes/work.py"}},
    "config": {"nats_url": "nats://nats.messaging.svc.cluster.local:4222"},
    "contract": {"version": "1", "dependencies": {}},
}


def _issues(
    *triggers: dict[str, Any], directory: Path | None = None
) -> list[tuple[str, str, str, int | None]]:
    data = {**BASE, "triggers": list(triggers)}
    text = yaml.safe_dump(data, sort_keys=False)
    _, issues = parse_workflow(text, directory=directory)
    return [(i.path, i.severity, i.message, i.line) for i in issues if i.path.startswith("triggers")]


def _only(*triggers: dict[str, Any], directory: Path | None = None) -> tuple[str, str, str, int | None]:
    found = _issues(*triggers, directory=directory)
    assert len(found) == 1, found
    return found[0]


@pytest.mark.parametrize(
    ("subject", "problem"),
    [
        ("orders..created", "empty token"),
        (".orders", "empty token"),
        ("orders.", "empty token"),
        ("orders created", "whitespace"),
        ("orders.cr*", "wildcard inside token"),
        ("orders.>.x", "must be the last"),
    ],
)
def test_bad_subjects_name_the_problem(subject: str, problem: str) -> None:
    path, severity, message, line = _only({"type": "queue", "subject": subject})
    assert (path, severity) == ("triggers[0].subject", "error")
    assert problem in message and subject in message
    assert line is not None


@pytest.mark.parametrize("subject", ["orders", "orders.created", "orders.*", "orders.>", ">", "a-b_c.D9"])
def test_good_subjects(subject: str) -> None:
    assert subject_problem(subject) is None
    assert _issues({"type": "queue", "subject": subject}) == []
    if subject != ">":  # ">" also matches every dead-letter subject
        jetstream = {"type": "queue", "subject": subject, "jetstream": True, "deadLetter": "dead.letters"}
        assert _issues(jetstream) == []


def test_valid_queue_and_webhook_triggers_have_no_findings(tmp_path: Path) -> None:
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "order.json").write_text('{"type": "object"}')
    found = _issues(
        {
            "type": "queue",
            "name": "orders",
            "subject": "orders.created",
            "maxConcurrency": 8,
            "rateLimit": "50/s",
        },
        {
            "type": "queue",
            "subject": "jobs.run",
            "jetstream": True,
            "durable": "jobs-worker",
            "maxDeliver": 3,
            "schema": "./schemas/order.json",
        },
        {"type": "webhook", "provider": "github", "event": "pull_request", "actions": ["opened"]},
        {"type": "webhook", "name": "hook", "provider": "generic", "auth": "bearer", "secret": "hooks.token"},
        {"type": "webhook", "name": "hook2", "provider": "generic", "subject": "jobs.run"},
        directory=tmp_path,
    )
    assert found == []


@pytest.mark.parametrize(
    ("trigger", "path", "needle"),
    [
        (
            {"type": "queue", "subject": "a", "durable": "bad.name"},
            "triggers[0].durable",
            "invalid JetStream name",
        ),
        (
            {"type": "queue", "subject": "a", "stream": "has space"},
            "triggers[0].stream",
            "invalid JetStream name",
        ),
        (
            {"type": "queue", "subject": "a", "maxConcurrency": 0},
            "triggers[0].maxConcurrency",
            "greater than",
        ),
        (
            {"type": "queue", "subject": "a", "rateLimit": "fast"},
            "triggers[0].rateLimit",
            'invalid rateLimit "fast"',
        ),
        ({"type": "queue", "subject": "a", "rateLimit": "0/s"}, "triggers[0].rateLimit", "invalid rateLimit"),
        (
            {"type": "queue", "subject": "a", "maxDeliver": 3},
            "triggers[0].maxDeliver",
            "JetStream triggers only",
        ),
        (
            {"type": "queue", "subject": "a.*", "jetstream": True},
            "triggers[0].subject",
            "explicit deadLetter",
        ),
        (
            {"type": "queue", "subject": "a.>", "jetstream": True, "deadLetter": "a.dlq"},
            "triggers[0].deadLetter",
            "matches the trigger's own subject",
        ),
        (
            {"type": "webhook", "provider": "gitlab"},
            "triggers[0].provider",
            'unknown webhook provider "gitlab"',
        ),
        ({"type": "webhook", "provider": "github", "secret": "plain"}, "triggers[0].secret", "service.key"),
        ({"type": "webhook", "provider": "generic", "event": "push"}, "triggers[0].event", "filter github"),
        ({"type": "webhook", "provider": "github", "auth": "bearer"}, "triggers[0].auth", "generic webhooks"),
        ({"type": "webhook", "provider": "generic", "auth": "basic"}, "triggers[0].auth", "hmac"),
        (
            {"type": "webhook", "provider": "generic", "subject": "x.y"},
            "triggers[0].subject",
            "JetStream queue",
        ),
    ],
)
def test_bad_trigger_fields_are_located(trigger: dict[str, Any], path: str, needle: str) -> None:
    found_path, severity, message, line = _only(trigger)
    assert found_path == path and severity == "error", (found_path, message)
    assert needle in message
    assert line is not None


def test_schema_file_must_exist_and_be_json(tmp_path: Path) -> None:
    path, _, message, _ = _only(
        {"type": "queue", "subject": "a", "schema": "./missing.json"}, directory=tmp_path
    )
    assert (path, message) == ("triggers[0].schema", 'schema file "./missing.json" does not exist')
    (tmp_path / "bad.json").write_text("{nope")
    assert (
        "not valid JSON"
        in _only({"type": "queue", "subject": "a", "schema": "bad.json"}, directory=tmp_path)[2]
    )
    assert (
        "inside the workflow"
        in _only({"type": "queue", "subject": "a", "schema": "../x.json"}, directory=tmp_path)[2]
    )


def test_duplicate_durables_are_rejected() -> None:
    path, _, message, _ = _only(
        {"type": "queue", "subject": "a", "durable": "same"},
        {"type": "queue", "subject": "b", "durable": "same"},
    )
    assert path == "triggers[1].durable" and "already used by triggers[0]" in message


def test_path_only_webhook_warns_that_it_is_not_served() -> None:
    path, severity, message, _ = _only({"type": "webhook", "path": "/hooks/x"})
    assert (path, severity) == ("triggers[0].path", "warning") and "provider" in message


def test_rate_limit_syntax() -> None:
    assert parse_rate_limit("10/s").per_second == 10
    assert parse_rate_limit("30/m").per_second == 0.5
    assert parse_rate_limit("5/500ms").per_second == 10
    assert parse_rate_limit("100/10s").count == 100
    with pytest.raises(ValueError):
        parse_rate_limit("10/0s")


def _located(data: dict[str, Any]) -> list[tuple[str, str]]:
    _, issues = parse_workflow(yaml.safe_dump(data, sort_keys=False))
    return [(i.path, i.message) for i in issues if i.severity == "error"]


def test_queue_triggers_need_a_nats_server() -> None:
    data = {**BASE, "config": {}, "triggers": [{"type": "manual"}, {"type": "queue", "subject": "a"}]}
    assert _located(data) == [("triggers[1]", "queue triggers need a NATS server, and none is configured")]
    data["contract"] = {
        "version": "1",
        "dependencies": {"bus": {"protocol": "nats", "host": "bus", "subject": "a"}},
    }
    assert _located(data) == []


def test_malformed_nats_url_is_located() -> None:
    data = {**BASE, "config": {"nats_url": "http://x:1"}, "triggers": [{"type": "queue", "subject": "a"}]}
    assert _located(data) == [("config.nats_url", "config.nats_url 'http://x:1' is not a NATS URL")]
