"""Loading nodes: async and plain def, helper modules, clear errors, the nodes/ guard."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from tentacular.engine._context import Context, EngineServices
from tentacular.engine._runtime import load_nodes, resolve_node_path
from tentacular.errors import NodeLoadError


def write(directory: Path, files: dict[str, str]) -> Path:
    nodes = directory / "nodes"
    nodes.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (nodes / name).write_text(text, encoding="utf-8")
    return directory


async def test_async_and_plain_def_nodes_run(tmp_path: Path) -> None:
    wf = write(
        tmp_path,
        {
            "a.py": "async def run(ctx, input):\n    return {'a': input}\n",
            "b.py": "import threading\n\ndef run(ctx, input):\n    return threading.current_thread().name\n",
        },
    )
    nodes = load_nodes(wf, {"a": "./nodes/a.py", "b": "nodes/b.py"})
    ctx = Context(EngineServices(), "a", "r1")
    assert await nodes["a"](ctx, 1) == {"a": 1}
    assert await nodes["b"](ctx, None) != threading.current_thread().name  # ran in a worker thread


async def test_sibling_helper_imports_by_plain_name_and_reloads(tmp_path: Path) -> None:
    wf = write(
        tmp_path,
        {
            "_helper_rt.py": "VALUE = 1\n",
            "use.py": "from _helper_rt import VALUE\n\nasync def run(ctx, input):\n    return VALUE\n",
        },
    )
    first = load_nodes(wf, {"use": "nodes/use.py"})
    (wf / "nodes" / "_helper_rt.py").write_text("VALUE = 2\n")
    second = load_nodes(wf, {"use": "nodes/use.py"})
    ctx = Context(EngineServices())
    assert await first["use"](ctx, {}) == 1  # old code keeps its own helper
    assert await second["use"](ctx, {}) == 2


def test_node_named_like_stdlib_module_does_not_shadow_it(tmp_path: Path) -> None:
    wf = write(tmp_path, {"tokenize.py": "async def run(ctx, input):\n    return 1\n"})
    load_nodes(wf, {"tokenize": "nodes/tokenize.py"})
    import tokenize

    assert hasattr(tokenize, "generate_tokens")


def test_missing_run(tmp_path: Path) -> None:
    wf = write(tmp_path, {"x.py": "def other(ctx, input):\n    return 1\n"})
    with pytest.raises(NodeLoadError, match=r'node "x": nodes/x.py defines no run function'):
        load_nodes(wf, {"x": "nodes/x.py"})


def test_run_not_callable(tmp_path: Path) -> None:
    wf = write(tmp_path, {"x.py": "run = 42\n"})
    with pytest.raises(NodeLoadError, match=r"run in nodes/x\.py is a int, not a function"):
        load_nodes(wf, {"x": "nodes/x.py"})


def test_run_with_wrong_arity(tmp_path: Path) -> None:
    wf = write(tmp_path, {"x.py": "async def run(input):\n    return 1\n"})
    with pytest.raises(NodeLoadError, match=r"takes 1 argument\(s\)"):
        load_nodes(wf, {"x": "nodes/x.py"})


def test_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    wf = write(tmp_path, {"x.py": "async def run(ctx, input):\n    return (\n\n"})
    with pytest.raises(NodeLoadError) as info:
        load_nodes(wf, {"x": "nodes/x.py"})
    assert "syntax error at nodes/x.py:2" in info.value.message
    assert info.value.details["line"] == 2


def test_import_error_names_the_line_in_node_code(tmp_path: Path) -> None:
    wf = write(tmp_path, {"x.py": "import json\n\nimport not_a_module_anywhere\n"})
    with pytest.raises(NodeLoadError) as info:
        load_nodes(wf, {"x": "nodes/x.py"})
    assert "nodes/x.py failed at line 3" in info.value.message
    assert "ModuleNotFoundError" in info.value.message
    assert info.value.hint and "requirements" in info.value.hint


def test_runtime_error_in_helper_points_at_helper(tmp_path: Path) -> None:
    wf = write(
        tmp_path,
        {"_broken_rt.py": "x = 1\nraise RuntimeError('nope')\n", "x.py": "import _broken_rt\n"},
    )
    with pytest.raises(NodeLoadError, match=r"nodes/_broken_rt.py failed at line 2: RuntimeError: nope"):
        load_nodes(wf, {"x": "nodes/x.py"})


def test_symlink_out_of_nodes_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside.py"
    outside.write_text("async def run(ctx, input):\n    return 1\n")
    wf = write(tmp_path / "wf", {})
    (wf / "nodes" / "evil.py").symlink_to(outside)
    with pytest.raises(NodeLoadError, match="resolves outside the nodes/ directory"):
        resolve_node_path(wf, "evil", "nodes/evil.py")
    with pytest.raises(NodeLoadError, match="outside the nodes/"):
        resolve_node_path(wf, "up", "nodes/../outside.py")


def test_missing_file(tmp_path: Path) -> None:
    wf = write(tmp_path, {})
    with pytest.raises(NodeLoadError, match="does not exist"):
        load_nodes(wf, {"x": "nodes/x.py"})
