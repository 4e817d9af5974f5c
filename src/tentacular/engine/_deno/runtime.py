"""The node runtime for ``nodes/*.ts`` (D2): TypeScript nodes in one long-lived Deno worker.

``prepare()`` derives the worker's command line from the workflow's contract (Deno's
permission flags, the ``tentacular`` import map, the lock file); the first ``load()``
starts the worker, and every node is imported there once so a syntax error or a
missing default export fails the load with the node's file and line, like a Python
node. Each reload (``tntc dev``) starts a fresh worker for the new revision; the old
one finishes its in-flight runs and exits. A worker that dies is restarted on the
next run.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tentacular.defaults import WORKFLOW_FILE
from tentacular.engine._deno.client import DenoClient
from tentacular.engine._deno.launcher import current_launcher
from tentacular.engine._deno.process import WorkerGone
from tentacular.engine._secrets import CLUSTER_SECRETS_DIR
from tentacular.errors import NodeLoadError, TentacularError
from tentacular.spec import RuntimePolicy, deno_permission_flags, load_deployed, runtime_policy

ASSETS = Path(__file__).resolve().parent
WORKER_SCRIPT = ASSETS / "worker.ts"
IMPORT_MAP = ASSETS / "import_map.json"
LEGACY_WARNING = (
    "no contract in workflow.yaml: TypeScript nodes may reach any host (legacy mode) — add a contract "
    "with dependencies to restrict egress"
)
NodeFunction = Callable[[Any, Any], Any]


def find_deno() -> str | None:
    """``TENTACULAR_DENO``, else the binary of the ``deno`` PyPI package, else ``deno`` on PATH."""
    configured = os.environ.get("TENTACULAR_DENO")
    if configured:
        return configured
    with contextlib.suppress(ImportError, FileNotFoundError):
        from deno import find_deno_bin  # type: ignore[import-untyped,import-not-found,unused-ignore]

        return str(find_deno_bin())
    return shutil.which("deno")


def deno_dir() -> Path:
    """Deno's module cache: ``TENTACULAR_DENO_DIR``/``DENO_DIR``, else Deno's default location.

    Resolved once (the guard scrubs ``DENO_DIR`` from the environment later) and passed
    to every worker explicitly, so the kernel layer can grant exactly this directory.
    """
    global _DENO_DIR
    if _DENO_DIR is None:
        configured = os.environ.get("TENTACULAR_DENO_DIR") or os.environ.get("DENO_DIR")
        if configured:
            _DENO_DIR = Path(configured)
        else:
            cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
            _DENO_DIR = Path(cache) / "deno"
    return _DENO_DIR


_DENO_DIR: Path | None = None


def worker_landlock_paths() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Extra (read, write) paths of Deno workers under the kernel layer: /proc and the cache."""
    directory = deno_dir()
    with contextlib.suppress(OSError):
        directory.mkdir(parents=True, exist_ok=True)
    writable = os.access(directory, os.W_OK)
    deno = find_deno()
    binary = (str(Path(deno).resolve().parent),) if deno else ()  # e.g. /opt/deno/bin in the image
    read = ("/proc", str(ASSETS), *binary, *(() if writable else (str(directory),)))
    return read, ((str(directory),) if writable else ())


def worker_env(policy: RuntimePolicy) -> dict[str, str]:
    keep = frozenset(policy.env_allow)
    starts = tuple(policy.env_prefixes)
    env = {k: v for k, v in os.environ.items() if k in keep or k.startswith(starts)}
    env["DENO_DIR"] = str(deno_dir())
    env.update(NO_COLOR="1", DENO_NO_UPDATE_CHECK="1", DENO_NO_PROMPT="1")
    return env


