"""Event triggers (issue 14): queue throughput and webhook accept latency through the real engine.

A real ``nats-server`` (JetStream on) and ``python -m tentacular.engine`` (guard on, one
worker) with a one-node workflow that returns its input.

* Queue throughput, messages/s, at ``maxConcurrency`` 1, 8 and 32:
  core NATS — 1,000 messages published at once (below the subscription's 1,024-message
  buffer, so none is dropped), timed from the first publish until the engine counts all
  of them processed; JetStream — 2,000 messages stored first, timed from the engine's
  first pull until all are processed and acked.
* Webhook accept latency: 500 sequential signed GitHub deliveries over one keep-alive
  connection; p50/p99 of the time to the 202 answer (the runs happen in the background).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

ROOT = Path(__file__).resolve().parent.parent
CONCURRENCY = (1, 8, 32)
CORE_MESSAGES = 1000
JETSTREAM_MESSAGES = 2000
WEBHOOKS = 500
SECRET = "bench-webhook-secret"
NODE = "async def run(ctx, input):\n    return input\n"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _nats_server(store: Path) -> tuple[subprocess.Popen[bytes], str]:
    binary = Path(sys.executable).parent / "nats-server"
    port = _free_port()
    executable = str(binary if binary.exists() else shutil.which("nats-server"))
    proc = subprocess.Popen(
        [executable, "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", str(store)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.05)
    return proc, f"nats://127.0.0.1:{port}"


def _workflow(directory: Path, triggers: list[dict[str, Any]], config: dict[str, Any]) -> Path:
    (directory / "nodes").mkdir(parents=True)
    (directory / "nodes" / "echo.py").write_text(NODE)
    spec = {
        "name": "bench-triggers",
        "version": "1.0",
        "triggers": triggers,
        "nodes": {"echo": {"path": "./nodes/echo.py"}},
        "config": {"timeout": "10s", **config},
        "contract": {"version": "1", "dependencies": {}},
    }
    (directory / "workflow.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return directory


class _Engine:
    def __init__(self, workflow: Path, *extra: str) -> None:
        env = {**os.environ, "TENTACULAR_LOG_FORMAT": "json"}
        argv = [sys.executable, "-m", "tentacular.engine", "--workflow", str(workflow)]
        self.proc = subprocess.Popen(
            [*argv, "--host", "127.0.0.1", "--port", "0", *extra],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.lines: list[str] = []
        threading.Thread(target=lambda: self.lines.extend(self.proc.stderr or []), daemon=True).start()
        line = self.wait_for("Listening on http://")
        self.url = "http://127.0.0.1:" + line.rsplit(":", 1)[1].split('"')[0]

    def wait_for(self, text: str) -> str:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            found = next((line for line in list(self.lines) if text in line), None)
            if found:
                return found
            time.sleep(0.01)
        raise RuntimeError(f"engine never logged {text!r}:\n" + "".join(self.lines))

    def processed(self, client: httpx.Client) -> int:
        data = client.get(self.url + "/health?detail=1").json()
        return sum(int(c["processed"]) for c in data["triggers"])

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)


def _wait_processed(engine: _Engine, count: int) -> float:
    with httpx.Client(timeout=10) as client:
        while engine.processed(client) < count:
            time.sleep(0.005)
    return time.perf_counter()


async def _publish_core(url: str, subject: str, count: int) -> None:
    import nats

    client = await nats.connect(url)
    for n in range(count):
        await client.publish(subject, b'{"n": %d}' % n)
    await client.flush()
    await client.close()


async def _publish_jetstream(url: str, stream: str, subject: str, count: int) -> None:
    import nats

    client = await nats.connect(url)
    js = client.jetstream()
    await js.add_stream(name=stream, subjects=[subject])
    for start in range(0, count, 200):
        acks = [js.publish(subject, b'{"n": %d}' % n) for n in range(start, min(count, start + 200))]
        await asyncio.gather(*acks)
    await client.close()


def _core(url: str, work: Path, concurrency: int) -> float:
    subject = f"bench.core.c{concurrency}"
    trigger = {"type": "queue", "subject": subject, "maxConcurrency": concurrency}
    engine = _Engine(_workflow(work / f"core{concurrency}", [trigger], {"nats_url": url}))
    try:
        engine.wait_for(f"subscribed to {subject}")
        started = time.perf_counter()
        asyncio.run(_publish_core(url, subject, CORE_MESSAGES))
        return CORE_MESSAGES / (_wait_processed(engine, CORE_MESSAGES) - started)
    finally:
        engine.stop()


def _jetstream(url: str, work: Path, concurrency: int) -> float:
    subject = f"bench.js.c{concurrency}"
    asyncio.run(_publish_jetstream(url, f"BENCH_JS_C{concurrency}", subject, JETSTREAM_MESSAGES))
    trigger = {"type": "queue", "subject": subject, "jetstream": True, "maxConcurrency": concurrency}
    engine = _Engine(_workflow(work / f"js{concurrency}", [trigger], {"nats_url": url}))
    try:
        engine.wait_for(f"JetStream: consuming {subject}")
        started = time.perf_counter()
        return JETSTREAM_MESSAGES / (_wait_processed(engine, JETSTREAM_MESSAGES) - started)
    finally:
        engine.stop()


def _webhook_latency(work: Path) -> dict[str, float]:
    flow = _workflow(work / "hooks", [{"type": "webhook", "provider": "github", "event": "push"}], {})
    secrets = work / "secrets.yaml"
    secrets.write_text(yaml.safe_dump({"github": {"webhook_secret": SECRET}}))
    engine = _Engine(flow, "--secrets", str(secrets))
    timings: list[float] = []
    try:
        with httpx.Client(base_url=engine.url, timeout=10) as client:
            for n in range(WEBHOOKS + 50):
                body = json.dumps({"ref": "main", "n": n}).encode()
                signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
                headers = {
                    "X-GitHub-Event": "push",
                    "X-GitHub-Delivery": f"d-{n}",
                    "X-Hub-Signature-256": signature,
                }
                started = time.perf_counter()
                response = client.post("/webhook/github", content=body, headers=headers)
                elapsed = time.perf_counter() - started
                assert response.status_code == 202, response.text
                if n >= 50:  # warm-up excluded
                    timings.append(elapsed * 1000)
    finally:
        engine.stop()
    cuts = statistics.quantiles(timings, n=100)
    return {"p50Ms": round(cuts[49], 2), "p99Ms": round(cuts[98], 2), "deliveries": WEBHOOKS}


def main(results_dir: Path) -> None:
    figures: dict[str, Any] = {"core": {}, "jetstream": {}}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        server, url = _nats_server(work / "store")
        try:
            for concurrency in CONCURRENCY:
                figures["core"][str(concurrency)] = round(_core(url, work, concurrency))
                figures["jetstream"][str(concurrency)] = round(_jetstream(url, work, concurrency))
            figures["webhook"] = _webhook_latency(work)
        finally:
            server.terminate()
            server.wait(10)
    (results_dir / "triggers.json").write_text(json.dumps(figures, indent=2) + "\n")
    columns = " | ".join(f"maxConcurrency {c}" for c in CONCURRENCY)
    lines = [
        f"| queue (messages/s, trivial workflow) | {columns} |",
        "|---|" + "---|" * len(CONCURRENCY),
    ]
    for mode, label in (
        ("core", f"core NATS ({CORE_MESSAGES} msgs)"),
        ("jetstream", f"JetStream ({JETSTREAM_MESSAGES} msgs, acked)"),
    ):
        lines.append(f"| {label} | " + " | ".join(str(figures[mode][str(c)]) for c in CONCURRENCY) + " |")
    hook = figures["webhook"]
    lines += ["", "| webhook accept (202) | p50 ms | p99 ms |", "|---|---|---|"]
    lines.append(
        f"| {hook['deliveries']} signed GitHub deliveries, sequential | {hook['p50Ms']} | {hook['p99Ms']} |"
    )
    (results_dir / "triggers.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    output = ROOT / "benchmarks" / "results"
    output.mkdir(exist_ok=True)
    main(output)
