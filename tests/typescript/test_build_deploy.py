"""Deploy path of a TypeScript workflow: pinned Deno, baked npm: imports, ConfigMap, restricted pod."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from tentacular.cli.main import main
from tests.conftest import EXAMPLES
from tests.deploy.test_build_cli import Fakes, _build_call

NPM_EXAMPLE = EXAMPLES / "uptime-report"


@pytest.fixture
def fakes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Fakes:
    return Fakes(tmp_path, monkeypatch)


def test_build_locks_and_bakes_npm_imports_with_a_pinned_deno(
    fakes: Fakes, tmp_path: Path, capsys: Any
) -> None:
    workflow = shutil.copytree(NPM_EXAMPLE, tmp_path / "uptime-report")
    (workflow / "deno.lock").unlink()  # tntc build writes it
    fakes.install("docker")
    assert main(["build", str(workflow)]) == 0
    _out, err = capsys.readouterr()
    [call] = fakes.calls()
    _context, argv = _build_call(call["argv"])
    assert argv[-2] == "tentacular-uptime-report:1.0"  # its own image: it carries Deno
    assert {"Dockerfile", "deno-requirements.txt", "workflow"} <= set(call["context"])
    lock = json.loads((workflow / "deno.lock").read_text())
    assert lock["npm"]["ms@2.1.3"]["integrity"].startswith("sha512-")
    assert "--lock=/app/workflow/deno.lock --frozen" in call["dockerfile"]
    assert "TENTACULAR_DENO_CACHED_ONLY=1" in call["dockerfile"]
    assert "Deno 2.9.8 for the TypeScript nodes, hash-checked" in err


def test_dry_run_ships_the_ts_files_in_the_configmap_and_a_restricted_pod(capsys: Any) -> None:
    from tests.deploy.pss import restricted_violations

    assert main(["deploy", str(NPM_EXAMPLE), "--dry-run"]) == 0
    out, _err = capsys.readouterr()
    objects = [doc for doc in yaml.safe_load_all(out) if doc]
    configmap = next(o for o in objects if o["kind"] == "ConfigMap")
    assert {"nodes__probe.ts", "nodes__describe.ts", "nodes__grade.py"} <= set(configmap["data"])
    assert 'import ms from "npm:ms@2.1.3";' in configmap["data"]["nodes__describe.ts"]
    deployment = next(o for o in objects if o["kind"] == "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    assert restricted_violations(pod) == []
    (container,) = pod["containers"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    items = {
        i["key"]: i["path"]
        for v in pod["volumes"]
        if "configMap" in v
        for i in v["configMap"].get("items", [])
    }
    assert items.get("nodes__probe.ts") == "nodes/probe.ts"  # relative imports keep working


def test_an_import_that_no_longer_matches_deno_lock_is_a_clear_load_error(tmp_path: Path) -> None:
    from tentacular.engine._runtime import load_nodes
    from tentacular.errors import NodeLoadError

    workflow = shutil.copytree(NPM_EXAMPLE, tmp_path / "uptime-report")
    node = workflow / "nodes" / "describe.ts"
    node.write_text(node.read_text().replace("npm:ms@2.1.3", "npm:ms@2.1.2"))
    with pytest.raises(NodeLoadError, match="The lockfile is out of date") as caught:
        load_nodes(workflow, {"describe": "nodes/describe.ts"})
    assert "tntc build re-locks it" in (caught.value.hint or "")
