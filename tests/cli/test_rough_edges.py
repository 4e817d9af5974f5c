"""The rest of issue 10's rough edges (Build 2, 4, 5, 6), each typed as a user would type it.

Every test asserts the message, the exit code and the envelope. Runs that install the
runtime guard go through a real ``tntc`` process (the guard must not leak into pytest).
"""

from __future__ import annotations

import http.server
import itertools
import json
import os
import pty
import re
import select
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml

from tentacular.cli.app import app
from tentacular.cli.main import main
from tests.conftest import EXAMPLES, REPO_ROOT

SRC = REPO_ROOT / "src" / "tentacular"


def tntc(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """A real ``tntc`` process; the timeout bounds every run (a hang fails the test)."""
    return subprocess.run(
        [sys.executable, "-c", "from tentacular.cli.main import run; run()", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env={**os.environ, "NO_COLOR": "1", "TENTACULAR_LOG_FORMAT": "json", **(env or {})},
    )


def envelope(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    document = json.loads(capsys.readouterr().out)
    assert isinstance(document, dict)
    return document


def flow(
    directory: Path,
    nodes: dict[str, str],
    *,
    config: dict[str, Any] | None = None,
    contract: dict[str, Any] | None = None,
    fixtures: dict[str, Any] | None = None,
) -> Path:
    """A workflow whose nodes run one after the other, in the order given."""
    (directory / "nodes").mkdir(parents=True)
    names = list(nodes)
    spec = {
        "name": "edge-flow",
        "version": "1.0",
        "triggers": [{"type": "manual"}],
        "nodes": {name: {"path": f"./nodes/{name}.py"} for name in names},
        "edges": [{"from": a, "to": b} for a, b in itertools.pairwise(names)],
        "config": {"timeout": "30s", "retries": 0, **(config or {})},
        "contract": contract or {"version": "1", "dependencies": {}},
    }
    (directory / "workflow.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    for name, code in nodes.items():
        (directory / "nodes" / f"{name}.py").write_text(textwrap.dedent(code).lstrip())
    for name, fixture in (fixtures or {}).items():
        (directory / "tests" / "fixtures").mkdir(parents=True, exist_ok=True)
        (directory / "tests" / "fixtures" / f"{name}.json").write_text(json.dumps(fixture))
    return directory


def json_lines(stderr: str) -> list[dict[str, Any]]:
    found = []
    for line in stderr.splitlines():
        if line.startswith("{"):
            found.append(json.loads(line))
    return found


# --- Build 2: one source for each rule and default ----------------------------------------------


def test_each_shared_default_is_defined_once() -> None:
    """The runtime class, the workflow file name and the enforcement values are spelled in one
    module (tentacular/defaults.py); everything else imports them."""
    spellings = {
        "gvisor": re.compile(r"""["']gvisor["']"""),
        "workflow.yaml": re.compile(r"""(?<![\w.])["']workflow\.yaml["']"""),
        "strict/audit": re.compile(r"""Literal\[\s*["']strict["']\s*,\s*["']audit["']\s*\]"""),
    }
    for label, pattern in spellings.items():
        where = sorted(
            str(path.relative_to(SRC)) for path in SRC.rglob("*.py") if pattern.search(path.read_text())
        )
        assert where == ["defaults.py"], (label, where)


def test_dry_run_and_build_agree_on_the_default_image(capsys: pytest.CaptureFixture[str]) -> None:
    """The image a real deploy uses by default is what `tntc build` tags (and what the goldens show)."""
    import tentacular

    expected = f"tentacular-engine:{tentacular.__version__}"
    assert main(["deploy", "--dry-run", str(EXAMPLES / "word-counter"), "-o", "json"]) == 0
    document = envelope(capsys)
    assert document["image"] == expected
    [deployment] = [o for o in document["objects"] if o["kind"] == "Deployment"]
    pod = deployment["spec"]["template"]["spec"]
    assert pod["containers"][0]["image"] == expected
    assert pod["runtimeClassName"] == "gvisor"
    golden = (REPO_ROOT / "tests" / "deploy" / "golden" / "word-counter.yaml").read_text()
    assert "image: tentacular-engine:<version>" in golden


def _commands_with_timeout() -> list[tuple[str, list[str]]]:
    """(command, placeholders for its required arguments and options) per leaf command with ``--timeout``."""

    def walk(command: Any, path: tuple[str, ...]) -> list[tuple[str, list[str]]]:
        children = getattr(command, "commands", None)
        if children:
            return [found for name, child in children.items() for found in walk(child, (*path, name))]
        if not any("--timeout" in p.opts for p in command.params):
            return []
        required: list[str] = []
        for param in command.params:
            if param.required and param.param_type_name == "argument":
                required.append(str(EXAMPLES / "word-counter"))
            elif param.required:
                required += [param.opts[0], "x"]
        return [(" ".join(path), required)]

    return walk(typer.main.get_command(app), ())


@pytest.mark.parametrize(("command", "required"), _commands_with_timeout(), ids=lambda v: str(v))
def test_every_command_with_a_timeout_takes_a_duration(
    command: str, required: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """`--timeout soon` is the same usage error on every command that has the option (the commands
    of the user-edge test and any added later)."""
    arguments = {"run": ["my-flow"], "test": [str(EXAMPLES / "word-counter"), "--live"]}.get(
        command, required
    )
    assert main([*command.split(), *arguments, "--timeout", "soon", "-o", "json"]) == 2
    document = envelope(capsys)
    assert document["command"] == command and document["error"]["code"] == "usage"
    assert document["summary"] == 'invalid --timeout "soon"'
    assert document["error"]["hint"] == "e.g. --timeout 30s, 2m or 90"


def test_the_timeout_table_covers_the_deploy_run_and_test_commands() -> None:
    assert {"deploy", "run", "test"} <= {command for command, _ in _commands_with_timeout()}


def test_run_local_timeout_answers_while_a_sync_node_is_stuck_in_its_thread(tmp_path: Path) -> None:
    """`tntc run --local DIR --timeout 1s`: a plain `def` sleeping 30 s cannot be interrupted, but the
    run still answers (the process timeout of 60 s would fail this test if it waited)."""
    directory = flow(
        tmp_path / "stuck", {"only": "import time\n\ndef run(ctx, input):\n    time.sleep(30)\n"}
    )
    done = tntc("run", "--local", str(directory), "--timeout", "1s", "-o", "json")
    assert done.returncode == 1, done.stderr
    document = json.loads(done.stdout)
    assert document["error"]["code"] == "run_timeout"
    assert document["summary"] == "edge-flow did not finish within 1s (--timeout); its nodes were cancelled"


# --- Build 4: errors that point at the cause -----------------------------------------------------


@pytest.fixture
def not_kubernetes(tmp_path: Path) -> Iterator[str]:
    """A kubeconfig whose server is a plain web server answering 404 without a content type."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self) -> None:
            self.send_response(404)
            self.send_header("Content-Length", "9")
            self.end_headers()
            self.wfile.write(b"not found")

        do_GET = do_POST = do_PATCH = do_DELETE = _answer

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "proxy",
        "clusters": [{"name": "proxy", "cluster": {"server": url}}],
        "contexts": [{"name": "proxy", "context": {"cluster": "proxy", "user": "proxy"}}],
        "users": [{"name": "proxy", "user": {"token": "t"}}],
    }
    (tmp_path / "kubeconfig").write_text(yaml.safe_dump(config))
    try:
        yield url
    finally:
        server.shutdown()


@pytest.mark.parametrize("argv", [["status", "wf"], ["list"], ["run", "wf"], ["logs", "wf"]])
def test_a_server_that_is_not_kubernetes_says_so(
    argv: list[str], not_kubernetes: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "kubeconfig"))
    monkeypatch.setenv("TENTACULAR_HOME", str(tmp_path / "home"))
    assert main([*argv, "-o", "json"]) == 1
    document = envelope(capsys)
    assert document["error"]["code"] == "cluster_unreachable"
    assert (
        f"not a Kubernetes API server at {not_kubernetes} (HTTP 404, no content type)" in document["summary"]
    )
    assert "Content-Type" not in document["summary"]  # no leaked KeyError
    assert "kubectl config view --minify" in document["error"]["hint"]


def test_cluster_check_names_the_cause_and_debug_shows_it(not_kubernetes: str, tmp_path: Path) -> None:
    env = {"KUBECONFIG": str(tmp_path / "kubeconfig"), "TENTACULAR_HOME": str(tmp_path / "home")}
    checked = tntc("cluster", "check", "-o", "json", env=env)
    assert checked.returncode == 1
    [api] = json.loads(checked.stdout)["checks"]
    assert api["passed"] is False
    assert f"not a Kubernetes API server at {not_kubernetes}" in api["remediation"]
    debug = tntc("status", "wf", "--debug", env=env)
    assert debug.returncode == 1
    assert "not a Kubernetes API server" in debug.stderr
    assert "KeyError: 'Content-Type'" in debug.stderr  # --debug: the underlying cause
    assert "HTTPStatusError" in debug.stderr


def test_a_retried_node_says_how_many_attempts_ran(tmp_path: Path) -> None:
    """`tntc run --local DIR` with `retries: 2`: every attempt's log line carries its number, and the
    final error says three attempts ran."""
    node = "def run(ctx, input):\n    ctx.log.info('trying')\n    raise ValueError('boom')\n"
    directory = flow(tmp_path / "retry", {"flaky": node}, config={"retries": 2})
    done = tntc("run", "--local", str(directory), "-o", "json")
    assert done.returncode == 1
    document = json.loads(done.stdout)
    error = document["execution"]["errors"]["flaky"]
    assert error == "ValueError: boom (at nodes/flaky.py:3) (after 3 attempts)"
    assert document["error"]["code"] == "run_failed"
    lines = [line for line in json_lines(done.stderr) if line.get("node") == "flaky"]
    assert [(line["msg"], line["attempt"]) for line in lines if line["msg"] == "trying"] == [
        ("trying", 1),
        ("trying", 2),
        ("trying", 3),
    ]
    failures = [line["msg"] for line in lines if line["level"] == "warning"]
    assert failures == [
        "attempt 1/3 failed: ValueError: boom (at nodes/flaky.py:3); retrying",
        "attempt 2/3 failed: ValueError: boom (at nodes/flaky.py:3); retrying",
        "attempt 3/3 failed: ValueError: boom (at nodes/flaky.py:3); giving up",
    ]


def test_undeploy_asks_with_the_workflow_name_and_no_leaves_everything(tmp_path: Path) -> None:
    """`tntc undeploy wf` (a terminal, no --yes): the prompt names the workflow and the namespace;
    answering no cancels before any API call (there is no cluster here at all)."""
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from tentacular.cli.main import run; run()",
            "undeploy",
            "my-flow",
            "-n",
            "team-a",
        ],
        input="n\n",
        capture_output=True,
        text=True,
        timeout=60,
        env={
            **os.environ,
            "NO_COLOR": "1",
            "KUBECONFIG": str(tmp_path / "none"),
            "TENTACULAR_HOME": str(tmp_path),
        },
    )
    assert done.returncode == 0, done.stderr
    assert "Remove workflow my-flow from namespace team-a? [y/N]" in done.stdout + done.stderr
    assert "Cancelled." in done.stderr


def test_the_timeout_defaults_come_from_one_place() -> None:
    """30 s per node attempt (and the HTTP client), 30 s for a run, 120 s for a rollout."""
    from tentacular import defaults, deploy, spec
    from tentacular.engine._context import SharedHttpClient

    assert (defaults.DEFAULT_NODE_TIMEOUT, defaults.DEFAULT_NODE_TIMEOUT_SECONDS) == ("30s", 30.0)
    config = spec.load_workflow(EXAMPLES / "word-counter").workflow.config
    assert type(config)().timeout_seconds == defaults.DEFAULT_NODE_TIMEOUT_SECONDS  # config.timeout unset
    assert SharedHttpClient().timeout == defaults.DEFAULT_NODE_TIMEOUT_SECONDS
    assert (deploy.DEFAULT_RUN_TIMEOUT, deploy.DEFAULT_DEPLOY_TIMEOUT) == (30.0, 120.0)
    assert deploy.DEFAULT_DEPLOY_TIMEOUT is defaults.DEFAULT_DEPLOY_TIMEOUT


# --- Build 5: validation that catches what will fail later ----------------------------------------


def test_validate_compiles_nodes_without_running_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`tntc validate DIR`: a syntax error at file:line:column and a `run(ctx)` are errors; the nodes'
    top-level code never runs; the config typo and the missing contract are still shown."""
    marker = tmp_path / "ran"
    directory = flow(
        tmp_path / "wf",
        {
            "broken": 'def run(ctx, input):\n    return {"x": 1\n',
            "short": f"open({str(marker)!r}, 'w').close()\n\ndef run(ctx):\n    return 1\n",
        },
        config={"timout": "5s"},
    )
    assert main(["validate", str(directory), "-o", "json"]) == 2
    document = envelope(capsys)
    assert document["error"]["code"] == "invalid_workflow"
    assert document["summary"] == f"{directory / 'workflow.yaml'} has 2 errors"
    syntax, signature = document["errors"]
    assert (syntax["file"], syntax["line"], syntax["column"]) == (
        str(directory / "nodes" / "broken.py"),
        2,
        12,
    )
    assert syntax["message"] == "syntax error in nodes/broken.py: '{' was never closed"
    assert syntax["path"] == "nodes.broken"
    assert signature["message"] == (
        "run in nodes/short.py takes 1 positional argument; the engine calls run(ctx, input)"
    )
    assert (signature["line"], signature["column"]) == (3, 1)
    [typo] = document["warnings"]
    assert typo["path"] == "config.timout" and typo["hint"] == 'did you mean "timeout"?'
    assert not marker.exists()  # compiled, never executed
    assert main(["validate", str(directory)]) == 2
    err = capsys.readouterr().err
    assert f"error {directory / 'nodes' / 'broken.py'}:2:12: nodes.broken: syntax error" in err
    assert "warning " in err and 'did you mean "timeout"?' in err


@pytest.mark.parametrize(
    ("code", "valid"),
    [
        ("async def run(ctx, input):\n    return 1\n", True),
        ("def run(ctx, input, extra=1):\n    return 1\n", True),
        ("def run(*args):\n    return 1\n", True),
        ("from json import loads as run\n", True),  # only running it could tell: accepted
        ("def run(ctx, input, extra):\n    return 1\n", False),
        ("def handler(ctx, input):\n    return 1\n", False),
    ],
)
def test_validate_reads_the_run_signature(code: str, valid: bool, tmp_path: Path, capsys: Any) -> None:
    directory = flow(tmp_path / "wf", {"only": code})
    assert main(["validate", str(directory), "-o", "json"]) == (0 if valid else 2)
    document = envelope(capsys)
    if not valid:
        assert document["errors"][0]["hint"].startswith("define: async def run(ctx, input)")


def test_config_keys_near_timeout_or_retries_warn_but_other_keys_do_not(tmp_path: Path, capsys: Any) -> None:
    directory = flow(
        tmp_path / "wf",
        {"only": "def run(ctx, input):\n    return 1\n"},
        config={"retires": 3, "channel": "#ops"},
    )
    assert main(["validate", str(directory), "-o", "json"]) == 0
    document = envelope(capsys)
    assert [(w["path"], w["hint"]) for w in document["warnings"]] == [
        ("config.retires", 'did you mean "retries"?')
    ]
    assert document["warnings"][0]["message"] == (
        '"retires" is not a setting the engine reads; it only reaches the nodes as ctx.config'
    )


def test_fixture_mocks_of_an_unknown_dependency_say_did_you_mean(tmp_path: Path) -> None:
    contract = {"version": "1", "dependencies": {"github": {"protocol": "https", "host": "api.github.com"}}}
    fixture = {"input": {}, "expected": 1, "mocks": {"githb": {"GET /x": {"json": {}}}}}
    directory = flow(
        tmp_path / "wf",
        {"only": "def run(ctx, input):\n    return 1\n"},
        contract=contract,
        fixtures={"only": fixture},
    )
    done = tntc("test", str(directory), "-o", "json")
    assert done.returncode == 1
    document = json.loads(done.stdout)
    assert document["error"]["code"] == "test_failed"
    [case] = document["results"]
    assert case["error"] == "invalid fixture: only.json: mocks.githb names no dependency of the contract"
    assert case["hint"] == 'did you mean "github"?'


def test_a_non_json_output_names_its_json_path(tmp_path: Path) -> None:
    """`tntc run --local` and `tntc test` both say where in the output the set is: `$.names: set`."""
    node = "def run(ctx, input):\n    return {'count': 2, 'names': {'a', 'b'}}\n"
    directory = flow(tmp_path / "wf", {"only": node}, fixtures={"only": {"input": {}}})
    ran = tntc("run", "--local", str(directory), "-o", "json")
    assert ran.returncode == 1
    message = json.loads(ran.stdout)["execution"]["errors"]["only"]
    assert message.startswith('Node "only" returned a value that is not JSON-serialisable ($.names: set): ')
    tested = tntc("test", str(directory), "-o", "json")
    assert tested.returncode == 1
    [case] = json.loads(tested.stdout)["results"]
    assert "not JSON-serialisable ($.names: set)" in case["error"]


def test_test_accepts_the_workflow_file_like_every_other_command() -> None:
    done = tntc("test", str(EXAMPLES / "word-counter" / "workflow.yaml"), "-o", "json")
    assert done.returncode == 0, done.stdout + done.stderr
    document = json.loads(done.stdout)
    assert document["status"] == "pass" and document["summary"].startswith("word-counter: ")


# --- Build 6: safer defaults ------------------------------------------------------------------------


def test_tntc_test_streams_each_case_as_it_finishes_on_a_terminal(tmp_path: Path) -> None:
    """On a terminal the first case is shown before the second has finished: the second only passes
    if this test saw the first one's line and answered it (by creating the file it waits for)."""
    waits = """
        import time
        from pathlib import Path

        def run(ctx, input):
            go = Path(__file__).parent.parent / "go"
            for _ in range(400):
                if go.exists():
                    return {"saw": True}
                time.sleep(0.05)
            return {"saw": False}
    """
    directory = flow(
        tmp_path / "wf",
        {"first": "def run(ctx, input):\n    return 1\n", "second": waits},
        fixtures={"first": {"input": {}, "expected": 1}, "second": {"input": {}, "expected": {"saw": True}}},
    )
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child becomes tntc on a terminal
        os.environ["NO_COLOR"] = "1"
        os.execv(
            sys.executable,
            [sys.executable, "-c", "from tentacular.cli.main import run; run()", "test", str(directory)],
        )
    out = b""
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.5)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the terminal closed: tntc exited
                break
            if not chunk:
                break
            out += chunk
            if b"first[default]" in out:
                (directory / "go").touch()
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    text = out.decode()
    assert os.waitstatus_to_exitcode(status) == 0, text
    assert text.index("─── Test Results: edge-flow ───") < text.index("✓ first[default]")
    assert "✓ second[default]" in text and "2/2 tests passed" in text
    assert text.count("first[default]") == 1  # streamed, not printed again in the report


def test_tntc_test_prints_one_report_when_not_on_a_terminal(tmp_path: Path) -> None:
    directory = flow(
        tmp_path / "wf",
        {"first": "def run(ctx, input):\n    return 1\n"},
        fixtures={"first": {"input": {}, "expected": 1}},
    )
    done = tntc("test", str(directory))
    assert done.returncode == 0
    assert done.stdout.count("✓ first[default]") == 1
    assert done.stdout.index("─── Test Results: edge-flow ───") < done.stdout.index("✓ first[default]")


def test_dev_says_a_restart_is_needed_when_secrets_change(tmp_path: Path) -> None:
    from tests.processes import TNTC, ServingProcess, json_log_env

    directory = flow(tmp_path / "wf", {"only": "def run(ctx, input):\n    return 1\n"})
    (directory / ".secrets.yaml").write_text("api:\n  token: first-value\n")
    server = ServingProcess([TNTC, "dev", str(directory), "-p", "0"], env=json_log_env(), name="tntc dev")
    try:
        server.wait_for_line(lambda text: "for changes" in text)
        start = len(server.lines)
        # The watcher may still be arming itself after its log line: edit until it has noticed.
        for value in range(200):
            (directory / ".secrets.yaml").write_text(f"api:\n  token: second-value-{value}\n")
            if any("secrets changed" in text for text in server.lines[start:]) or server.exited:
                break
            time.sleep(0.3)
        line = server.wait_for_line(lambda text: "secrets changed" in text, start)
        assert "restart tntc dev to use the new values" in line and ".secrets.yaml" in line
        assert "second-value" not in "\n".join(server.lines) and "first-value" not in "\n".join(server.lines)
        assert not any("Reloading" in text for text in server.lines[start:])  # not half-applied
    finally:
        server.stop()


def test_deploy_warns_about_a_loopback_dependency(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    contract = {
        "version": "1",
        "dependencies": {"api": {"protocol": "http", "host": "127.0.0.1", "port": 8000}},
    }
    directory = flow(tmp_path / "wf", {"only": "def run(ctx, input):\n    return 1\n"}, contract=contract)
    assert main(["deploy", "--dry-run", str(directory), "-o", "json"]) == 0
    captured = capsys.readouterr()
    warning = (
        'dependency "api" is on a loopback address (127.0.0.1): inside the cluster that is the pod itself, '
        "not your machine; point it at an address the cluster can reach"
    )
    assert json.loads(captured.out)["warnings"] == [warning]
    assert main(["deploy", "--dry-run", str(directory)]) == 0
    assert f"⚠ {warning}" in capsys.readouterr().err


def test_deploy_warns_about_an_image_without_the_configured_registry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import tentacular

    home = tmp_path / "home"
    home.mkdir()
    (home / "config.yaml").write_text("registry: registry.example.com:5000\n")
    monkeypatch.setenv("TENTACULAR_HOME", str(home))
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "none"))
    assert main(["deploy", "--dry-run", str(EXAMPLES / "word-counter"), "-o", "json"]) == 0
    image = f"tentacular-engine:{tentacular.__version__}"
    [warning] = envelope(capsys)["warnings"]
    assert warning.startswith(f'image "{image}" has no registry, but registry "registry.example.com:5000"')
    assert f"deploy --image registry.example.com:5000/{image}" in warning
    flag = ["--image", f"registry.example.com:5000/{image}"]
    assert main(["deploy", "--dry-run", str(EXAMPLES / "word-counter"), *flag, "-o", "json"]) == 0
    assert envelope(capsys)["warnings"] == []


def test_explicit_runtime_class_beats_kind_detection_in_a_deploy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`tntc deploy --dry-run` on a kind context: the config's runtime_class and image_pull_policy win."""
    kubeconfig = {
        "current-context": "kind-dev",
        "contexts": [{"name": "kind-dev", "context": {"cluster": "kind-dev", "user": "u"}}],
        "clusters": [{"name": "kind-dev", "cluster": {"server": "https://127.0.0.1:6443"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
    }
    (tmp_path / "kubeconfig").write_text(yaml.safe_dump(kubeconfig))
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "kubeconfig"))
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("TENTACULAR_HOME", str(home))

    def pod() -> dict[str, Any]:
        assert main(["deploy", "--dry-run", str(EXAMPLES / "word-counter"), "-o", "json"]) == 0
        [deployment] = [o for o in envelope(capsys)["objects"] if o["kind"] == "Deployment"]
        spec: dict[str, Any] = deployment["spec"]["template"]["spec"]
        return spec

    detected = pod()
    assert (
        "runtimeClassName" not in detected and detected["containers"][0]["imagePullPolicy"] == "IfNotPresent"
    )
    (home / "config.yaml").write_text("runtime_class: gvisor\nimage_pull_policy: Always\n")
    explicit = pod()
    assert (
        explicit["runtimeClassName"] == "gvisor" and explicit["containers"][0]["imagePullPolicy"] == "Always"
    )


# --- Acceptance: small CLI modules, light validate ---------------------------------------------------


def test_no_cli_module_is_over_250_lines() -> None:
    sizes = {p.name: len(p.read_text().splitlines()) for p in (SRC / "cli").glob("*.py")}
    assert {name: n for name, n in sizes.items() if n > 250} == {}