def worker_argv(deno: str, workflow_dir: Path, policy: RuntimePolicy) -> list[str]:
    lock = workflow_dir / "deno.lock"
    argv = [deno, "run", "--no-config", f"--import-map={IMPORT_MAP}"]
    argv += [f"--lock={lock}", "--frozen"] if lock.is_file() else ["--no-lock"]
    if os.environ.get("TENTACULAR_DENO_CACHED_ONLY") == "1":
        argv.append("--cached-only")  # pods: dependencies were baked at build time
    argv += deno_permission_flags(policy, extra_read=(str(ASSETS),))
    argv += [str(WORKER_SCRIPT), str(workflow_dir / "nodes")]
    return argv


def policy_for(workflow_dir: Path) -> RuntimePolicy:
    workflow = load_deployed(workflow_dir / WORKFLOW_FILE).workflow
    return runtime_policy(workflow, workflow_dir=str(workflow_dir), secrets_dirs=(str(CLUSTER_SECRETS_DIR),))


class Generation:
    """The worker of one loaded revision; restarted when it dies."""

    def __init__(self, argv: list[str], env: dict[str, str], workflow_dir: Path, legacy: bool) -> None:
        self.argv = argv
        self.env = env
        self.workflow_dir = workflow_dir
        self.legacy = legacy
        self.client: DenoClient | None = None
        self.retired = False
        self.sink: Any = None
        self.starts = 0
        self._starting: asyncio.Future[DenoClient] | None = None

    def _new_client(self) -> DenoClient:
        return DenoClient(
            self.argv,
            env=self.env,
            cwd=str(self.workflow_dir),
            launcher=current_launcher(),
            engine_log=self._engine_log,
            workflow_dir=str(self.workflow_dir),
        )

    def _engine_log(self, level: str, message: str) -> None:
        sink = self.sink
        if sink is not None:
            sink.engine(level, message)

    def client_sync(self) -> DenoClient:
        client = self.client
        if client is None or not client.alive:
            client = self._new_client()
            try:
                client.start()
            except TentacularError:
                raise
            except PermissionError as exc:
                raise TentacularError(
                    f"cannot start the Deno worker: {exc}",
                    hint="the sandboxed engine starts programs only through the spawner it forks at "
                    "start-up when the workflow has TypeScript nodes: restart tntc dev after adding "
                    "the first .ts node",
                ) from None
            except Exception as exc:
                raise TentacularError(f"cannot start the Deno worker: {exc}") from None
            self.client = client
            self.starts += 1
        return client

    async def client_async(self) -> DenoClient:
        client = self.client
        if client is not None and client.alive:
            return client
        if self._starting is None or self._starting.done():
            loop = asyncio.get_running_loop()
            self._starting = loop.create_future()
            try:
                started = await asyncio.to_thread(self.client_sync)
            except BaseException as exc:
                self._starting.set_exception(exc)
                self._starting.exception()  # retrieved: the caller raises it
                raise
            self._starting.set_result(started)
            self._engine_log("info", f"Deno worker started (pid {started.pid})")
            return started
        return await self._starting

    def retire(self) -> None:
        self.retired = True
        client = self.client
        if client is not None and not client.busy:
            client.close()

    def after_run(self, client: DenoClient) -> None:
        if self.retired and not client.busy:
            client.close()


