"""``tntc build``: render the image build context, run docker/podman, load into kind, push.

Every check that can fail without a container tool (image reference, ``--push``
without a registry, requirements hashes, tool on PATH) runs before the first
command (Q30). The build context is a temporary directory holding only the
Dockerfile, the engine wheel and the workflow's lock file – workflow code is not
part of the image – and it is removed whatever happens.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tentacular.deploy._dockerfile import LOCKFILE_NAME, DockerfileOptions, render_dockerfile
from tentacular.deploy._imageref import ImageRef, resolve_image_tag
from tentacular.deploy._kind import KindCluster, detect_kind
from tentacular.deploy._requirements import PinnedRequirement, render_lockfile, workflow_requirements
from tentacular.deploy._settings import default_engine_image
from tentacular.deploy._typescript import (
    DENO_REQUIREMENTS,
    DENO_VERSION,
    LOCK_FILE,
    deno_requirements,
    has_remote_imports,
    has_typescript,
    lock_dependencies,
)
from tentacular.deploy._wheel import build_engine_wheel, engine_version
from tentacular.errors import BuildError, ToolNotFoundError, UsageError
from tentacular.spec import LoadedWorkflow

CONTAINER_TOOLS = ("docker", "podman")
TOOL_ENV = "TNTC_CONTAINER_TOOL"
BASE_IMAGE_FILE = Path(".tentacular") / "base-image.txt"
_PLATFORM = re.compile(r"^[a-z0-9]+/[a-z0-9_]+(?:/[a-z0-9]+)?(?:,[a-z0-9]+/[a-z0-9_]+(?:/[a-z0-9]+)?)*$")

Progress = Callable[[str], None]


@dataclass(frozen=True)
class BuildRequest:
    loaded: LoadedWorkflow
    tag: str | None = None
    registry: str | None = None
    push: bool = False
    platform: str | None = None
    kubeconfig: str | None = None
    kube_context: str | None = None


@dataclass
class BuildOutcome:
    image: str
    tool: str
    requirements: int
    pushed: bool = False
    kind_cluster: str | None = None
    kind_loaded: bool = False
    base_image_file: str = ""
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {
            "image": self.image,
            "tool": self.tool,
            "requirements": self.requirements,
            "pushed": self.pushed,
            "kindCluster": self.kind_cluster,
            "kindLoaded": self.kind_loaded,
            "baseImageFile": self.base_image_file,
            "warnings": self.warnings,
        }


def default_tag(loaded: LoadedWorkflow, has_requirements: bool) -> str:
    """Engine-only images are named after the engine version; workflow images after the workflow."""
    if has_requirements:
        return f"tentacular-{loaded.workflow.name}:{loaded.workflow.version}"
    return default_engine_image()


def stage_typescript_context(loaded: LoadedWorkflow, context: Path, lock: Path) -> None:
    """The nodes, deno.lock and the ``tentacular`` import map for the image's ``deno cache``."""
    from tentacular.engine._deno.runtime import ASSETS

    target = context / "workflow"
    shutil.copytree(loaded.directory / "nodes", target / "nodes")
    shutil.copy2(lock, target / LOCK_FILE)
    (target / ".deno").mkdir()
    for name in ("import_map.json", "tentacular.ts"):
        shutil.copy2(ASSETS / name, target / ".deno" / name)


def find_container_tool(environ: Mapping[str, str] | None = None) -> str:
    """``$TNTC_CONTAINER_TOOL`` if set, else docker, else podman – as an absolute path."""
    env = os.environ if environ is None else environ
    wanted = env.get(TOOL_ENV)
    candidates = (wanted,) if wanted else CONTAINER_TOOLS
    for name in candidates:
        found = shutil.which(name, path=env.get("PATH"))
        if found:
            return found
    raise ToolNotFoundError(
        f"{wanted} not found on PATH" if wanted else "neither docker nor podman was found on PATH",
        hint="install Docker or Podman (or set TNTC_CONTAINER_TOOL to the one you have)",
    )


def plan_image(request: BuildRequest) -> tuple[str, list[PinnedRequirement]]:
    """Validate everything that needs no container tool; return the final tag and the packages."""
    tag_has_registry = request.tag is not None and ImageRef.parse(request.tag).registry is not None
    if request.push and not request.registry and not tag_has_registry:
        raise UsageError(
            "--push requires --registry (-r) to be set",
            hint="e.g. tntc build --push -r registry.example.com:5000",
        )
    if request.platform is not None and not _PLATFORM.match(request.platform):
        raise UsageError(f'invalid --platform "{request.platform}"', hint="e.g. linux/amd64 or linux/arm64")
    requirements = workflow_requirements(request.loaded)
    # TypeScript workflows get their own image: it carries Deno (and the baked npm:/jsr: cache).
    own_image = bool(requirements) or has_typescript(request.loaded)
    tag = request.tag or default_tag(request.loaded, own_image)
    return resolve_image_tag(tag, request.registry), requirements


