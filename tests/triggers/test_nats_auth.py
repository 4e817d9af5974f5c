"""NKEY and creds-file (JWT) authentication against a real nats-server (issue 14).

The engine reads them from the ``nats`` secret (``nkey``: a user seed; ``creds``: a creds
file's content). A refused key is reported in /health without the seed; an accepted one
consumes the queue.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nats
import yaml

from .conftest import Engine, NatsServer, start_nats, wait_until, write_flow
from .nats_auth import Operator, public, seed, user_keypair

ECHO = "async def run(ctx, input):\n    return input\n"


def _flow(tmp_path: Path, server: NatsServer, subject: str) -> Path:
    return write_flow(
        tmp_path / "flow",
        name="keyed-flow",
        triggers=[{"type": "queue", "subject": subject}],
        node=ECHO,
        config={"nats_url": server.url},
    )


def _secrets(tmp_path: Path, name: str, values: dict[str, str]) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"nats": values}))
    return path


def _ask(server: NatsServer, subject: str, **auth: Any) -> dict[str, Any]:
    async def ask() -> bytes:
        client = await nats.connect(server.url, **auth)
        reply = await client.request(subject, b'{"a": 1}', timeout=20)
        await client.close()
        data: bytes = reply.data
        return data

    result: dict[str, Any] = json.loads(asyncio.run(ask()))
    return result


def _refused(engine: Engine, secret_text: str) -> None:
    wait_until(lambda: engine.health()["nats"]["state"] == "unreachable", what="the refusal")
    assert "rejected the credentials" in engine.health()["nats"]["lastError"]
    assert secret_text not in json.dumps(engine.health())
    assert secret_text not in "\n".join(engine.lines)


def test_an_nkey_user_is_accepted_and_a_stranger_refused(
    tmp_path: Path, engines: Callable[..., Engine]
) -> None:
    engine_key, client_key, stranger = user_keypair(), user_keypair(), user_keypair()
    config = tmp_path / "nkeys.conf"
    config.write_text(
        "authorization {\n  users = [\n"
        f"    {{nkey: {public(engine_key)}}}\n    {{nkey: {public(client_key)}}}\n  ]\n}}\n"
    )
    server = start_nats(tmp_path, "-c", str(config))
    try:
        flow = _flow(tmp_path, server, "keyed.jobs")
        refused = engines(flow, secrets=_secrets(tmp_path, "stranger", {"nkey": seed(stranger)}))
        _refused(refused, seed(stranger))
        refused.terminate()

        accepted = engines(flow, secrets=_secrets(tmp_path, "engine", {"nkey": seed(engine_key)}))
        accepted.wait_for(lambda m: "subscribed to keyed.jobs" in m)
        answer = _ask(server, "keyed.jobs", nkeys_seed_str=seed(client_key))
        assert answer["outputs"]["work"] == {"a": 1, "trigger": "keyed.jobs"}
        assert seed(engine_key) not in "\n".join(accepted.lines)
    finally:
        server.stop()


def test_a_creds_file_signed_by_the_account_is_accepted_and_a_forged_one_refused(
    tmp_path: Path, engines: Callable[..., Engine]
) -> None:
    trust = Operator.create()
    config = tmp_path / "operator.conf"
    config.write_text(trust.server_config())
    server = start_nats(tmp_path, "-c", str(config))
    try:
        flow = _flow(tmp_path, server, "signed.jobs")
        forged = trust.user_creds(signer=Operator.create().account)  # an account the server never saw
        refused = engines(flow, secrets=_secrets(tmp_path, "forged", {"creds": forged}))
        forged_seed = forged.split("-----BEGIN USER NKEY SEED-----\n")[1].split("\n")[0]
        _refused(refused, forged_seed)
        refused.terminate()

        creds = trust.user_creds()
        accepted = engines(flow, secrets=_secrets(tmp_path, "creds", {"creds": creds}))
        accepted.wait_for(lambda m: "subscribed to signed.jobs" in m)
        client_creds = tmp_path / "client.creds"
        client_creds.write_text(trust.user_creds())
        answer = _ask(server, "signed.jobs", user_credentials=str(client_creds))
        assert answer["outputs"]["work"] == {"a": 1, "trigger": "signed.jobs"}
        user_seed = creds.split("-----BEGIN USER NKEY SEED-----\n")[1].split("\n")[0]
        assert user_seed not in "\n".join(accepted.lines)
    finally:
        server.stop()
