"""Real secret backends on loopback for the provider tests: OpenBao (the Vault API) in dev mode
and moto's AWS endpoint (Secrets Manager, SSM Parameter Store).

OpenBao comes from tools/openbao/install.sh (`make test` runs it); a missing binary is a
failure with the command to fix it, never a skip.
"""

from __future__ import annotations

import os
import secrets as random
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.processes import free_port, wait_healthy

REPO_ROOT = Path(__file__).resolve().parents[2]
INSTALLER = REPO_ROOT / "tools" / "openbao" / "install.sh"
START_TIMEOUT = 60.0  # generous: the machine is shared


def openbao_binary() -> Path:
    override = os.environ.get("TNTC_OPENBAO_BIN")
    if override:
        return Path(override)
    result = subprocess.run(["bash", str(INSTALLER), "--print"], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        pytest.fail(f"OpenBao is not installed and {INSTALLER} failed:\n{result.stderr}")
    return Path(result.stdout.strip().splitlines()[-1])


@dataclass(frozen=True)
class OpenBao:
    address: str
    root_token: str

    def client(self, token: str | None = None) -> object:
        import hvac

        return hvac.Client(url=self.address, token=token or self.root_token)


def _wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    wait_healthy(
        f"{url}/v1/sys/health",
        process,
        timeout=START_TIMEOUT,
        describe=lambda: "OpenBao: " + log.read_text(errors="replace")[-2000:],
        fail=pytest.fail,
    )


@pytest.fixture(scope="session")
def openbao(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenBao]:
    """``bao server -dev`` on a free loopback port: in-memory storage, KV v2 at ``secret/``."""
    binary = openbao_binary()
    port = free_port()
    token = "root-" + random.token_hex(8)
    log = tmp_path_factory.mktemp("openbao") / "server.log"
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(log.parent)}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                str(binary), "server", "-dev",
                f"-dev-listen-address=127.0.0.1:{port}",
                f"-dev-root-token-id={token}",
                "-dev-no-store-token",
            ],
            stdout=out, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
    address = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(address, process, log)
        yield OpenBao(address, token)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=20)


@dataclass(frozen=True)
class AwsEndpoint:
    url: str
    region: str = "us-east-1"

    def client(self, service: str) -> object:
        import boto3

        return boto3.client(service, endpoint_url=self.url, region_name=self.region)


@pytest.fixture(scope="session")
def moto_server() -> Iterator[AwsEndpoint]:
    """moto's standalone AWS endpoint (the real HTTP server, in a thread) on a free loopback port."""
    from moto.server import ThreadedMotoServer

    previous = {
        k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")
    }
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
    )
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield AwsEndpoint(f"http://127.0.0.1:{port}")
    finally:
        server.stop()
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
