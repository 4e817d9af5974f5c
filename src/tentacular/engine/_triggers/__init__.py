"""Event triggers of the engine (D9): NATS queues (core and JetStream) and signed webhooks.

``TriggerHost`` is built only when the workflow has queue or webhook triggers, so a
manual/cron workflow never imports the trigger machinery or nats (start-up budget).
The HTTP server hands ``/webhook/<provider>`` requests to ``serve_webhook`` and adds
``snapshot()`` to ``/health?detail=1``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tentacular.engine._triggers._host import TriggerHost
    from tentacular.spec import Workflow


def wants_triggers(workflow: Workflow, *, cron: bool = False) -> bool:
    """Queue or webhook triggers; with ``cron`` (``tntc dev --cron``) cron triggers too."""
    kinds = ("queue", "webhook", "cron") if cron else ("queue", "webhook")
    return any(workflow.triggers_of(kind) for kind in kinds)


def __getattr__(name: str) -> Any:
    if name == "TriggerHost":
        from tentacular.engine._triggers._host import TriggerHost

        return TriggerHost
    raise AttributeError(name)


__all__ = ["TriggerHost", "wants_triggers"]
