"""Every default and enumerated setting more than one layer relies on, defined once.

Shared by every layer, like ``errors`` and ``events``.

``validate``, ``test``, ``run --local``, ``dev``, ``deploy`` and the engine all read these
names, so a default cannot drift between the command that checks a value and the one
that uses it (issue 10, Build 2).
"""

from __future__ import annotations

from typing import Literal

WORKFLOW_FILE = "workflow.yaml"

# Per-node attempt timeout (``config.timeout``) and the shared HTTP client's timeout.
DEFAULT_NODE_TIMEOUT = "30s"
DEFAULT_NODE_TIMEOUT_SECONDS = 30.0
# ``tntc run`` (deployed or local) waits this long for a result; ``deploy`` for the rollout.
DEFAULT_RUN_TIMEOUT = 30.0
DEFAULT_DEPLOY_TIMEOUT = 120.0

# Every pod runs under this RuntimeClass unless a flag, the environment or the config says
# otherwise ("" is a decision: no RuntimeClass), or a kind cluster is detected.
DEFAULT_RUNTIME_CLASS = "gvisor"

Enforcement = Literal["strict", "audit"]
ENFORCEMENTS: tuple[Enforcement, ...] = ("strict", "audit")
