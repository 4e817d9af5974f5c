"""`tntc secrets check` and `tntc secrets init` end to end, and the warnings of validate / run --local."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tentacular.cli.main import main
from tests.secrets.conftest import tntc_json, write_config


def keys_of(doc: dict) -> dict[str, dict]:
    return {k["ref"]: k for k in doc["keys"]}


def test_check_reports_missing_and_exits_1(flow: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, doc, _ = tntc_json(capsys, "secrets", "check", str(flow))
    assert code == 1 and doc["status"] == "fail"
    assert doc["missing"] == ["github.token", "slack.webhook_url"]
    assert keys_of(doc)["github.token"]["requiredBy"] == ["contract.dependencies.github.auth.secret"]
    assert keys_of(doc)["slack.webhook_url"]["requiredBy"] == ["nodes/use.py:3"]
    assert doc["summary"] == "2 of 2 required secret(s) missing"


def test_check_names_each_source(flow: Path, isolated_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (flow / ".secrets").mkdir()
    (flow / ".secrets" / "github").write_text('{"token": "from-dir"}')
    (flow / ".secrets.yaml").write_text(
        "slack:\n  webhook_url: $shared.slack-hook\nextra:\n  key: secret://vault/kv/app#k\n"
    )
    (flow.parents[1] / ".secrets").mkdir()
    (flow.parents[1] / ".secrets" / "slack-hook").write_text("https://hooks.example/x\n")
    write_config(
        isolated_home, {"secret_providers": {"vault": {"type": "vault", "address": "http://127.0.0.1:1"}}}
    )
    code, doc, _ = tntc_json(capsys, "secrets", "check", str(flow))
    assert code == 0, doc
    keys = keys_of(doc)
    assert keys["github.token"]["source"] == ".secrets/github"
    assert keys["slack.webhook_url"]["source"] == "$shared.slack-hook"
    assert keys["extra.key"] == {**keys["extra.key"], "status": "unused", "source": "vault:kv/app#k"}


def test_check_suggests_near_misses_and_text_output(flow: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (flow / ".secrets.yaml").write_text("github:\n  tokn: x\nslack:\n  webhook_url: y\n")
    code = main(["secrets", "check", str(flow)])
    out, err = capsys.readouterr()
    assert code == 1
    assert "Secrets check for secret-flow:" in out
    assert "github.token       missing  (did you mean github.tokn?)" in out
    assert "slack.webhook_url  provisioned (.secrets.yaml)" in out
    assert "github.tokn        unused (.secrets.yaml; nothing reads it)  (did you mean github.token?)" in out
    assert "1 of 2 required secret(s) missing" in err and "tntc secrets init" in err


def test_check_flags_empty_placeholders_unknown_provider_and_missing_shared(
    flow: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (flow / ".secrets.yaml").write_text('github:\n  token: ""\nslack:\n  webhook_url: secret://nowhere/x\n')
    code, doc, _ = tntc_json(capsys, "secrets", "check", str(flow))
    assert code == 1
    keys = keys_of(doc)
    assert "empty" in keys["github.token"]["reason"]
    assert 'secret provider "nowhere" is not configured' in keys["slack.webhook_url"]["reason"]
    (flow / ".secrets.yaml").write_text("github:\n  token: $shared.nope\nslack:\n  webhook_url: y\n")
    code, doc, _ = tntc_json(capsys, "secrets", "check", str(flow))
    assert code == 1 and "no shared secret file" in keys_of(doc)["github.token"]["reason"]


def test_check_applies_environment_provider_policy(
    flow: Path, isolated_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_config(
        isolated_home,
        {
            "secret_providers": {"files": {"type": "file"}, "vault": {"type": "vault"}},
            "environments": {"prod": {"allowed_secret_providers": ["vault"]}},
        },
    )
    (flow / ".secrets.yaml").write_text(
        "github:\n  token: secret://files/t\nslack:\n  webhook_url: secret://vault/kv/s#u\n"
    )
    code, doc, _ = tntc_json(capsys, "secrets", "check", str(flow), "--env", "prod")
    assert code == 1
    assert 'provider "files" is not allowed by environment "prod"' in keys_of(doc)["github.token"]["reason"]
    assert keys_of(doc)["slack.webhook_url"]["status"] == "provisioned"


def test_init_writes_placeholders_private_and_ignored(flow: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, doc, _ = tntc_json(capsys, "secrets", "init", str(flow))
    assert code == 0 and doc["keys"] == ["github.token", "slack.webhook_url"]
    target = flow / ".secrets.yaml"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    text = target.read_text()
    assert 'github:\n  token: ""  # contract.dependencies.github.auth.secret' in text
    assert 'slack:\n  webhook_url: ""  # nodes/use.py:3' in text
    assert ".secrets.yaml" in (flow / ".gitignore").read_text().splitlines()
    # the file is git-ignored for real
    subprocess.run(["git", "init", "-q", str(flow.parents[1])], check=True)
    ignored = subprocess.run(["git", "-C", str(flow), "check-ignore", "-q", ".secrets.yaml"], check=False)
    assert ignored.returncode == 0
    # placeholders are not provisioned values
    assert tntc_json(capsys, "secrets", "check", str(flow))[0] == 1

    target.write_text("github:\n  token: keep-me\n")
    code, doc, _ = tntc_json(capsys, "secrets", "init", str(flow))
    assert code == 2 and "already exists (use --force to overwrite)" in doc["summary"]
    assert target.read_text() == "github:\n  token: keep-me\n"
    assert tntc_json(capsys, "secrets", "init", str(flow), "--force")[0] == 0
    assert "keep-me" not in target.read_text() and stat.S_IMODE(target.stat().st_mode) == 0o600


def test_tntc_init_generates_the_example_from_the_contract(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, _ = tntc_json(capsys, "init", "fresh-flow", "--dir", str(tmp_path / "fresh"))
    assert code == 0
    example = (tmp_path / "fresh" / ".secrets.yaml.example").read_text()
    assert example.startswith("# Example secrets for fresh-flow: run `tntc secrets init`")
    assert all(line.startswith("#") for line in example.splitlines())


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        ("github:\n  token: [unclosed\n", 3, 1),
        ("github:\n  token: a: b\n", 2, 11),
        ("github:\n\ttoken: x\n", 2, 1),
    ],
)
def test_malformed_secrets_yaml_gives_file_line_column(
    flow: Path, capsys: pytest.CaptureFixture[str], text: str, line: int, column: int
) -> None:
    (flow / ".secrets.yaml").write_text(text)
    code, doc, _ = tntc_json(capsys, "secrets", "check", str(flow))
    assert code == 2
    assert doc["error"]["line"] == line and doc["error"]["column"] == column
    assert doc["summary"].startswith(
        f"{flow / '.secrets.yaml'}:{line}:{column}: invalid YAML in secrets file"
    )
    code = main(["run", "--local", str(flow), "--no-guard"])
    _, err = capsys.readouterr()
    assert (
        code == 2
        and f".secrets.yaml:{line}:{column}" in err
        and "Traceback" not in err
        and "ScannerError" not in err
    )


def test_validate_warns_once_per_missing_or_unused_key(
    flow: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (flow / ".secrets.yaml").write_text("github:\n  tokne: x\n")
    (flow / "nodes" / "more.py").write_text('def f(ctx):\n    return ctx.secrets["slack"]["webhook_url"]\n')
    code, doc, _ = tntc_json(capsys, "validate", str(flow))
    assert code == 0
    assert doc["secretWarnings"] == [
        "secret github.token is required (contract.dependencies.github.auth.secret) but not provisioned; "
        "did you mean github.tokne?",
        "secret slack.webhook_url is required (nodes/more.py:2, nodes/use.py:3) but not provisioned",
        "secret github.tokne is provisioned (.secrets.yaml) but nothing reads it; did you mean github.token?",
    ]
    main(["validate", str(flow)])
    out, _ = capsys.readouterr()
    assert out.count("warning secret github.token is required") == 1


def test_run_local_warns_on_stderr(flow: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (flow / ".secrets.yaml").write_text("github:\n  token: t0ken-value\n")
    code, doc, err = tntc_json(capsys, "run", "--local", str(flow), "--no-guard")
    assert code == 0, doc
    assert doc["execution"]["outputs"]["use"] == {"hasToken": True, "tokenLength": 11, "hasHook": False}
    assert (
        err.count("warning: secret slack.webhook_url is required (nodes/use.py:3) but not provisioned") == 1
    )


def test_validate_stays_light_with_the_secret_check(flow: Path) -> None:
    probe = (
        "import sys\nfrom tentacular.cli.main import main\n"
        f"main(['validate', {str(flow)!r}])\n"
        "print('LOADED', sorted(m for m in sys.modules if m.split('.')[0] in\n"
        "    ('lightkube', 'httpx', 'uvicorn', 'nats', 'hvac', 'boto3')))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert "LOADED []" in result.stdout
