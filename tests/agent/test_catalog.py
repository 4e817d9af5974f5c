"""`tntc catalog` and `tntc init --from` against real local git repositories made here."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tentacular.cli.main import main
from tests.conftest import EXAMPLES

GIT = [
    "git",
    "-c",
    "user.name=test",
    "-c",
    "user.email=test@example.invalid",
    "-c",
    "init.defaultBranch=main",
]


def git(repo: Path, *args: str) -> None:
    subprocess.run([*GIT, *args], cwd=repo, check=True, capture_output=True)


def tntc(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    code = main([*argv, "-o", "json"])
    return code, json.loads(capsys.readouterr().out)


def _template(repo: Path, path: str, name: str, description: str) -> None:
    target = repo / path
    shutil.copytree(EXAMPLES / "word-counter", target)
    text = (target / "workflow.yaml").read_text()
    text = text.replace("name: word-counter", f"name: {name}", 1)
    text = text.replace(
        "description: Counts words in a text and reports the most frequent ones. Needs no network.",
        f"description: {description}",
    )
    (target / "workflow.yaml").write_text(text)


@pytest.fixture
def catalog_repo(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """templates/hello and templates/counter, indexed; tagged v1.0, then hello changes and v2.0."""
    repo = tmp_path / "catalog-repo"
    repo.mkdir()
    git(repo, "init", "-q")
    _template(repo, "templates/hello", "hello", "Says hello, version one")
    _template(repo, "templates/counter", "counter", "Counts words")
    assert tntc(capsys, "catalog", "index", str(repo))[0] == 0
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "v1")
    git(repo, "tag", "v1.0")
    text = (repo / "templates/hello/workflow.yaml").read_text().replace("version one", "version two")
    (repo / "templates/hello/workflow.yaml").write_text(text)
    assert tntc(capsys, "catalog", "index", str(repo))[0] == 0
    git(repo, "commit", "-qam", "v2")
    git(repo, "tag", "v2.0")
    return repo


def configure(catalogs: dict[str, Any], ttl: str = "1h") -> None:
    from tentacular.deploy._settings import user_config_path

    path = user_config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({"catalogs": catalogs, "catalog": {"cacheTTL": ttl}}))


def test_index_lists_every_template(catalog_repo: Path) -> None:
    index = yaml.safe_load((catalog_repo / "catalog.yaml").read_text())
    assert index["version"] == "1"
    names = [t["name"] for t in index["templates"]]
    assert names == ["counter", "hello"]
    hello = index["templates"][1]
    assert hello["path"] == "templates/hello"
    assert hello["description"] == "Says hello, version two"
    assert "trigger:manual" in hello["tags"] and "python" in hello["tags"]
    assert "workflow.yaml" in hello["files"]
    assert hello["minTntcVersion"]


def test_index_keeps_hand_written_tags(catalog_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    index = yaml.safe_load((catalog_repo / "catalog.yaml").read_text())
    index["templates"][1]["tags"].append("starter")
    (catalog_repo / "catalog.yaml").write_text(yaml.safe_dump(index))
    assert tntc(capsys, "catalog", "index", str(catalog_repo))[0] == 0
    again = yaml.safe_load((catalog_repo / "catalog.yaml").read_text())
    assert "starter" in again["templates"][1]["tags"]


def test_list_search_info_at_a_tag(catalog_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    configure({"team": {"url": f"file://{catalog_repo}", "ref": "v1.0"}})
    code, listed = tntc(capsys, "catalog", "list")
    assert code == 0
    refs = {f"{t['catalog']}:{t['name']}" for t in listed["templates"]}
    assert {"team:hello", "team:counter", "builtin:word-counter"} <= refs
    code, found = tntc(capsys, "catalog", "search", "HELLO")
    assert [t["name"] for t in found["templates"]] == ["hello"]
    assert found["templates"][0]["description"] == "Says hello, version one"  # the v1.0 tag
    code, info = tntc(capsys, "catalog", "info", "team:counter")
    assert code == 0 and info["template"]["path"] == "templates/counter"
    code, tagged = tntc(capsys, "catalog", "list", "--tag", "python", "--catalog", "team")
    assert {t["name"] for t in tagged["templates"]} == {"hello", "counter"}


def test_init_from_a_catalog_validates_and_tests_green(
    catalog_repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    configure({"team": {"url": f"file://{catalog_repo}", "ref": "v2.0"}})
    target = tmp_path / "mine"
    code, created = tntc(capsys, "init", "my-hello", "--from", "team:hello", "--dir", str(target))
    assert code == 0, created
    assert created["directory"] == str(target)
    code, validated = tntc(capsys, "validate", str(target))
    assert code == 0 and validated["workflow"]["name"] == "my-hello"
    code, tested = tntc(capsys, "test", str(target))
    assert code == 0, tested
    # Sparse: only the template pulled is checked out in the cached clone.
    from tentacular.deploy._settings import tentacular_home

    clones = list((tentacular_home() / "cache" / "catalogs").glob("*/catalog.yaml"))
    assert len(clones) == 1
    clone = clones[0].parent
    assert (clone / "templates/hello/workflow.yaml").is_file()
    assert not (clone / "templates/counter").exists()


def test_pull_a_git_ref_with_a_tag(
    catalog_repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "pulled"
    code, pulled = tntc(
        capsys, "catalog", "pull", f"file://{catalog_repo}//templates/hello@v1.0", "--dir", str(target)
    )
    assert code == 0, pulled
    assert "version one" in (target / "workflow.yaml").read_text()
    assert pulled["template"]["tag"] == "v1.0"
    assert not (target / ".git").exists()


def test_cache_ttl_and_no_cache(catalog_repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    configure({"team": f"file://{catalog_repo}"})  # the default branch
    assert tntc(capsys, "catalog", "search", "version two")[1]["templates"]
    text = (
        (catalog_repo / "templates/hello/workflow.yaml").read_text().replace("version two", "version three")
    )
    (catalog_repo / "templates/hello/workflow.yaml").write_text(text)
    assert tntc(capsys, "catalog", "index", str(catalog_repo))[0] == 0
    git(catalog_repo, "commit", "-qam", "v3")
    assert tntc(capsys, "catalog", "search", "version two")[1]["templates"], "cached within the TTL"
    assert not tntc(capsys, "catalog", "search", "version three")[1]["templates"]
    assert tntc(capsys, "catalog", "search", "version three", "--no-cache")[1]["templates"]


def test_a_failing_refresh_keeps_the_cached_copy(
    catalog_repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    configure({"team": f"file://{catalog_repo}"}, ttl="0s")
    assert tntc(capsys, "catalog", "list", "--catalog", "team")[0] == 0
    shutil.rmtree(catalog_repo)  # the "network" is gone
    code, listed = tntc(capsys, "catalog", "list", "--catalog", "team")
    assert code == 0
    assert any("cached copy" in hint for hint in listed["hints"])


@pytest.mark.parametrize(
    ("ref", "code", "error"),
    [
        ("team:no-such-template", 2, "catalog"),
        ("nosuchcatalog:hello", 2, "catalog"),
        ("{repo}//templates/hello@v9.9", 1, "catalog_unavailable"),
        ("file:///nonexistent/repo.git//templates/hello@v1.0", 1, "catalog_unavailable"),
        ("{repo}//templates/missing@v1.0", 2, "catalog"),
    ],
)
def test_bad_refs_write_nothing(
    catalog_repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], ref: str, code: int, error: str
) -> None:
    configure({"team": {"url": f"file://{catalog_repo}", "ref": "v1.0"}})
    work = tmp_path / "work"
    work.mkdir()
    target = work / "out"
    exit_code, envelope = tntc(
        capsys, "init", "out", "--from", ref.format(repo=f"file://{catalog_repo}"), "--dir", str(target)
    )
    assert exit_code == code, envelope
    assert envelope["error"]["code"] == error
    assert envelope["error"]["message"]
    assert list(work.iterdir()) == []


def test_an_invalid_template_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = tmp_path / "broken-repo"
    repo.mkdir()
    git(repo, "init", "-q")
    _template(repo, "broken", "broken", "Broken on purpose")
    (repo / "broken/workflow.yaml").write_text("name: broken\nversion: '1.0'\nnodes: {}\n")
    (repo / "catalog.yaml").write_text(
        yaml.safe_dump({"version": "1", "templates": [{"name": "broken", "path": "broken"}]})
    )
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "broken")
    configure({"bad": f"file://{repo}"})
    work = tmp_path / "work"
    work.mkdir()
    code, envelope = tntc(
        capsys, "init", "fine-name", "--from", "bad:broken", "--dir", str(work / "fine-name")
    )
    assert code == 2
    assert envelope["error"]["code"] == "invalid_workflow"
    assert "nothing was written" in envelope["error"]["message"]
    assert list(work.iterdir()) == []
    # And `catalog index` refuses to index it.
    (repo / "catalog.yaml").unlink()
    code, envelope = tntc(capsys, "catalog", "index", str(repo))
    assert code == 2 and envelope["error"]["code"] == "catalog"
    assert not (repo / "catalog.yaml").exists()


def test_builtin_catalog_offline(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, listed = tntc(capsys, "catalog", "list", "--catalog", "builtin")
    assert code == 0
    assert {t["name"] for t in listed["templates"]} >= {"word-counter", "hn-digest", "repo-digest"}
    target = tmp_path / "counted"
    code, created = tntc(capsys, "init", "counted", "--from", "builtin:word-counter", "--dir", str(target))
    assert code == 0, created
    assert tntc(capsys, "validate", str(target))[1]["workflow"]["name"] == "counted"
    code, tested = tntc(capsys, "test", str(target))
    assert code == 0 and tested["status"] == "pass"


def test_refuses_a_non_empty_target(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "taken"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    code, envelope = tntc(capsys, "init", "taken", "--from", "builtin:word-counter", "--dir", str(target))
    assert code == 2 and envelope["error"]["code"] == "scaffold_refused"
    assert [p.name for p in target.iterdir()] == ["keep.txt"]