class DenoRuntime:
    """``nodes/<id>.ts`` with ``export default async function run(ctx, input)``."""

    name = "deno"

    def __init__(self) -> None:
        self._generation: Generation | None = None
        self._generations: list[Generation] = []

    def serving(self, generation: Generation) -> None:
        """``generation`` runs now: workers of older revisions finish their runs and exit."""
        if not self._generations or self._generations[0] is generation or generation not in self._generations:
            return
        while self._generations and self._generations[0] is not generation:
            self._generations.pop(0).retire()

    @property
    def generation(self) -> Generation | None:
        return self._generation

    def prepare(self, nodes_dir: Path) -> None:
        workflow_dir = nodes_dir.parent
        deno = find_deno()
        if deno is None:
            raise NodeLoadError(
                "TypeScript nodes need Deno, and no deno binary was found",
                hint="pip install 'tentacular[typescript]' (the deno package), or set TENTACULAR_DENO",
            )
        policy = policy_for(workflow_dir)
        # The previous worker keeps serving until the new revision runs: a reload that fails
        # to load leaves the old revision (and its worker) in place.
        self._generation = Generation(
            worker_argv(deno, workflow_dir, policy),
            worker_env(policy),
            workflow_dir,
            legacy=not policy.network_restricted,
        )
        self._generations.append(self._generation)
        while len(self._generations) > 2:  # the serving revision and the new one, no more
            self._generations.pop(0).retire()

    def load(self, node_id: str, path: Path, nodes_dir: Path) -> NodeFunction:
        generation = self._generation
        if generation is None or generation.workflow_dir != nodes_dir.parent:
            self.prepare(nodes_dir)
            generation = self._generation
        assert generation is not None
        try:
            frame = generation.client_sync().load(str(path))
        except TentacularError as exc:
            raise NodeLoadError(f'node "{node_id}": {exc.message}', hint=exc.hint, file=str(path)) from None
        except WorkerGone as exc:
            raise NodeLoadError(
                f'node "{node_id}": importing {_relative(path, nodes_dir)} failed: {exc}',
                hint="top-level code of a node must finish quickly; do the work inside run()",
                file=str(path),
            ) from None
        if frame.get("t") == "fail":
            raise load_error(node_id, path, nodes_dir, frame)
        return node_function(self, generation, node_id, str(path))

    def close(self) -> None:
        for generation in self._generations:
            generation.retire()
        self._generations.clear()
        self._generation = None


def node_function(runtime: DenoRuntime, generation: Generation, node_id: str, file: str) -> NodeFunction:
    async def run(ctx: Any, value: Any) -> Any:
        runtime.serving(generation)
        services = getattr(ctx, "_services", None)
        if services is not None:
            if generation.sink is None and generation.legacy:
                services.log.engine("warning", LEGACY_WARNING)
            generation.sink = services.log
        client = generation.client
        if client is None or not client.alive:
            client = await generation.client_async()
        try:
            return await client.run(ctx, node_id, file, value)
        finally:
            generation.after_run(client)

    return run


def load_error(node_id: str, path: Path, nodes_dir: Path, frame: dict[str, Any]) -> NodeLoadError:
    shown = _relative(path, nodes_dir)
    name = str(frame.get("name") or "Error")
    message = str(frame.get("message") or "")
    where = frame.get("where") or shown
    line = _line(where)
    if name == "NodeLoadError":
        return NodeLoadError(
            f'node "{node_id}": {message}',
            hint="add: export default async function run(ctx, input) { ... }",
            file=str(path),
        )
    if "SyntaxError" in message:
        detail = message.split("SyntaxError:", 1)[1].strip().splitlines()[0]
        return NodeLoadError(
            f'node "{node_id}": syntax error at {where}: {detail}',
            hint="fix the file; with tntc dev the previous version keeps serving meanwhile",
            file=str(path),
            line=line,
        )
    first = message.strip().splitlines()[0] if message.strip() else name
    hint = None
    if "lockfile is out of date" in message:
        hint = "an import changed since deno.lock was written: tntc build re-locks it (or delete deno.lock)"
    elif "npm:" in message or "jsr:" in message or "cache" in message.lower():
        hint = "npm:/jsr: imports are cached by tntc build (and on first use by tntc dev)"
    return NodeLoadError(
        f'node "{node_id}": importing {shown} failed at {where}: {name}: {first}',
        hint=hint,
        file=str(path),
        line=line,
    )


def _line(where: Any) -> int | None:
    text = str(where or "")
    tail = text.rpartition(":")[2]
    return int(tail) if tail.isdigit() else None


def _relative(path: Path, nodes_dir: Path) -> str:
    try:
        return str(path.resolve().relative_to(nodes_dir.parent))
    except ValueError:
        return str(path)
