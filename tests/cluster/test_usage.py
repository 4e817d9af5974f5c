"""``tntc status --detail`` and ``tntc logs --usage`` (issue 17): token usage of a deployed workflow read
from its engine's own counters through the API server's pod proxy. The pod is a real engine process;
the emulator's ``pods/proxy`` hop forwards to it as the API server would."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tentacular.cli.main import main
from tests.cluster.emulator import KubeEmulator
from tests.cluster.test_lifecycle import tntc
from tests.engine.conftest import write_flow
from tests.engine.test_process import EngineProcess

ASK = """
async def run(ctx, input):
    ctx.usage(model="claude-sonnet-4-5", input_tokens=120, output_tokens=30, provider="anthropic", cost=0.002)
    ctx.usage(model="gpt-4.1", input_tokens=10, output_tokens=5, provider="openai")
    return {"ok": True}
"""


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[tuple[Path, EngineProcess]]:
    flow = write_flow(
        tmp_path / "ask-flow",
        {"ask": ASK},
        None,
        name="ask-flow",
        contract={"version": "1", "dependencies": {}},
    )
    process = EngineProcess(flow)
    try:
        yield flow, process
    finally:
        process.stop()


def _forward(url: str) -> Any:
    def proxy(namespace: str, pod: str, port: int, path: str, query: dict[str, str]) -> tuple[int, Any]:
        assert port == 8080
        response = httpx.get(url + path, params=query, timeout=10)
        return response.status_code, response.json()

    return proxy


def test_status_detail_and_logs_usage_sum_the_pods_counters(
    emulator: KubeEmulator,
    kubeconfig: Path,
    engine: tuple[Path, EngineProcess],
    capsys: pytest.CaptureFixture[str],
) -> None:
    flow, process = engine
    code, doc, _ = tntc(capsys, "deploy", str(flow), "--force", "--runtime-class", "")
    assert code == 0, doc
    for _ in range(3):
        assert httpx.post(f"{process.url}/run", json={}, timeout=10).json()["success"] is True
    [pod] = emulator.objects("pods", "default")
    emulator.put(  # a second ready pod the API server cannot reach: listed, not counted
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": "ask-flow-old-0",
                "namespace": "default",
                "labels": {"app.kubernetes.io/name": "ask-flow"},
            },
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]},
        }
    )
    emulator.pod_proxy = lambda ns, name, port, path, query: (
        _forward(process.url)(ns, name, port, path, query)
        if name == pod
        else (503, {"kind": "Status", "status": "Failure", "message": "dial tcp: i/o timeout", "code": 503})
    )

    code, doc, _ = tntc(capsys, "status", "ask-flow", "--detail")
    assert code == 0, doc
    usage = doc["workflow"]["usage"]
    assert usage["total"] == {
        "inputTokens": 390,
        "outputTokens": 105,
        "totalTokens": 495,
        "calls": 6,
        "cost": 0.006,
    }
    assert usage["models"]["claude-sonnet-4-5"]["provider"] == "anthropic"
    assert usage["models"]["gpt-4.1"]["inputTokens"] == 30
    counted = {p["pod"]: p for p in usage["pods"]}
    assert counted[pod]["runs"] == 3 and counted[pod]["inputTokens"] == 390
    assert "error" in counted["ask-flow-old-0"]
    assert usage["reached"] == 1

    assert main(["status", "ask-flow", "--detail"]) == 0
    text = capsys.readouterr().out
    assert "Token usage (since pod start, 1/2 pod(s) reached): 495 tokens (390 in, 105 out)" in text
    assert "claude-sonnet-4-5 (anthropic): 360 in, 90 out, 3 call(s)" in text
    assert "pod ask-flow-old-0: not counted" in text

    code, doc, _ = tntc(capsys, "logs", "ask-flow", "--usage")
    assert code == 0, doc
    assert doc["usage"]["total"]["totalTokens"] == 495 and doc["usage"]["namespace"] == "default"
    assert doc["summary"] == "ask-flow: 495 tokens in 6 LLM call(s)"


def test_usage_without_pods_proxy_permission_is_reported_per_pod(
    emulator: KubeEmulator,
    kubeconfig: Path,
    engine: tuple[Path, EngineProcess],
    capsys: pytest.CaptureFixture[str],
) -> None:
    flow, _ = engine
    assert tntc(capsys, "deploy", str(flow), "--force", "--runtime-class", "")[0] == 0
    emulator.denied.add(("get", "pods/proxy"))
    code, doc, _ = tntc(capsys, "logs", "ask-flow", "--usage")
    assert code == 0, doc
    [pod] = doc["usage"]["pods"]
    assert "forbidden" in pod["error"].lower() or "permission" in pod["error"].lower(), pod
    assert doc["usage"]["total"]["totalTokens"] == 0
    code, doc, _ = tntc(capsys, "logs", "missing-flow", "--usage")
    assert code != 0 and "not found" in doc["error"]["message"]
