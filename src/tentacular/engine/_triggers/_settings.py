"""Where the NATS server is and how to authenticate, from workflow.yaml and secrets (no nats import).

Server: see ``spec._nats`` (``config.nats_url`` or the ``protocol: nats`` dependency).
Credentials come from the ``nats`` secret: ``token``; ``user`` + ``password``; ``nkey``
(a seed); ``creds`` (a creds file's content); ``ca`` (a PEM bundle; otherwise the system trust store).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tentacular.errors import TriggerConfigError
from tentacular.spec._nats import NatsEndpoint, NatsUrlError
from tentacular.spec._nats import nats_endpoint as find_endpoint
from tentacular.spec._policy import HostGrant

if TYPE_CHECKING:
    from tentacular.spec import Workflow

NATS_SECRET = "nats"


@dataclass(frozen=True)
class NatsSettings:
    endpoint: NatsEndpoint
    auth: Mapping[str, Any] = field(default_factory=dict, repr=False)
    ca_pem: str | None = field(default=None, repr=False)

    def connect_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {"servers": [self.endpoint.url], **self.auth}
        if self.endpoint.tls:
            import ssl

            context = ssl.create_default_context(cadata=self.ca_pem) if self.ca_pem else None
            options["tls"] = context or ssl.create_default_context()
            options["tls_hostname"] = self.endpoint.host
        return options


def nats_endpoint(workflow: Workflow) -> NatsEndpoint:
    try:
        endpoint = find_endpoint(workflow)
    except NatsUrlError as exc:
        raise TriggerConfigError(exc.message, hint=exc.hint) from None
    if endpoint is None:
        raise TriggerConfigError(
            "NATS URL is required for queue triggers",
            hint="set config.nats_url in workflow.yaml, or declare a dependency with protocol: nats",
        )
    return endpoint


def auth_options(values: Mapping[str, Any]) -> dict[str, Any]:
    """nats-py connect options from the ``nats`` secret's keys."""
    auth: dict[str, Any] = {}
    if isinstance(values.get("token"), str):
        auth["token"] = values["token"]
    if isinstance(values.get("user"), str):
        auth["user"] = values["user"]
        auth["password"] = str(values.get("password", ""))
    if isinstance(values.get("nkey"), str):
        auth["nkeys_seed_str"] = values["nkey"]
    if isinstance(values.get("creds"), str):
        from nats.aio.client import RawCredentials

        auth["user_credentials"] = RawCredentials(values["creds"])
    return auth


def nats_settings(workflow: Workflow, secrets: Mapping[str, Mapping[str, Any]]) -> NatsSettings:
    values = secrets.get(NATS_SECRET) or {}
    ca = values.get("ca")
    return NatsSettings(nats_endpoint(workflow), auth_options(values), ca if isinstance(ca, str) else None)


def preload_signer(workflow: Workflow, secrets: Mapping[str, Mapping[str, Any]]) -> None:
    """Load the NKEY signer now if the ``nats`` secret needs it (``nkey`` or ``creds``); for a
    workflow that needs NATS (the guard checks ``needs_nats`` before it imports this module).

    nats-py imports ``nkeys`` (PyNaCl, native code through cffi) when it first connects,
    which is after the runtime guard is installed, and the guard refuses to load FFI
    for anyone. Loaded here, before the guard, like the engine's other own modules.
    """
    values = secrets.get(NATS_SECRET) or {}
    if isinstance(values.get("nkey"), str) or isinstance(values.get("creds"), str):
        import nkeys  # type: ignore[import-untyped]  # noqa: F401


def nats_grants(workflow: Workflow) -> list[HostGrant]:
    """What the runtime guard must let the engine itself reach: its NATS server (a workflow that
    needs NATS, as for ``preload_signer``)."""
    try:
        endpoint = nats_endpoint(workflow)
    except TriggerConfigError:
        return []  # start-up reports it
    return [HostGrant(endpoint.host, endpoint.port, "TCP", "the engine's NATS connection (queue triggers)")]
