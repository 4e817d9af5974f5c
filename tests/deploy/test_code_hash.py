"""The pod template's code hash changes exactly when shipped code or config changes (D6)."""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tentacular.deploy._codemap import CodeBundle
from tentacular.deploy._labels import CODE_HASH_ANNOTATION
from tentacular.deploy._manifests import ManifestOptions, build_manifests
from tentacular.spec import load_workflow
from tests.deploy.conftest import FULL_NODE_FILES, FULL_WORKFLOW, write_tree

_segment = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)
_paths = st.lists(_segment, min_size=1, max_size=3).map(lambda parts: "nodes/" + "/".join(parts) + ".py")
_files = st.dictionaries(_paths, st.binary(max_size=64), min_size=1, max_size=6)


def _bundle(files: dict[str, bytes]) -> CodeBundle | None:
    try:
        return CodeBundle.of(files)
    except Exception:  # colliding flattened keys are a separate, tested error
        return None


@given(files=_files, other=_files)
def test_digest_equal_iff_content_equal(files: dict[str, bytes], other: dict[str, bytes]) -> None:
    first, second = _bundle(files), _bundle(other)
    if first is None or second is None:
        return
    assert (first.digest() == second.digest()) == (first.files == second.files)


@settings(deadline=None)  # a loaded CI machine: correctness here, speed lives in benchmarks/
@given(files=_files, data=st.data())
def test_any_single_change_changes_the_digest(files: dict[str, bytes], data: st.DataObject) -> None:
    bundle = _bundle(files)
    if bundle is None:
        return
    path = data.draw(st.sampled_from(sorted(files)))
    changed = dict(files)
    change = data.draw(st.sampled_from(["content", "remove", "add", "rename"]))
    if change == "content":
        changed[path] = files[path] + data.draw(st.binary(min_size=1, max_size=4))
    elif change == "remove":
        del changed[path]
    elif change == "add":
        changed[path.removesuffix(".py") + "_new.py"] = b""
    else:
        changed[path.removesuffix(".py") + "x.py"] = changed.pop(path)
    other = _bundle(changed)
    if other is None or other.files == bundle.files:
        return
    assert other.digest() != bundle.digest()


@given(files=_files)
def test_order_of_discovery_does_not_matter(files: dict[str, bytes]) -> None:
    bundle = _bundle(files)
    if bundle is None:
        return
    reordered = _bundle(dict(reversed(list(files.items()))))
    assert reordered is not None and reordered.digest() == bundle.digest()


def _code_hash(workflow: dict[str, Any], node_files: dict[str, str | bytes], options: ManifestOptions) -> str:
    with tempfile.TemporaryDirectory() as scratch:
        loaded = load_workflow(write_tree(Path(scratch) / "wf", workflow, node_files))
        deployment = next(o for o in build_manifests(loaded, options) if o["kind"] == "Deployment")
        return str(deployment["spec"]["template"]["metadata"]["annotations"][CODE_HASH_ANNOTATION])


_config_values = st.one_of(st.integers(-5, 5), st.text(max_size=5), st.booleans())
_deploy_options = st.builds(
    ManifestOptions,
    namespace=st.sampled_from(["default", "prod", "team-a"]),
    image=st.sampled_from(["tentacular-engine:1", "localhost:5000/e:2"]),
    runtime_class=st.sampled_from([None, "", "gvisor"]),
    image_pull_policy=st.sampled_from(["Always", "IfNotPresent"]),
    secrets=st.sampled_from([None, {"github": {"token": "abcd1234"}}]),
    git_sha=st.sampled_from([None, "a" * 40]),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    value=_config_values,
    other_value=_config_values,
    node_text=st.text(max_size=20),
    other_node_text=st.text(max_size=20),
    options=_deploy_options,
    other_options=_deploy_options,
)
def test_deployment_hash_tracks_code_and_config_only(
    value: Any, other_value: Any, node_text: str, other_node_text: str, options: Any, other_options: Any
) -> None:
    def variant(config_value: Any, text: str) -> tuple[dict[str, Any], dict[str, str | bytes]]:
        workflow = copy.deepcopy(FULL_WORKFLOW)
        workflow["config"]["label"] = config_value
        return workflow, {**FULL_NODE_FILES, "nodes/helpers/util.py": f"# {text!r}\n"}

    first = _code_hash(*variant(value, node_text), options)
    second = _code_hash(*variant(other_value, other_node_text), other_options)
    same_input = value == other_value and type(value) is type(other_value) and node_text == other_node_text
    assert (first == second) == same_input
