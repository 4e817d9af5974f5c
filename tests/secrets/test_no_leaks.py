"""A distinctive value resolved through each provider never leaves tntc: not in stdout/stderr of
validate, run --local (engine logs included), test, deploy --dry-run -o yaml|json, deploy,
secrets check/diff/sync, nor in any file tntc writes — raw, base64 (any alignment, standard and
URL-safe), base64 of the Secret file, or URL-encoded (issue 16, D5)."""

from __future__ import annotations

import base64
import contextlib
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest

from tentacular.cli.main import main
from tests.secrets.conftest import make_flow, write_config
from tests.secrets.servers import AwsEndpoint, OpenBao

# One value per provider; '/', '+', '=' make URL encoding and both base64 alphabets differ.
VALUES = {
    "vault": "vlt-Q9z/x+Kp=7741aa",
    "aws-sm": "asm-Lm3/w+Rt=5512bb",
    "aws-ssm": "ssm-Hx8/y+Vb=3390cc",
    "file": "fil-Pc2/u+Ne=1184dd",
    "env": "env-Dk7/t+Gs=6603ee",
    "dotenv": "dot-Wr5/s+Jq=2297ff",
}
SECRETS_YAML = """\
github:
  token: secret://vault/secret/leak#token
sm:
  key: secret://aws-sm/leak-sm#key
ssm:
  key: secret://ssm/leak/ssm
localfile:
  key: secret://files/leak.txt
fromenv:
  key: secret://env/TNTC_LEAK_ENV
dotenv:
  key: secret://dotenv/LEAK_DOTENV
"""
NODE = """\
async def run(ctx, input):
    token = ctx.dependency("github").secret
    values = {s: ctx.secrets.get(s, {}).get("key") for s in ("sm", "ssm", "localfile", "fromenv", "dotenv")}
    ctx.log.info(f"token={token} values={values}")
    return {"token": token, "values": values, "lengths": sorted(len(v or "") for v in values.values())}
"""
FIXTURE = {"input": {}, "secrets": {"github": {"token": "fixture-token"}}}


