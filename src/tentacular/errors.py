"""The one exception tree of Tentacular.

Every error the user can cause or meet carries a stable ``code`` (for the JSON
envelope and for agents), the process ``exit_code`` the CLI uses, and an
optional ``hint`` saying how to fix it. The CLI is the only place that renders
them; library code raises and never prints.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from tentacular.spec._issues import SpecIssue

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2


class TentacularError(Exception):
    """Base of every error Tentacular raises on purpose."""

    code: ClassVar[str] = "error"
    exit_code: ClassVar[int] = EXIT_FAILURE

    def __init__(self, message: str, *, hint: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.details: dict[str, Any] = details

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.hint:
            data["hint"] = self.hint
        data.update(self.details)
        return data


class UsageError(TentacularError):
    """The command line itself is wrong (unknown option, bad argument value)."""

    code = "usage"
    exit_code = EXIT_USAGE


class InputError(TentacularError):
    """User-provided input (a file, a JSON payload, a path) is unusable."""

    code = "invalid_input"
    exit_code = EXIT_USAGE


class WorkflowNotFoundError(InputError):
    code = "workflow_not_found"


class SpecError(InputError):
    """workflow.yaml failed validation; ``issues`` lists every problem found."""

    code = "invalid_workflow"

    def __init__(self, message: str, issues: Sequence[SpecIssue], *, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.issues = list(issues)

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["errors"] = [issue.to_dict() for issue in self.issues if issue.severity == "error"]
        return data


class ScaffoldError(InputError):
    code = "scaffold_refused"


class SecretsError(InputError):
    """A secret source or ``$shared`` reference cannot be resolved."""

    code = "secrets"


class SecretReferenceError(SecretsError):
    """A ``secret://`` reference that does not parse."""

    code = "secret_reference"


class SecretProviderError(SecretsError):
    """A secret provider is unknown, not allowed, unreachable, denies access or lacks the path/field."""

    code = "secret_provider"
    exit_code = EXIT_FAILURE


class MissingSecretsError(SecretsError):
    """Required secrets are not provisioned (deploy refuses unless told otherwise)."""

    code = "secrets_missing"
    exit_code = EXIT_FAILURE


class NodeLoadError(TentacularError):
    """A node module cannot be imported or does not export a usable ``run``."""

    code = "node_load"


class TypeScriptNodeError(TentacularError):
    """A TypeScript node threw, returned a non-JSON value, or lost its Deno worker."""

    code = "node_failed"


class GuardViolation(PermissionError):
    """Raised by the runtime permission guard; a PermissionError so nodes see the usual type."""


class BuildError(TentacularError):
    code = "build_failed"


class ToolNotFoundError(BuildError):
    code = "tool_not_found"


class ManifestError(TentacularError):
    """Manifests cannot be rendered (size limits, unresolved references)."""

    code = "manifest"
    exit_code = EXIT_USAGE


class ClusterError(TentacularError):
    """Talking to the Kubernetes API failed."""

    code = "cluster"


class ClusterUnreachableError(ClusterError):
    code = "cluster_unreachable"


class ClusterAuthError(ClusterError):
    code = "cluster_unauthorized"


class ClusterForbiddenError(ClusterError):
    """HTTP 403: RBAC denied a verb on a resource at a scope (``denied`` names them) or admission refused."""

    code = "cluster_forbidden"


class ClusterKubeletUnreachableError(ClusterError):
    """The API server could not proxy logs/exec to the node's kubelet; ``node`` names the node."""

    code = "cluster_kubelet_unreachable"


class ClusterNotFoundError(ClusterError):
    code = "cluster_not_found"


class ClusterConflictError(ClusterError):
    code = "cluster_conflict"


class ClusterInvalidError(ClusterError):
    code = "cluster_invalid"


class ConfigError(InputError):
    """User or project configuration (~/.tentacular/config.yaml) is unusable."""

    code = "config"


class FixtureError(InputError):
    """A test fixture file (tests/fixtures/*.json) is malformed."""

    code = "invalid_fixture"


class UnmockedRequestError(TentacularError):
    """A node under test made a dependency request that no fixture mock answers."""

    code = "unmocked_request"


class DependencyError(TentacularError, KeyError):
    """``ctx.dependency(name)`` for a name the contract does not declare (F-050)."""

    code = "undeclared_dependency"

    def __str__(self) -> str:  # KeyError would quote the message
        return self.message


class ClusterApplyError(ClusterError):
    """An apply stopped part-way: ``applied`` lists the objects written, ``failed`` the one that broke."""

    code = "apply_incomplete"


class PreflightError(ClusterError):
    """The cluster is not ready for this deploy; nothing was applied. ``checks`` says why."""

    code = "preflight_failed"


class RolloutTimeoutError(ClusterError):
    """The Deployment did not become ready in time."""

    code = "rollout_timeout"


class TriggerRunError(ClusterError):
    """A trigger pod could not deliver a run request or returned no execution result."""

    code = "run_failed"


class ResourceNotFoundError(InputError):
    """An MCP resource URI names nothing tntc serves."""

    code = "resource_not_found"


class CatalogError(InputError):
    """A catalog, catalog ref or catalog index is unusable (unknown name, bad ref, broken index)."""

    code = "catalog"


class CatalogUnavailableError(TentacularError):
    """A catalog repository could not be fetched (network, git, authentication)."""

    code = "catalog_unavailable"


class TokenUsageError(TentacularError, TypeError):
    """``ctx.usage(...)`` was called with a value of the wrong type or range (raised in the node)."""

    code = "token_usage_invalid"


class TelemetryConfigError(InputError):
    """The telemetry configuration (workflow.yaml ``telemetry`` or an ``OTEL_*`` variable) is unusable."""

    code = "telemetry_config"


class RunTimeoutError(TentacularError):
    """A local run (``tntc run --local --timeout``) did not finish in time."""

    code = "run_timeout"


class TriggerConfigError(InputError):
    """The workflow's event-trigger settings cannot work (no NATS server, a malformed URL)."""

    code = "trigger_config"


class QueueRequestError(TentacularError):
    """A request to a workflow's NATS subject got no answer (no server, no subscriber, timeout)."""

    code = "queue_request_failed"


class VersionNotFoundError(ClusterNotFoundError):
    """``tntc rollback`` / ``versions --diff`` named a code version the cluster no longer retains."""

    code = "version_not_found"


class VersionRecordError(ClusterError):
    """A retained code version carries no usable record of the objects it applied."""

    code = "version_record_missing"


class ReleaseUnitError(InputError):
    """A release unit file is unreadable, truncated, tampered with or not a release unit."""

    code = "release_unit_invalid"


class ReleaseUnitTooNewError(ReleaseUnitError):
    """A release unit written by a newer tntc, in a format this one cannot read."""

    code = "release_unit_too_new"


class ImageDigestError(TentacularError):
    """The engine image cannot be pinned to a digest, or its digest no longer resolves."""

    code = "image_digest"


class PolicyError(InputError):
    """A release policy file is unreadable or names an unknown rule."""

    code = "policy_invalid"


class PolicyViolationError(TentacularError):
    """A release violates the policy of its environment; ``violations`` lists every rule broken."""

    code = "policy_violation"


class ReleaseVerifyError(ClusterError):
    """A release failed verification in an environment (promotion refuses it without --force)."""

    code = "release_verify_failed"
