"""No secret leaves through any channel (issue 11, Build 4).

A node leaks a distinctive secret (quote, backslash, non-ASCII) and a numeric secret through
every channel it can reach — print() to stdout and stderr, logging (with a traceback),
warnings, an uncaught exception in a thread, ctx.log, its output (nested in tuples), its
error — in every encoding of Build 4: plain, repr-escaped, JSON-escaped, bytes repr, inside
tuples and sets, base64 at each alignment (HTTP Basic), hex, URL-encoded, truncated prefixes
and suffixes. Everything the engine process, `tntc run --local`, `tntc dev` and `tntc test`
write (stdout, stderr, HTTP answers) is then scanned for the secret in all those forms and
for any 8-character piece of it; each channel must also show the control line (so the
scan is not vacuous) and a redaction.
"""

from __future__ import annotations

import base64
import json
import signal
import subprocess
import threading
import time
from pathlib import Path
from urllib.parse import quote, quote_plus

import httpx
import pytest

from tests.guard.support import TNTC, EngineProcess, base_env, free_port, tntc, write_workflow

SECRET = "Zeta'9\\q-ünïque-SECRET-7f3a1c"
PIN = 48151623

LEAK = """
import base64, json, logging, sys, threading, warnings
from urllib.parse import quote


def run(ctx, input):
    s = ctx.secrets["api"]["token"]
    pin = ctx.secrets["api"]["pin"]
    forms = [
        s, repr(s), json.dumps(s), ascii(s), str(s.encode()), str((1, s)), str({s}), str([s]),
        base64.b64encode(s.encode()).decode(),
        "Basic " + base64.b64encode(("user:" + s).encode()).decode(),
        base64.b64encode(("x" + s).encode()).decode(),
        base64.urlsafe_b64encode(("ab" + s + "tail").encode()).decode(),
        s.encode().hex(), s.encode().hex().upper(), quote(s, safe=""), quote(s).lower(),
        "value was " + s[:14], "input_value=" + repr(s[:12] + "..." + s[-10:]), str(pin), f"pin={pin!r}",
    ]
    print("CONTROL-visible stdout")
    for form in forms:
        print("leak", form)
        print("leak", form, file=sys.stderr)
    sys.stdout.write(s[:5])
    sys.stdout.flush()
    sys.stdout.write(s[5:] + "\\n")
    sys.stdout.buffer.write(("bytes " + s + "\\n").encode())
    logging.getLogger("node").warning("logged %s and %r", s, (s, pin))
    try:
        raise ValueError("with a secret " + s)
    except ValueError:
        logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
    warnings.warn("warned " + s, stacklevel=1)
    thread = threading.Thread(target=lambda: (_ for _ in ()).throw(RuntimeError("thread " + repr(s))))
    thread.start()
    thread.join()
    ctx.log.info("ctx.log " + s, pair=(s, pin), encoded=base64.b64encode(s.encode()).decode())
    return {"nested": (s, [s, {"k": (pin, s)}]), "b64": forms[9], "pin": pin, "hex": forms[12]}
"""

FAIL = """
def run(ctx, input):
    s = ctx.secrets["api"]["token"]
    raise ValueError("failed with " + repr(s) + " and " + s[:10] + "...")
"""


