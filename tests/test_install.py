"""`pip install .` installs the runtime only, and that runtime runs a workflow (Build 7).

A fresh virtualenv, the package built from a copy of this checkout (so the tree gets no build
output), pip's usual cache: then `tntc run --local example-workflows/word-counter` must work
and no development tool may have come along.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import EXAMPLES, REPO_ROOT

DEV_ONLY = ("pytest", "ruff", "mypy", "importlinter", "hypothesis", "moto", "kubernetes_validate")


def test_pip_install_dot_is_enough_to_run_a_workflow(tmp_path: Path) -> None:
    source = tmp_path / "src-copy"
    source.mkdir()
    shutil.copy(REPO_ROOT / "pyproject.toml", source)
    shutil.copy(REPO_ROOT / "README.md", source)
    shutil.copytree(
        REPO_ROOT / "src", source / "src", ignore=shutil.ignore_patterns("*.egg-info", "__pycache__")
    )
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(source)],
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
    )
    assert install.returncode == 0, install.stderr[-3000:]

    run = subprocess.run(
        [
            str(venv / "bin" / "tntc"),
            "run",
            "--local",
            str(EXAMPLES / "word-counter"),
            "--input",
            '{"text": "the cat and the hat"}',
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr
    document = json.loads(run.stdout)
    assert document["status"] == "pass"
    assert document["execution"]["outputs"]["measure"]["total"] == 5

    probe = f"import importlib.util as u; print([m for m in {DEV_ONLY!r} if u.find_spec(m)])"
    present = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, check=True, env=env)
    assert present.stdout.strip() == "[]", f"dev tools installed by pip install .: {present.stdout}"
