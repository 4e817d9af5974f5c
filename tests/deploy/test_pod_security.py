"""Every pod tntc creates passes the Pod Security Standards restricted profile (D6, Q14)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from tentacular.spec import LoadedWorkflow
from tests.deploy.conftest import every_rendering
from tests.deploy.pss import pod_templates, restricted_violations


def test_every_generated_pod_template_is_restricted(full_workflow: LoadedWorkflow) -> None:
    seen = set()
    for label, objects in every_rendering(full_workflow):
        for name, template in pod_templates(objects):
            problems = restricted_violations(template["spec"], template["metadata"].get("annotations"))
            assert problems == [], f"{label} {name}: {problems}"
            seen.add(name.split("/")[0])
    assert seen == {"Deployment", "CronJob"}


def test_hardening_beyond_the_profile(full_workflow: LoadedWorkflow) -> None:
    for label, objects in every_rendering(full_workflow):
        for name, template in pod_templates(objects):
            spec = template["spec"]
            for container in spec["containers"]:
                assert container["securityContext"]["readOnlyRootFilesystem"] is True, name
                assert "env" not in container and "envFrom" not in container, f"{label} {name}"
                assert container["resources"]["limits"], name
            assert spec["enableServiceLinks"] is False
            if "sink" not in label:
                assert spec["automountServiceAccountToken"] is False, f"{label} {name}"


def _engine_pod(full_workflow: LoadedWorkflow) -> dict[str, Any]:
    objects = every_rendering(full_workflow)[0][1]
    return copy.deepcopy(next(t for _, t in pod_templates(objects))["spec"])


def _container(spec: dict[str, Any]) -> dict[str, Any]:
    container: dict[str, Any] = spec["containers"][0]
    return container


BREAKAGES: dict[str, Callable[[dict[str, Any]], object]] = {
    "privileged": lambda s: _container(s)["securityContext"].update(privileged=True),
    "privilege escalation": lambda s: _container(s)["securityContext"].pop("allowPrivilegeEscalation"),
    "root user": lambda s: _container(s)["securityContext"].update(runAsUser=0),
    "runAsNonRoot false": lambda s: _container(s)["securityContext"].update(runAsNonRoot=False),
    "non-root unset": lambda s: (
        s["securityContext"].pop("runAsNonRoot"),
        _container(s)["securityContext"].pop("runAsNonRoot"),
    ),
    "capabilities kept": lambda s: _container(s)["securityContext"].update(capabilities={}),
    "capability added": lambda s: _container(s)["securityContext"]["capabilities"].update(add=["NET_ADMIN"]),
    "seccomp unconfined": lambda s: _container(s)["securityContext"].update(
        seccompProfile={"type": "Unconfined"}
    ),
    "seccomp missing": lambda s: (
        s["securityContext"].pop("seccompProfile"),
        _container(s)["securityContext"].pop("seccompProfile"),
    ),
    "host network": lambda s: s.update(hostNetwork=True),
    "host pid": lambda s: s.update(hostPID=True),
    "host port": lambda s: _container(s)["ports"][0].update(hostPort=8080),
    "hostPath volume": lambda s: s["volumes"].append({"name": "h", "hostPath": {"path": "/"}}),
    "disallowed volume": lambda s: s["volumes"].append({"name": "n", "nfs": {"server": "x", "path": "/"}}),
    "unsafe sysctl": lambda s: s["securityContext"].update(sysctls=[{"name": "kernel.msgmax", "value": "1"}]),
    "proc mount": lambda s: _container(s)["securityContext"].update(procMount="Unmasked"),
    "selinux user": lambda s: _container(s)["securityContext"].update(seLinuxOptions={"user": "root"}),
    "init container": lambda s: s.update(initContainers=[{"name": "init", "image": "busybox"}]),
}


@pytest.mark.parametrize("breakage", sorted(BREAKAGES))
def test_the_checker_catches_violations(breakage: str, full_workflow: LoadedWorkflow) -> None:
    spec = _engine_pod(full_workflow)
    assert restricted_violations(spec) == []
    BREAKAGES[breakage](spec)
    assert restricted_violations(spec), f"{breakage} went unnoticed"