def forbidden_forms() -> list[str]:
    raw = SECRET.encode()
    forms = {SECRET, repr(SECRET)[1:-1], json.dumps(SECRET)[1:-1], ascii(SECRET)[1:-1], repr(raw)[2:-1]}
    for prefix in (b"", b"x", b"ab", b"user:"):
        encoded = base64.b64encode(prefix + raw).decode()
        inner = encoded[-(-8 * len(prefix) // 6) + 2 : 8 * (len(prefix) + len(raw)) // 6 - 2]
        forms |= {inner, inner.replace("+", "-").replace("/", "_")}
    forms |= {raw.hex(), quote(SECRET, safe=""), quote(SECRET), quote_plus(SECRET)}
    for text in (SECRET, repr(SECRET)[1:-1]):
        forms |= {text[i : i + 8] for i in range(len(text) - 7)}  # every truncated piece
    forms.add(str(PIN))
    return sorted(forms)


def assert_clean(channel: str, text: str) -> None:
    lowered = text.lower()
    found = [f for f in forbidden_forms() if f in text or (f.lower() in lowered and _folded(f))]
    assert not found, (channel, found, text[:3000])


def _folded(form: str) -> bool:
    return form == SECRET.encode().hex() or "%" in form  # hex and percent-encoding ignore case


@pytest.fixture
def leaky(tmp_path: Path) -> Path:
    directory = write_workflow(
        tmp_path / "leaky",
        {"leak": LEAK, "fail": FAIL},
        contract={"version": "1"},
        edges=[("leak", "fail")],
        secrets={"api": {"token": SECRET, "pin": PIN}},
    )
    fixtures = directory / "tests" / "fixtures"
    fixtures.mkdir(parents=True)
    case = {"input": {}, "secrets": {"api": {"token": SECRET, "pin": PIN}}}
    # A differing output is shown in the report (redacted); a missing key crosses the pipe as <absent>.
    (fixtures / "leak.json").write_text(json.dumps({**case, "expected": {"nested": 1}}))
    (fixtures / "leak.absent.json").write_text(json.dumps({**case, "expected": {"other": 1}}))
    (fixtures / "fail.json").write_text(json.dumps(case))
    return directory


def test_run_local_json_envelope_is_one_clean_document(leaky: Path) -> None:
    done = tntc("run", "--local", str(leaky), "-o", "json", env=base_env(), cwd=leaky)
    assert done.returncode == 1, done.stderr
    document = json.loads(done.stdout)  # node prints never reach stdout: one JSON document
    assert document["command"] == "run"
    result = document["execution"]
    assert result["outputs"]["leak"]["pin"] == "[redacted]" and "[redacted]" in result["errors"]["fail"]
    assert "CONTROL-visible stdout" in done.stderr and "[redacted]" in done.stderr
    assert "Exception in ASGI application" in done.stderr and "Traceback" in done.stderr
    assert_clean("run --local stdout", done.stdout)
    assert_clean("run --local stderr", done.stderr)


def test_run_local_text_output(leaky: Path) -> None:
    done = tntc("run", "--local", str(leaky), env=base_env(TENTACULAR_LOG_FORMAT="text"), cwd=leaky)
    assert "CONTROL-visible stdout" in done.stderr and "CONTROL-visible" not in done.stdout
    assert "[redacted]" in done.stdout
    assert_clean("run --local text stdout", done.stdout)
    assert_clean("run --local text stderr", done.stderr)


def test_engine_process_http_answer_and_logs(leaky: Path) -> None:
    engine = EngineProcess(leaky, env=base_env())
    try:
        answer = engine.client.post("/run", json={})
        health = engine.client.get("/health", params={"detail": "1"})
    finally:
        engine.stop()
    logs = "\n".join(engine.lines)
    assert answer.status_code == 500 and "[redacted]" in answer.text
    assert "CONTROL-visible stdout" in logs and "warned [redacted]" in logs
    assert_clean("engine /run answer", answer.text)
    assert_clean("engine /health?detail=1", health.text)
    assert_clean("engine stderr", logs)


def test_tntc_test_report_and_node_output(leaky: Path) -> None:
    done = tntc("test", str(leaky), "-o", "json", env=base_env(), cwd=leaky)
    assert done.returncode != 0  # the expected output differs, and one node fails
    json.loads(done.stdout)
    assert "CONTROL-visible stdout" in done.stderr and "[redacted]" in done.stderr
    assert_clean("tntc test stdout", done.stdout)
    assert_clean("tntc test stderr", done.stderr)
    text = tntc("test", str(leaky), env=base_env(), cwd=leaky)
    assert "first difference at $.nested" in text.stdout and 'actual:   ["[redacted]"' in text.stdout
    assert "key missing from the output" in text.stdout
    assert_clean("tntc test text", text.stdout + text.stderr)


def test_tntc_dev_answer_and_output(leaky: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [TNTC, "dev", str(leaky), "--port", str(port)],
        cwd=leaky,
        env=base_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    captured: dict[str, str] = {}
    readers = [
        threading.Thread(target=lambda n=n, s=s: captured.__setitem__(n, s.read()), daemon=True)
        for n, s in (("stdout", process.stdout), ("stderr", process.stderr))
    ]
    for reader in readers:
        reader.start()
    try:
        answer = _post_when_up(f"http://127.0.0.1:{port}", process)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=20)
        for reader in readers:
            reader.join(timeout=10)
    assert "[redacted]" in answer
    assert "CONTROL-visible stdout" in captured["stderr"]
    assert_clean("dev answer", answer)
    assert_clean("dev stdout", captured["stdout"])
    assert_clean("dev stderr", captured["stderr"])


def _post_when_up(url: str, process: subprocess.Popen[str]) -> str:
    deadline = time.monotonic() + 30
    with httpx.Client(base_url=url, timeout=20, trust_env=False) as client:
        while time.monotonic() < deadline and process.poll() is None:
            try:
                client.get("/health").raise_for_status()
            except httpx.HTTPError:
                time.sleep(0.1)  # polling for start-up, not synchronising on a guess
                continue
            return client.post("/run", json={}).text
    raise AssertionError("tntc dev did not start")
