"""``tntc build`` against a fake docker/podman/kind that record how they were called."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import tentacular
from tentacular.cli.main import main
from tests.conftest import EXAMPLES
from tests.deploy.conftest import write_tree

VERSION = str(tentacular.__version__)
FAKE_TOOL = f"""#!{sys.executable}
import json, os, sys
name = os.path.basename(sys.argv[0])
entry = {{"argv": [name, *sys.argv[1:]]}}
if name in ("docker", "podman") and sys.argv[1:2] == ["build"]:
    context = sys.argv[-1]
    entry["context"] = sorted(os.listdir(context))
    entry["dockerfile"] = open(os.path.join(context, "Dockerfile")).read()
    lock = os.path.join(context, "requirements.lock")
    if os.path.exists(lock):
        entry["lock"] = open(lock).read()
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(json.dumps(entry) + "\\n")
print(f"{{name}}: step 1/1 done")
sys.exit(1 if os.environ.get("FAKE_FAIL") in (name, f"{{name}} {{sys.argv[1]}}") else 0)
"""
KIND_KUBECONFIG = {
    "apiVersion": "v1",
    "kind": "Config",
    "current-context": "kind-dev",
    "contexts": [{"name": "kind-dev", "context": {"cluster": "kind-dev", "user": "u"}}],
    "clusters": [{"name": "kind-dev", "cluster": {"server": "https://127.0.0.1:40123"}}],
}


class Fakes:
    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.bin = root / "bin"
        self.bin.mkdir()
        self.log = root / "calls.jsonl"
        self.monkeypatch = monkeypatch
        monkeypatch.setenv("PATH", str(self.bin))
        monkeypatch.setenv("FAKE_LOG", str(self.log))
        monkeypatch.setenv("KUBECONFIG", str(root / "no-kubeconfig"))
        monkeypatch.setenv("TENTACULAR_HOME", str(root / "home"))
        monkeypatch.delenv("TNTC_CONTAINER_TOOL", raising=False)
        monkeypatch.delenv("TENTACULAR_ENV", raising=False)
        monkeypatch.chdir(root)

    def install(self, *names: str) -> None:
        for name in names:
            path = self.bin / name
            path.write_text(FAKE_TOOL)
            path.chmod(0o755)

    def kind_cluster(self) -> None:
        import yaml

        config = self.bin.parent / "kubeconfig"
        config.write_text(yaml.safe_dump(KIND_KUBECONFIG))
        self.monkeypatch.setenv("KUBECONFIG", str(config))

    def calls(self) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def argv(self) -> list[list[str]]:
        return [call["argv"] for call in self.calls()]


@pytest.fixture
def fakes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Fakes:
    return Fakes(tmp_path, monkeypatch)


@pytest.fixture
def workflow(tmp_path: Path) -> Path:
    source = EXAMPLES / "word-counter"
    files = {str(p.relative_to(source)): p.read_bytes() for p in source.rglob("*") if p.is_file()}
    return write_tree(tmp_path / "word-counter", (source / "workflow.yaml").read_text(), files)


def _build_call(argv: list[str]) -> tuple[str, list[str]]:
    """(context directory, argv with the temporary context replaced by <ctx>)."""
    context = argv[-1]
    return context, [a.replace(context, "<ctx>") for a in argv]


def test_no_container_tool_is_a_clear_failure(fakes: Fakes, workflow: Path, capsys: Any) -> None:
    code = main(["build", str(workflow)])
    err = capsys.readouterr().err
    assert code == 1
    assert "neither docker nor podman was found on PATH" in err
    assert "Traceback" not in err
    assert not (workflow / ".tentacular" / "base-image.txt").exists()


def test_no_container_tool_json(fakes: Fakes, workflow: Path, capsys: Any) -> None:
    assert main(["build", str(workflow), "-o", "json"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert document["status"] == "fail"
    assert document["error"]["code"] == "tool_not_found"


def test_installed_tntc_without_container_tool(tmp_path: Path) -> None:
    tntc = Path(sys.executable).parent / "tntc"
    env = {**os.environ, "PATH": str(tmp_path), "TENTACULAR_HOME": str(tmp_path / "home")}
    env.pop("TNTC_CONTAINER_TOOL", None)
    result = subprocess.run(
        [str(tntc), "build", str(EXAMPLES / "word-counter")],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 1
    assert "neither docker nor podman was found on PATH" in result.stderr
    assert result.stdout == ""


def test_build_with_docker(fakes: Fakes, workflow: Path, capsys: Any) -> None:
    fakes.install("docker", "podman")
    assert main(["build", str(workflow)]) == 0
    out, err = capsys.readouterr()
    [call] = fakes.calls()
    context, argv = _build_call(call["argv"])
    tag = f"tentacular-engine:{VERSION}"
    assert argv == ["docker", "build", "-f", "<ctx>/Dockerfile", "-t", tag, "<ctx>"]
    assert call["context"] == ["Dockerfile", f"tentacular-{VERSION}-py3-none-any.whl"]
    assert "USER 65534:65534" in call["dockerfile"]
    assert not Path(context).exists(), "temporary build context left behind"
    assert (workflow / ".tentacular" / "base-image.txt").read_text() == f"{tag}\n"
    assert "docker: step 1/1 done" in err  # tool output is progress, on stderr
    assert out.splitlines()[0] == tag


def test_registry_push_and_platform(fakes: Fakes, workflow: Path, capsys: Any) -> None:
    fakes.install("docker", "kind")
    fakes.kind_cluster()  # pushing skips kind load
    code = main(
        [
            "build",
            str(workflow),
            "-t",
            "engine:dev",
            "-r",
            "localhost:5000",
            "--push",
            "--platform",
            "linux/arm64",
        ]
    )
    assert code == 0, capsys.readouterr().err
    build, push = fakes.argv()
    assert _build_call(build)[1] == [
        "docker", "build", "-f", "<ctx>/Dockerfile", "-t", "localhost:5000/engine:dev",
        "--platform", "linux/arm64", "<ctx>",
    ]  # fmt: skip
    assert push == ["docker", "push", "localhost:5000/engine:dev"]
    assert (workflow / ".tentacular" / "base-image.txt").read_text() == "localhost:5000/engine:dev\n"


def test_tag_with_registry_port_is_not_prefixed_twice(fakes: Fakes, workflow: Path) -> None:
    fakes.install("docker")
    assert main(["build", str(workflow), "-t", "localhost:5000/img:1", "-r", "localhost:5000", "--push"]) == 0
    assert fakes.argv()[1] == ["docker", "push", "localhost:5000/img:1"]


def test_push_without_registry_fails_before_building(fakes: Fakes, workflow: Path, capsys: Any) -> None:
    fakes.install("docker")
    assert main(["build", str(workflow), "--push"]) == 2
    assert "--push requires --registry (-r) to be set" in capsys.readouterr().err
    assert fakes.calls() == []


def test_registry_from_config(fakes: Fakes, workflow: Path) -> None:
    fakes.install("docker")
    (fakes.bin.parent / "home").mkdir()
    (fakes.bin.parent / "home" / "config.yaml").write_text("registry: registry.example.com:5000/team\n")
    assert main(["build", str(workflow), "--push"]) == 0
    assert fakes.argv()[1] == [
        "docker",
        "push",
        f"registry.example.com:5000/team/tentacular-engine:{VERSION}",
    ]


def test_invalid_platform_fails_before_building(fakes: Fakes, workflow: Path) -> None:
    fakes.install("docker")
    assert main(["build", str(workflow), "--platform", "arm64"]) == 2
    assert fakes.calls() == []


def test_kind_load_after_build(fakes: Fakes, workflow: Path, capsys: Any) -> None:
    fakes.install("docker", "kind")
    fakes.kind_cluster()
    assert main(["build", str(workflow), "-o", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    tag = f"tentacular-engine:{VERSION}"
    assert fakes.argv()[1] == ["kind", "load", "docker-image", tag, "--name", "dev"]
    assert document["kindLoaded"] is True and document["kindCluster"] == "dev"


def test_kind_load_failure_is_a_warning(fakes: Fakes, workflow: Path, capsys: Any, monkeypatch: Any) -> None:
    fakes.install("docker", "kind")
    fakes.kind_cluster()
    monkeypatch.setenv("FAKE_FAIL", "kind")
    assert main(["build", str(workflow), "-o", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["kindLoaded"] is False
    assert any("kind load failed" in hint for hint in document["hints"])


def test_kind_with_podman_loads_an_archive(fakes: Fakes, workflow: Path) -> None:
    fakes.install("podman", "kind")
    fakes.kind_cluster()
    assert main(["build", str(workflow)]) == 0
    build, save, load = fakes.argv()
    assert build[:2] == ["podman", "build"]
    assert save[:3] == ["podman", "save", "-o"] and save[3].endswith("image.tar")
    assert save[4] == f"tentacular-engine:{VERSION}"
    assert load == ["kind", "load", "image-archive", save[3], "--name", "dev"]


def test_container_tool_from_environment(fakes: Fakes, workflow: Path, monkeypatch: Any) -> None:
    fakes.install("docker", "podman")
    monkeypatch.setenv("TNTC_CONTAINER_TOOL", "podman")
    assert main(["build", str(workflow)]) == 0
    assert fakes.argv()[0][0] == "podman"


def test_build_failure(fakes: Fakes, workflow: Path, capsys: Any, monkeypatch: Any) -> None:
    fakes.install("docker")
    monkeypatch.setenv("FAKE_FAIL", "docker build")
    assert main(["build", str(workflow)]) == 1
    assert "docker build failed (exit 1)" in capsys.readouterr().err
    assert not (workflow / ".tentacular" / "base-image.txt").exists()


def test_workflow_packages_make_a_workflow_image(fakes: Fakes, tmp_path: Path, workflow: Path) -> None:
    fakes.install("docker")
    line = "six==1.16.0 --hash=sha256:" + "c" * 64
    text = (workflow / "workflow.yaml").read_text() + f'\nruntime:\n  python:\n    requirements: ["{line}"]\n'
    (workflow / "workflow.yaml").write_text(text)
    assert main(["build", str(workflow)]) == 0
    [call] = fakes.calls()
    assert call["argv"][5] == "tentacular-word-counter:1.0"
    assert call["lock"] == line + "\n"
    assert "--require-hashes" in call["dockerfile"]


def test_unpinned_packages_fail_before_building(fakes: Fakes, workflow: Path, capsys: Any) -> None:
    fakes.install("docker")
    text = (workflow / "workflow.yaml").read_text() + '\nruntime:\n  python:\n    requirements: ["six"]\n'
    (workflow / "workflow.yaml").write_text(text)
    assert main(["build", str(workflow)]) == 1
    assert "must pin one exact version" in capsys.readouterr().err
    assert fakes.calls() == []
