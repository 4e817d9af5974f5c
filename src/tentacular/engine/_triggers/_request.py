"""``tntc run NAME --subject``: one request-reply over NATS to a deployed workflow's queue trigger."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tentacular.engine._triggers._settings import NATS_SECRET, NatsSettings, auth_options
from tentacular.errors import QueueRequestError, TriggerConfigError
from tentacular.spec._nats import NatsEndpoint, NatsUrlError, parse_nats_url


def request_over_nats(
    url: str,
    subject: str,
    payload: Any,
    *,
    timeout: float,
    secrets_path: Path | None = None,
) -> dict[str, Any]:
    """The ExecutionResult the engine answers with; QueueRequestError when none comes back.

    ``secrets_path`` (a secrets file or directory) supplies the ``nats`` credentials.
    """
    credentials: Mapping[str, Any] = {}
    if secrets_path is not None:
        from tentacular.engine._secrets import load_source

        credentials = load_source(secrets_path).get(NATS_SECRET) or {}
    try:
        host, port, tls = parse_nats_url(url)
    except NatsUrlError as exc:
        raise TriggerConfigError(
            exc.message.replace("config.nats_url", "--nats-url"), hint=exc.hint
        ) from None
    settings = NatsSettings(NatsEndpoint(host, port, tls), auth_options(credentials))
    return asyncio.run(_request(settings, subject, json.dumps(payload).encode(), timeout))


async def _request(settings: NatsSettings, subject: str, data: bytes, wait: float) -> dict[str, Any]:
    import nats
    import nats.errors

    url = settings.endpoint.url
    errors: list[BaseException] = []

    async def remember(exc: Exception) -> None:  # nats-py would print a traceback
        errors.append(exc)

    try:
        client = await nats.connect(
            **settings.connect_options(),
            connect_timeout=5,
            allow_reconnect=False,
            max_reconnect_attempts=1,
            reconnect_time_wait=0.05,
            error_cb=remember,
        )
    except Exception as exc:
        cause = errors[-1] if errors else exc
        raise QueueRequestError(
            f"cannot connect to NATS at {url}: {cause}", hint="check --nats-url and the nats credentials"
        ) from None
    try:
        reply = await client.request(
            subject, data, timeout=wait, headers={"Content-Type": "application/json"}
        )
    except nats.errors.NoRespondersError:
        raise QueueRequestError(
            f"nothing subscribes to {subject} on {url}",
            hint="is the workflow deployed with a core queue trigger on this subject? "
            "(JetStream triggers do not answer requests)",
        ) from None
    except (TimeoutError, nats.errors.TimeoutError):
        raise QueueRequestError(
            f"no answer on {subject} within {wait:g}s",
            hint="raise --timeout, or check the workflow's logs",
        ) from None
    finally:
        await client.close()
    try:
        answer: dict[str, Any] = json.loads(reply.data)
    except ValueError:
        raise QueueRequestError(f"the answer on {subject} is not an execution result") from None
    return answer
