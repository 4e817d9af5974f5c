"""Pure builders for images and Kubernetes manifests, and the Kubernetes operations on top.

This is the face the CLI uses; everything else in the package is private. Operations
take keyword-only, typed options and return typed reports; progress leaves through
one ``on_event`` callback (``tentacular.events``); nothing here prints. The face is
lazy, so ``tntc --help`` loads none of it and ``tntc validate`` only its settings and
secret checks (never the Kubernetes client or the engine's runtime).
"""

from typing import TYPE_CHECKING

from tentacular._lazy import lazy_exports

if TYPE_CHECKING:
    from tentacular.deploy._cluster_ops import (
        AuditReport,
        ClusterCheckReport,
        LogStream,
        RunReport,
        UndeployReport,
        WorkflowList,
        audit,
        cluster_check,
        list_workflows,
        logs,
        run_deployed,
        status,
        undeploy,
        usage,
    )
    from tentacular.deploy._config_ops import (
        BuildReport,
        ConfigureReport,
        build,
        configure,
        enforcement_for,
        git_revision,
    )
    from tentacular.deploy._operations import (
        DeployPlan,
        deploy,
        live_test,
        plan,
    )
    from tentacular.deploy._options import (
        DEFAULT_DEPLOY_TIMEOUT,
        DEFAULT_RUN_TIMEOUT,
        DeployOptions,
        LiveTestOptions,
        TargetOptions,
    )
    from tentacular.deploy._release._face import (
        BundleOptions,
        ReleaseOptions,
        release_apply,
        release_bundle,
        release_plan,
        release_promote,
        release_show,
        release_verify,
    )
    from tentacular.deploy._report import (
        DeployReport,
    )
    from tentacular.deploy._rollback import (
        RollbackReport,
        VersionDiff,
        VersionsReport,
        rollback,
        version_diff,
        versions,
    )
    from tentacular.deploy._secrets_face import (
        secrets_diff,
        secrets_sync,
    )
    from tentacular.deploy._secrets_ops import (
        local_run_secrets,
        secret_warnings,
        secrets_check,
        secrets_init,
    )
    from tentacular.deploy._secrets_sync import (
        SecretsDiff,
        SyncReport,
    )
    from tentacular.deploy._validate import Validation, validate

__getattr__ = lazy_exports(
    __name__,
    {
        "BundleOptions": "_release._face",
        "ReleaseOptions": "_release._face",
        "release_apply": "_release._face",
        "release_bundle": "_release._face",
        "release_plan": "_release._face",
        "release_promote": "_release._face",
        "release_show": "_release._face",
        "release_verify": "_release._face",
        "AuditReport": "_cluster_ops",
        "BuildReport": "_config_ops",
        "ClusterCheckReport": "_cluster_ops",
        "ConfigureReport": "_config_ops",
        "DEFAULT_DEPLOY_TIMEOUT": "_options",
        "DEFAULT_RUN_TIMEOUT": "_options",
        "DeployOptions": "_options",
        "DeployPlan": "_operations",
        "DeployReport": "_report",
        "LiveTestOptions": "_options",
        "LogStream": "_cluster_ops",
        "RollbackReport": "_rollback",
        "RunReport": "_cluster_ops",
        "SecretsDiff": "_secrets_sync",
        "SyncReport": "_secrets_sync",
        "TargetOptions": "_options",
        "UndeployReport": "_cluster_ops",
        "Validation": "_validate",
        "VersionDiff": "_rollback",
        "VersionsReport": "_rollback",
        "WorkflowList": "_cluster_ops",
        "audit": "_cluster_ops",
        "build": "_config_ops",
        "cluster_check": "_cluster_ops",
        "configure": "_config_ops",
        "deploy": "_operations",
        "enforcement_for": "_config_ops",
        "git_revision": "_config_ops",
        "list_workflows": "_cluster_ops",
        "live_test": "_operations",
        "local_run_secrets": "_secrets_ops",
        "logs": "_cluster_ops",
        "plan": "_operations",
        "rollback": "_rollback",
        "run_deployed": "_cluster_ops",
        "secret_warnings": "_secrets_ops",
        "secrets_check": "_secrets_ops",
        "secrets_diff": "_secrets_face",
        "secrets_init": "_secrets_ops",
        "secrets_sync": "_secrets_face",
        "status": "_cluster_ops",
        "undeploy": "_cluster_ops",
        "usage": "_cluster_ops",
        "validate": "_validate",
        "version_diff": "_rollback",
        "versions": "_rollback",
    },
)

__all__ = [
    "DEFAULT_DEPLOY_TIMEOUT",
    "DEFAULT_RUN_TIMEOUT",
    "AuditReport",
    "BuildReport",
    "BundleOptions",
    "ClusterCheckReport",
    "ConfigureReport",
    "DeployOptions",
    "DeployPlan",
    "DeployReport",
    "LiveTestOptions",
    "LogStream",
    "ReleaseOptions",
    "RollbackReport",
    "RunReport",
    "SecretsDiff",
    "SyncReport",
    "TargetOptions",
    "UndeployReport",
    "Validation",
    "VersionDiff",
    "VersionsReport",
    "WorkflowList",
    "audit",
    "build",
    "cluster_check",
    "configure",
    "deploy",
    "enforcement_for",
    "git_revision",
    "list_workflows",
    "live_test",
    "local_run_secrets",
    "logs",
    "plan",
    "release_apply",
    "release_bundle",
    "release_plan",
    "release_promote",
    "release_show",
    "release_verify",
    "rollback",
    "run_deployed",
    "secret_warnings",
    "secrets_check",
    "secrets_diff",
    "secrets_init",
    "secrets_sync",
    "status",
    "undeploy",
    "usage",
    "validate",
    "version_diff",
    "versions",
]