def encodings(value: str) -> dict[str, str]:
    raw = value.encode()
    forms = {
        "raw": value,
        "url": quote(value),
        "url-plus": quote_plus(value),
        "json": json.dumps(value)[1:-1],
    }
    for offset in range(3):  # base64 of the value inside a longer text depends on its alignment
        for name, encode in (("b64", base64.b64encode), ("b64url", base64.urlsafe_b64encode)):
            # only the 4-character groups made of value bytes alone are independent of the context
            first, end = -(-offset // 3), (offset + len(raw)) // 3
            encoded = encode(b"\0" * offset + raw).decode()
            forms[f"{name}@{offset}"] = encoded[4 * first : 4 * end]
    forms["secret-file"] = base64.b64encode(
        json.dumps({"key": value}, separators=(",", ":")).encode()
    ).decode()
    return forms


def assert_clean(where: str, text: str) -> None:
    for provider, value in VALUES.items():
        for form, needle in encodings(value).items():
            assert needle not in text, f"{provider} value leaked ({form}) in {where}"


@pytest.fixture
def leaky_flow(
    tmp_path: Path,
    isolated_home: Path,
    openbao: OpenBao,
    moto_server: AwsEndpoint,
    monkeypatch: pytest.MonkeyPatch,
) -> Path:
    return prepare_leaky_flow(tmp_path, isolated_home, openbao, moto_server, monkeypatch)


def prepare_leaky_flow(
    tmp_path: Path, home: Path, openbao: OpenBao, moto_server: AwsEndpoint, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """The workflow, its .secrets.yaml of references and the providers' config, values stored in each."""
    bao: Any = openbao.client()
    bao.secrets.kv.v2.create_or_update_secret(
        path="leak", secret={"token": VALUES["vault"]}, mount_point="secret"
    )
    sm: Any = moto_server.client("secretsmanager")
    with contextlib.suppress(sm.exceptions.ResourceExistsException):  # a second test of the session
        sm.create_secret(Name="leak-sm", SecretString=json.dumps({"key": VALUES["aws-sm"]}))
    ssm: Any = moto_server.client("ssm")
    ssm.put_parameter(Name="/leak/ssm", Value=VALUES["aws-ssm"], Type="SecureString", Overwrite=True)
    flow = make_flow(tmp_path)
    (flow / "nodes" / "use.py").write_text(NODE)
    (flow / "tests" / "fixtures").mkdir(parents=True)
    (flow / "tests" / "fixtures" / "use.json").write_text(json.dumps(FIXTURE))
    (flow / ".secrets.yaml").write_text(SECRETS_YAML)
    outside = tmp_path / "outside"  # provider sources live outside the workflow (and are not scanned)
    outside.mkdir()
    (outside / "leak.txt").write_text(VALUES["file"] + "\n")
    (outside / "leak.env").write_text(f"LEAK_DOTENV={VALUES['dotenv']}\n")
    monkeypatch.setenv("TNTC_LEAK_ENV", VALUES["env"])
    monkeypatch.setenv("LEAK_BAO_TOKEN", openbao.root_token)
    aws = {"endpoint_url": moto_server.url, "region": moto_server.region}
    write_config(
        home,
        {
            "secret_providers": {
                "vault": {"type": "vault", "address": openbao.address, "token_env": "LEAK_BAO_TOKEN"},
                "aws-sm": {"type": "aws-sm", **aws},
                "ssm": {"type": "aws-ssm", "prefix": "/", **aws},
                "files": {"type": "file", "root": str(outside)},
                "env": {"type": "env"},
                "dotenv": {"type": "dotenv", "file": str(outside / "leak.env")},
            }
        },
    )
    return flow


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out + err


def written_files(*roots: Path) -> str:
    texts = []
    for root in roots:
        for path in sorted(root.rglob("*")):
            if path.is_file():
                texts.append(f"--- {path}\n{path.read_text(errors='replace')}")
    return "\n".join(texts)


def test_local_commands_never_show_resolved_values(
    leaky_flow: Path, isolated_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    flow = str(leaky_flow)
    code, text = run_cli(capsys, "run", "--local", flow, "--no-guard", "-o", "json")
    assert code == 0, text
    result = json.loads(text[: text.index("\n")])
    outputs = result["execution"]["outputs"]["use"]
    # The node really received every value (lengths), and the engine redacted them on the way out.
    assert outputs["lengths"] == sorted(
        len(VALUES[p]) for p in ("aws-sm", "aws-ssm", "file", "env", "dotenv")
    )
    assert outputs["token"] == "[redacted]"
    assert "token=[redacted]" in text  # the engine log line, redacted
    assert_clean("run --local -o json (stdout+stderr, engine logs)", text)
    for argv in (
        ("run", "--local", flow, "--no-guard"),
        ("validate", flow),
        ("validate", flow, "-o", "json"),
        ("test", flow, "--warn"),  # the node reads undeclared secrets on purpose: drift is reported
        ("test", flow, "--warn", "-o", "json"),
        ("secrets", "check", flow, "-o", "json"),
        ("deploy", flow, "--dry-run"),
        ("deploy", flow, "--dry-run", "-o", "json"),
    ):
        code, text = run_cli(capsys, *argv)
        assert code == 0, (argv, text)
        assert_clean(" ".join(argv), text)
    assert_clean("files tntc wrote", written_files(leaky_flow, isolated_home))


def test_dry_run_shows_provenance_instead_of_values(
    leaky_flow: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, text = run_cli(capsys, "deploy", str(leaky_flow), "--dry-run", "-o", "json")
    assert code == 0
    document = json.loads(text[: text.index("\n")])
    secret = next(o for o in document["objects"] if o["kind"] == "Secret")
    assert secret["data"]["github"] == "<from vault:secret/leak#token>"
    assert secret["data"]["ssm"] == "<from ssm:leak/ssm>"
    assert document["secretSources"]["sm.key"] == "aws-sm:leak-sm#key"
    sources = json.loads(secret["metadata"]["annotations"]["tentacular.io/secret-sources"])
    assert sources["dotenv.key"] == "dotenv:LEAK_DOTENV"


@pytest.mark.parametrize(
    "leak",
    [
        lambda v: v,
        lambda v: quote(v, safe=""),
        lambda v: quote_plus(v),
        lambda v: base64.b64encode(json.dumps({"token": v}).encode()).decode(),
        lambda v: base64.urlsafe_b64encode(b"x" + v.encode()).decode(),
        lambda v: json.dumps({"a": v}),
    ],
)
def test_the_scan_catches_each_encoding(leak: Any) -> None:
    """The detector itself: a leak in any of these forms, inside other text, fails the scan."""
    with pytest.raises(AssertionError, match="leaked"):
        assert_clean("probe", "before " + leak(VALUES["vault"]) + " after")
