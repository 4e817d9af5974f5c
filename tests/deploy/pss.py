"""The Pod Security Standards "restricted" profile as a checker.

Source: https://kubernetes.io/docs/concepts/security/pod-security-standards/

It implements every control of the Baseline and Restricted levels that a pod spec can
violate, so the tests can assert that generated pods pass and that broken ones fail.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

ALLOWED_VOLUME_TYPES = frozenset(
    {
        "configMap",
        "csi",
        "downwardAPI",
        "emptyDir",
        "ephemeral",
        "persistentVolumeClaim",
        "projected",
        "secret",
    }
)
SAFE_SYSCTLS = frozenset(
    {
        "kernel.shm_rmid_forced",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.ip_unprivileged_port_start",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range",
        "net.ipv4.ip_local_reserved_ports",
        "net.ipv4.tcp_keepalive_time",
        "net.ipv4.tcp_fin_timeout",
        "net.ipv4.tcp_keepalive_intvl",
        "net.ipv4.tcp_keepalive_probes",
    }
)
ALLOWED_SELINUX_TYPES = frozenset({"", "container_t", "container_init_t", "container_kvm_t"})
ALLOWED_SECCOMP = frozenset({"RuntimeDefault", "Localhost"})
ALLOWED_APPARMOR = frozenset({"RuntimeDefault", "Localhost"})


def _containers(spec: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for field in ("initContainers", "containers", "ephemeralContainers"):
        for container in spec.get(field) or []:
            yield f"{field}[{container.get('name')}]", container


def restricted_violations(spec: Mapping[str, Any], annotations: Mapping[str, str] | None = None) -> list[str]:
    """Every way ``spec`` (a PodSpec) breaks the restricted profile; empty means it passes."""
    problems: list[str] = []
    pod_sc = spec.get("securityContext") or {}

    # --- baseline -------------------------------------------------------------------------
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(field):
            problems.append(f"host namespaces: {field} must be false")
    if (pod_sc.get("windowsOptions") or {}).get("hostProcess"):
        problems.append("HostProcess: pod windowsOptions.hostProcess must be false")
    for sysctl in pod_sc.get("sysctls") or []:
        if sysctl.get("name") not in SAFE_SYSCTLS:
            problems.append(f"sysctls: {sysctl.get('name')} is not a safe sysctl")
    _check_selinux("pod", pod_sc.get("seLinuxOptions"), problems)
    _check_apparmor("pod", pod_sc.get("appArmorProfile"), problems)
    for key, value in (annotations or {}).items():
        if key.startswith("container.apparmor.security.beta.kubernetes.io/") and not (
            value == "runtime/default" or value.startswith("localhost/")
        ):
            problems.append(f"AppArmor: annotation {key}={value}")

    # --- restricted: volumes -----------------------------------------------------------------
    for volume in spec.get("volumes") or []:
        kinds = set(volume) - {"name"}
        if "hostPath" in kinds:
            problems.append(f"hostPath volumes: {volume['name']}")
        if not kinds <= ALLOWED_VOLUME_TYPES:
            problems.append(f"volume types: {volume['name']} uses {sorted(kinds - ALLOWED_VOLUME_TYPES)}")

    # --- restricted: pod-level defaults that containers may inherit ---------------------------
    pod_non_root = pod_sc.get("runAsNonRoot") is True
    pod_seccomp = (pod_sc.get("seccompProfile") or {}).get("type")
    if pod_sc.get("runAsUser") == 0:
        problems.append("running as non-root user: pod runAsUser must not be 0")
    if pod_seccomp is not None and pod_seccomp not in ALLOWED_SECCOMP:
        problems.append(f"seccomp: pod profile {pod_seccomp} not allowed")

    for where, container in _containers(spec):
        sc = container.get("securityContext") or {}
        if sc.get("privileged"):
            problems.append(f"privileged: {where}")
        if (sc.get("windowsOptions") or {}).get("hostProcess"):
            problems.append(f"HostProcess: {where}")
        for port in container.get("ports") or []:
            if port.get("hostPort"):
                problems.append(f"host ports: {where} hostPort {port['hostPort']}")
        if sc.get("procMount") not in (None, "Default"):
            problems.append(f"/proc mount type: {where}")
        _check_selinux(where, sc.get("seLinuxOptions"), problems)
        _check_apparmor(where, sc.get("appArmorProfile"), problems)
        if sc.get("allowPrivilegeEscalation") is not False:
            problems.append(f"privilege escalation: {where} must set allowPrivilegeEscalation: false")
        if sc.get("runAsNonRoot") is False or (not pod_non_root and sc.get("runAsNonRoot") is not True):
            problems.append(f"running as non-root: {where}")
        if sc.get("runAsUser") == 0:
            problems.append(f"running as non-root user: {where} runAsUser 0")
        seccomp = (sc.get("seccompProfile") or {}).get("type")
        if seccomp is not None and seccomp not in ALLOWED_SECCOMP:
            problems.append(f"seccomp: {where} profile {seccomp}")
        if seccomp is None and pod_seccomp not in ALLOWED_SECCOMP:
            problems.append(f"seccomp: {where} has no RuntimeDefault/Localhost profile")
        capabilities = sc.get("capabilities") or {}
        if "ALL" not in (capabilities.get("drop") or []):
            problems.append(f"capabilities: {where} must drop ALL")
        added = set(capabilities.get("add") or []) - {"NET_BIND_SERVICE"}
        if added:
            problems.append(f"capabilities: {where} adds {sorted(added)}")
    return problems


def _check_selinux(where: str, options: Mapping[str, Any] | None, problems: list[str]) -> None:
    if not options:
        return
    if options.get("type", "") not in ALLOWED_SELINUX_TYPES:
        problems.append(f"SELinux: {where} type {options.get('type')}")
    if options.get("user") or options.get("role"):
        problems.append(f"SELinux: {where} sets user/role")


def _check_apparmor(where: str, profile: Mapping[str, Any] | None, problems: list[str]) -> None:
    if profile and profile.get("type") not in ALLOWED_APPARMOR:
        problems.append(f"AppArmor: {where} profile {profile.get('type')}")


def pod_templates(objects: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(description, PodTemplateSpec) of every workload object."""
    for obj in objects:
        name = f"{obj['kind']}/{obj['metadata']['name']}"
        if obj["kind"] in ("Deployment", "Job", "StatefulSet", "DaemonSet"):
            yield name, obj["spec"]["template"]
        elif obj["kind"] == "CronJob":
            yield name, obj["spec"]["jobTemplate"]["spec"]["template"]
        elif obj["kind"] == "Pod":
            yield name, {"metadata": obj["metadata"], "spec": obj["spec"]}
