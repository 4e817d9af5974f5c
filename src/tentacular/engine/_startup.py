"""Engine start-up in a fixed order (F-066, D4, D5), shared by the server and `tntc run --local`.

1. read and validate workflow.yaml, compile the DAG;
2. resolve secrets through the cascade;
3. build the shared services (redacting log sink, the one HTTP client) and, for the
   server, bind the listening socket;
4. **install the runtime permission guard** — the single place for it: everything the
   engine itself needs is open, and no node code has been imported yet;
5. import the node modules.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from tentacular.engine._context import EngineServices, SharedHttpClient
from tentacular.engine._core import Revision, WorkflowEngine, build_revision, compile_dag
from tentacular.engine._executor import Sleep
from tentacular.engine._logs import LogSink
from tentacular.engine._secret_providers import SecretResolver
from tentacular.engine._secret_sources import resolve_references
from tentacular.engine._secrets import CLUSTER_SECRETS_DIR, Secrets, resolve_secrets
from tentacular.engine._telemetry import Observability
from tentacular.errors import SpecError, TentacularError
from tentacular.spec import Dag, LoadedWorkflow, load_deployed


class PreparedEngine:
    """State after steps 1-3: what a runtime guard needs to derive its allow-lists.

    Not a dataclass: a pod's start defines none (tests/engine/test_startup_imports.py).
    """

    __slots__ = ("dag", "listener", "loaded", "secrets", "services")

    def __init__(
        self,
        loaded: LoadedWorkflow,
        dag: Dag,
        secrets: Secrets,
        services: EngineServices,
        listener: socket.socket | None,
    ) -> None:
        self.loaded = loaded
        self.dag = dag
        self.secrets = secrets
        self.services = services
        self.listener = listener

    @property
    def workflow_dir(self) -> Path:
        return self.loaded.directory


GuardInstaller = Callable[[PreparedEngine], None]


def prepare(
    workflow: str | Path,
    *,
    secrets_path: Path | None = None,
    cluster_secrets: Path | None = CLUSTER_SECRETS_DIR,
    listen: tuple[str, int] | None = None,
    log: LogSink | None = None,
    log_stream: TextIO | None = None,
    secret_resolver: SecretResolver | None = None,
    telemetry: Observability | None = None,
    reuse_port: bool = False,
    deployed: bool = False,
) -> PreparedEngine:
    """Steps 1-3; with ``reuse_port`` the socket is bound for ``--workers`` (see ``bind_listener``).

    ``deployed`` (the engine's server): read the workflow from the compiled form ``tntc deploy``
    ships beside workflow.yaml when it matches (``spec.load_deployed``); otherwise validate.
    """
    if deployed:
        loaded = load_deployed(workflow)
    else:
        from tentacular.spec import load_workflow

        loaded = load_workflow(workflow)
    try:
        dag = compile_dag(loaded.workflow)
    except ValueError as exc:  # validation already rejects cycles; this is a second line
        raise SpecError(f"cannot compile {loaded.file}: {exc}", []) from None
    secrets = resolve_secrets(loaded.directory, secrets_path, cluster_dir=cluster_secrets)
    # secret:// references are fetched now, in memory, before any node code exists (K-S1).
    secrets = dict(resolve_references(secrets, loaded.directory, secret_resolver))
    sink = log if log is not None else LogSink(stream=log_stream)
    # Before the guard: the exporters' threads and imports start here (OTEL_* survive the scrub).
    observability = telemetry if telemetry is not None else Observability.create(loaded.workflow)
    sink.bind(
        workflow=loaded.workflow.name, trace_ids=observability.current_ids if observability.tracing else None
    )
    if loaded.source == "compiled":
        sink.engine("info", "Workflow loaded from its compiled form (validated by tntc deploy)")
    elif loaded.compiled_skipped:
        sink.engine("warning", f"{loaded.compiled_skipped}; validated workflow.yaml instead")
    services = EngineServices(
        config=loaded.workflow.config.as_mapping(),
        secrets=secrets,
        contract=loaded.workflow.contract,
        log=sink,
        http=SharedHttpClient(timeout=loaded.workflow.config.timeout_seconds),
        telemetry=observability,
    )
    if loaded.workflow.contract is not None and loaded.workflow.contract.dependencies:
        # Import httpx and build the client now: on a first fetch the import (~0.2-0.5 s without
        # bytecode caches) would hold the event loop inside the node and trip the loop watchdog.
        services.http.warm()
    listener = (
        bind_listener(*listen, reuse_port=reuse_port, listen=not reuse_port) if listen is not None else None
    )
    return PreparedEngine(loaded, dag, secrets, services, listener)


def bind_listener(host: str, port: int, *, reuse_port: bool = False, listen: bool = True) -> socket.socket:
    """The engine's listening socket.

    ``--workers N`` binds with ``SO_REUSEPORT``: the parent binds without listening (it
    holds the port and learns it when 0 was asked), each worker binds its own listening
    socket to the same port and the kernel spreads new connections evenly over them
    (one shared accept queue let one worker take most connections).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on accepted sockets that say TCP,
    # and without it every keep-alive response waits ~40 ms for a delayed ACK (Nagle).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        in_use = exc.errno == errno.EADDRINUSE
        raise TentacularError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}",
            hint=f"another process holds port {port}; pick another with -p, e.g. -p {port + 1}"
            if in_use
            else None,
        ) from None
    if listen:
        sock.listen(2048)
    sock.setblocking(False)
    return sock


def worker_listener(shared: socket.socket) -> socket.socket:
    """A worker's own ``SO_REUSEPORT`` listener on the address the parent bound (``--workers N``)."""
    host, port = shared.getsockname()[:2]
    own = bind_listener(str(host), int(port), reuse_port=True)
    shared.close()  # this process's copy of the parent's socket; the parent keeps the port
    return own


def load(prepared: PreparedEngine, *, sleep: Sleep | None = None) -> WorkflowEngine:
    revision: Revision = build_revision(prepared.loaded, prepared.dag, prepared.services)
    return WorkflowEngine(revision, sleep=sleep) if sleep is not None else WorkflowEngine(revision)


def boot(
    workflow: str | Path,
    *,
    secrets_path: Path | None = None,
    cluster_secrets: Path | None = CLUSTER_SECRETS_DIR,
    listen: tuple[str, int] | None = None,
    log: LogSink | None = None,
    install_guard: GuardInstaller | None = None,
    sleep: Sleep | None = None,
    secret_resolver: SecretResolver | None = None,
    telemetry: Observability | None = None,
    deployed: bool = False,
) -> tuple[WorkflowEngine, PreparedEngine]:
    """Steps 1-5. ``install_guard`` is where the D4 runtime permission guard plugs in."""
    prepared = prepare(
        workflow,
        secrets_path=secrets_path,
        cluster_secrets=cluster_secrets,
        listen=listen,
        log=log,
        secret_resolver=secret_resolver,
        telemetry=telemetry,
        deployed=deployed,
    )
    return complete_boot(prepared, install_guard=install_guard, sleep=sleep), prepared


def complete_boot(
    prepared: PreparedEngine, *, install_guard: GuardInstaller | None = None, sleep: Sleep | None = None
) -> WorkflowEngine:
    """Steps 4-5 (separate so ``--workers`` can fork between step 3 and the guard, which forbids fork)."""
    try:
        if install_guard is not None:
            install_guard(prepared)  # step 4: before any node module is imported
        return load(prepared, sleep=sleep)
    except BaseException:
        if prepared.listener is not None:
            prepared.listener.close()
        raise
