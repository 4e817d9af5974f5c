"""Golden files: the full object list of each example, as ``tntc deploy --dry-run`` prints it.

Regenerate after an intended change with ``TNTC_UPDATE_GOLDEN=1 pytest tests/deploy/test_golden.py``
and review the diff like any other code change. The image is the one a real deploy uses by
default (``tentacular-engine:<tntc version>``, what ``tntc build`` tags); the version is written
as ``<version>`` so a release does not rewrite every golden file.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tentacular.deploy._manifests import ManifestOptions, build_manifests
from tentacular.deploy._render import mask_secrets, to_yaml
from tentacular.deploy._settings import default_engine_image
from tentacular.spec import LoadedWorkflow
from tests.deploy.conftest import EXAMPLE_NAMES, FULL_SECRETS, example_objects

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("TNTC_UPDATE_GOLDEN") == "1"


def _compare(name: str, rendered: str) -> None:
    default_image = default_engine_image()
    assert f"image: {default_image}\n" in rendered, "the goldens show the image a real deploy uses"
    rendered = rendered.replace(default_image, default_image.rpartition(":")[0] + ":<version>")
    path = GOLDEN / f"{name}.yaml"
    if UPDATE:
        path.write_text(rendered, encoding="utf-8")
        return
    if not path.exists():
        pytest.fail(f"{path} is missing; create it with TNTC_UPDATE_GOLDEN=1")
    expected = path.read_text(encoding="utf-8")
    assert rendered == expected, (
        f"{name} differs from {path}; if intended, regenerate with TNTC_UPDATE_GOLDEN=1"
    )


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_example(name: str) -> None:
    _compare(name, to_yaml(mask_secrets(example_objects(name))))


def test_full_featured_workflow(full_workflow: LoadedWorkflow) -> None:
    options = ManifestOptions(
        namespace="sink", secrets=FULL_SECRETS, git_sha="0" * 40, deployed_by="ci", source_path="flows/sink"
    )
    _compare("kitchen-sink", to_yaml(mask_secrets(build_manifests(full_workflow, options))))


def test_no_unexpected_golden_files() -> None:
    expected = {f"{name}.yaml" for name in [*EXAMPLE_NAMES, "kitchen-sink"]}
    assert {p.name for p in GOLDEN.glob("*.yaml")} == expected