def build_image(
    request: BuildRequest,
    progress: Progress,
    *,
    environ: Mapping[str, str] | None = None,
) -> BuildOutcome:
    image, requirements = plan_image(request)
    tool = find_container_tool(environ)
    tool_name = Path(tool).name
    outcome = BuildOutcome(image=image, tool=tool_name, requirements=len(requirements))
    with tempfile.TemporaryDirectory(prefix="tntc-build-") as scratch:
        context = Path(scratch)
        wheel = build_engine_wheel(context)
        typescript = has_typescript(request.loaded)
        deno_cache = typescript and has_remote_imports(request.loaded)
        if deno_cache:
            progress("  resolving the TypeScript nodes' npm:/jsr: imports into deno.lock...")
            stage_typescript_context(request.loaded, context, lock_dependencies(request.loaded))
        if typescript:
            (context / DENO_REQUIREMENTS).write_text(deno_requirements(), encoding="utf-8")
            progress(f"  Deno {DENO_VERSION} for the TypeScript nodes, hash-checked")
        options = DockerfileOptions(
            engine_version=engine_version(),
            wheel_name=wheel.name,
            workflow_name=request.loaded.workflow.name,
            has_requirements=bool(requirements),
            typescript=typescript,
            deno_cache=deno_cache,
        )
        (context / "Dockerfile").write_text(render_dockerfile(options), encoding="utf-8")
        if requirements:
            (context / LOCKFILE_NAME).write_text(render_lockfile(requirements), encoding="utf-8")
            progress(f"  {len(requirements)} workflow package(s), hash-checked")
        command = [tool, "build", "-f", str(context / "Dockerfile"), "-t", image]
        if request.platform:
            command += ["--platform", request.platform]
        command.append(str(context))
        progress(f"Building image {image} with {tool_name}...")
        _run(command, progress, environ, failure=f"{tool_name} build failed")
        progress(f"✓ Built image: {image}")

        if request.push:
            _run([tool, "push", image], progress, environ, failure=f"{tool_name} push of {image} failed")
            outcome.pushed = True
            progress(f"✓ Pushed image: {image}")
        else:
            cluster = detect_kind(request.kubeconfig, request.kube_context, environ)
            if cluster is not None:
                outcome.kind_cluster = cluster.name
                outcome.kind_loaded = _kind_load(tool, image, cluster, context, progress, environ, outcome)

    base_image_file = request.loaded.directory / BASE_IMAGE_FILE
    base_image_file.parent.mkdir(parents=True, exist_ok=True)
    base_image_file.write_text(image + "\n", encoding="utf-8")
    outcome.base_image_file = str(base_image_file)
    return outcome


def _kind_load(
    tool: str,
    image: str,
    cluster: KindCluster,
    context: Path,
    progress: Progress,
    environ: Mapping[str, str] | None,
    outcome: BuildOutcome,
) -> bool:
    """Load the image into kind; failing here only warns, the image itself was built."""
    env = os.environ if environ is None else environ
    kind = shutil.which("kind", path=env.get("PATH"))
    if kind is None:
        outcome.warnings.append(f"kind cluster '{cluster.name}' detected but the kind CLI is not on PATH")
        progress(f"⚠ {outcome.warnings[-1]}")
        return False
    progress(f"Loading {image} into kind cluster '{cluster.name}'...")
    try:
        if Path(tool).name == "podman":
            # kind reads images from docker's store; podman hands it an archive instead.
            archive = context / "image.tar"
            _run([tool, "save", "-o", str(archive), image], progress, environ, failure="podman save failed")
            _run(
                [kind, "load", "image-archive", str(archive), "--name", cluster.name],
                progress,
                environ,
                failure="kind load failed",
            )
        else:
            _run(
                [kind, "load", "docker-image", image, "--name", cluster.name],
                progress,
                environ,
                failure="kind load failed",
            )
    except BuildError as exc:
        outcome.warnings.append(f"{exc.message}; load it yourself: kind load docker-image {image}")
        progress(f"⚠ {outcome.warnings[-1]}")
        return False
    progress(f"✓ Loaded into kind cluster '{cluster.name}'")
    return True


def _run(
    command: Sequence[str], progress: Progress, environ: Mapping[str, str] | None, *, failure: str
) -> None:
    """Run a tool, streaming its output as progress (stdout stays free for -o json)."""
    try:
        process = subprocess.Popen(
            list(command),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=None if environ is None else dict(environ),
            text=True,
            errors="replace",
        )
    except OSError as exc:
        raise BuildError(f"{failure}: cannot run {command[0]}: {exc.strerror}") from None
    assert process.stdout is not None
    tail: list[str] = []
    for line in process.stdout:
        line = line.rstrip("\n")
        progress(f"    {line}")
        tail = [*tail[-19:], line]
    code = process.wait()
    if code != 0:
        raise BuildError(
            f"{failure} (exit {code})",
            hint="see the tool output above",
            command=list(command),
            output_tail=tail,
        )
