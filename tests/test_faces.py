"""The layer faces: every advertised name resolves, and a face costs nothing until it is used."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

FACES = (
    "tentacular.spec",
    "tentacular.engine",
    "tentacular.testing",
    "tentacular.deploy",
    "tentacular.agent",
)


@pytest.mark.parametrize("face", FACES)
def test_every_exported_name_resolves(face: str) -> None:
    module = importlib.import_module(face)
    missing = [name for name in module.__all__ if getattr(module, name, None) is None]
    assert missing == []
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = module.nope


@pytest.mark.parametrize("face", ["tentacular.engine", "tentacular.testing", "tentacular.deploy"])
def test_importing_a_face_loads_no_private_module(face: str) -> None:
    probe = f"import sys, {face}\nprint(sorted(m for m in sys.modules if m.startswith('{face}.')))\n"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
