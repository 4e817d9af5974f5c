"""NKEY and JWT credentials for a real nats-server: keys made here, JWTs signed here.

A creds file is a user JWT signed by an account key, plus the user's seed; the server
trusts the operator that signed the account JWT (``resolver: MEMORY``). The JWTs are
the NATS v2 claim format (``alg: ed25519-nkey``), signed with the nkeys library.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
from dataclasses import dataclass
from typing import Any

import nkeys

UNLIMITED = {"subs": -1, "data": -1, "payload": -1}


def keypair(prefix: int) -> Any:
    return nkeys.from_seed(nkeys.encode_seed(os.urandom(32), prefix))


def user_keypair() -> Any:
    return keypair(nkeys.PREFIX_BYTE_USER)


def public(key: Any) -> str:
    return str(key.public_key.decode())


def seed(key: Any) -> str:
    return str(key.seed.decode())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def signed_jwt(issuer: Any, subject: str, name: str, nats: dict[str, Any]) -> str:
    claims: dict[str, Any] = {
        "iat": int(time.time()),
        "iss": public(issuer),
        "name": name,
        "sub": subject,
        "nats": {**nats, "version": 2},
    }
    digest = hashlib.sha256(json.dumps(claims, sort_keys=True).encode()).digest()
    claims["jti"] = base64.b32encode(digest).decode().rstrip("=")
    header = _b64(json.dumps({"typ": "JWT", "alg": "ed25519-nkey"}).encode())
    signing_input = f"{header}.{_b64(json.dumps(claims).encode())}"
    return f"{signing_input}.{_b64(issuer.sign(signing_input.encode()))}"


def creds_file(user_jwt: str, user: Any) -> str:
    """The layout `nsc generate creds` writes."""
    return (
        f"-----BEGIN NATS USER JWT-----\n{user_jwt}\n------END NATS USER JWT------\n\n"
        "************************* IMPORTANT *************************\n"
        "NKEY Seed printed below can be used to sign and prove identity.\n\n"
        f"-----BEGIN USER NKEY SEED-----\n{seed(user)}\n------END USER NKEY SEED------\n"
    )


@dataclass(frozen=True)
class Operator:
    """An operator and one account it signed; :meth:`user_creds` issues users of that account."""

    operator: Any
    account: Any
    system: Any  # JetStream (the test server runs with -js) needs a system account

    @classmethod
    def create(cls) -> Operator:
        account = nkeys.PREFIX_BYTE_ACCOUNT
        return cls(keypair(nkeys.PREFIX_BYTE_OPERATOR), keypair(account), keypair(account))

    def server_config(self) -> str:
        operator_jwt = signed_jwt(self.operator, public(self.operator), "test-operator", {"type": "operator"})
        limits = {**UNLIMITED, "imports": -1, "exports": -1, "wildcards": True, "conn": -1, "leaf": -1}
        accounts = {
            public(key): signed_jwt(self.operator, public(key), name, {"type": "account", "limits": limits})
            for key, name in ((self.account, "test-account"), (self.system, "SYS"))
        }
        preload = "".join(f"  {key}: {token}\n" for key, token in accounts.items())
        return (
            f"operator: {operator_jwt}\nsystem_account: {public(self.system)}\nresolver: MEMORY\n"
            f"resolver_preload: {{\n{preload}}}\n"
        )

    def user_creds(self, signer: Any | None = None) -> str:
        """Creds of a new user, signed by the account (or by ``signer``, which the server does not trust)."""
        user = user_keypair()
        claims = {"type": "user", "pub": {}, "sub": {}, **UNLIMITED}
        return creds_file(signed_jwt(signer or self.account, public(user), "engine", claims), user)
