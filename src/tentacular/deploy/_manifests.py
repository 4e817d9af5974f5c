"""Every Kubernetes object of one workflow deployment, as plain dicts in apply order.

``build_manifests`` is the one entry point: the cluster layer server-side-applies
exactly this list, ``tntc deploy --dry-run`` prints it. It reads the workflow's
``nodes/`` files and nothing else (no cluster, no clock), so the same inputs always
give the same objects and an unchanged redeploy changes nothing.

Apply order (D6 "dependency order"), earlier objects are needed by later ones:

1. ServiceAccount, ClusterRole, ClusterRoleBinding – only with ``deployment.rbac``
2. NetworkPolicy ``{wf}-netpol`` – only with a contract; first, so no pod of the
   workflow ever runs without its default-deny policy
3. ConfigMap ``{wf}-code-{version}-{hash}`` (immutable, one per distinct code)
4. Secret ``{wf}-secrets`` – only with local secrets; before the Deployment, so the
   first pod starts with its secrets (the volume is optional)
5. Deployment ``{wf}``, Service ``{wf}``; with webhook triggers and ``deployment.webhook.host``,
   Ingress (or HTTPRoute) ``{wf}-webhook`` for ``/webhook/`` only
6. CronJob ``{wf}-cron`` / ``{wf}-cron-<i>`` – one per cron trigger
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tentacular.deploy import _codemap, _cronjobs, _monitoring, _netpol, _rbac, _secret_manifest, _workload
from tentacular.deploy._imageref import ImageRef
from tentacular.deploy._labels import (
    CLUSTER_RBAC_ANNOTATION,
    CODE_HASH_ANNOTATION,
    CODE_HASH_LABEL,
    COMPONENT_LABEL,
    INTENDED_HOSTS_ANNOTATION,
    cluster_scoped_labels,
    metadata,
    selector_labels,
    standard_annotations,
    standard_labels,
    trigger_pod_labels,
)
from tentacular.deploy._settings import default_engine_image
from tentacular.deploy._source import source_path as default_source_path
from tentacular.deploy._webhook_ingress import webhook_route
from tentacular.errors import ManifestError, TentacularError
from tentacular.spec import DEFAULT_RUNTIME_CLASS, is_dns_label, is_dns_subdomain
from tentacular.spec._derive import intended_hosts
from tentacular.spec._loaded import LoadedWorkflow

APPLY_ORDER: tuple[str, ...] = (
    "ServiceAccount",
    "ClusterRole",
    "ClusterRoleBinding",
    "NetworkPolicy",
    "ConfigMap",
    "Secret",
    "Deployment",
    "Service",
    "Ingress",
    "HTTPRoute",
    "CronJob",
)
PULL_POLICIES = ("Always", "IfNotPresent", "Never")


@dataclass(frozen=True)
class ManifestOptions:
    """Everything the objects depend on besides the workflow itself.

    namespace: target namespace of every namespaced object.
    image: engine (or workflow) image reference for the Deployment and CronJobs.
    image_pull_policy: ``Always`` (registries) or ``IfNotPresent`` (kind).
    runtime_class: RuntimeClass for every pod; ``None`` or ``""`` omits the field (kind, no gVisor).
    secrets: resolved local secrets ``{service: {key: value}}`` (engine.secrets.local_secrets);
        ``None`` or empty means no Secret object (the pod's secret volume is optional).
    secret_provenance: ``service.key`` → where its value came from (``vault:kv/app#token``),
        recorded on the Secret as an annotation (never a value, K-S8).
    config_overrides: shallow-merged into the workflow's ``config``; the shipped workflow.yaml
        is re-rendered with the result (and re-validated).
    telemetry_overrides: the environment's ``telemetry`` settings, merged into workflow.yaml's
        ``telemetry`` section; every object (the collector's NetworkPolicy egress too) follows it.
    annotations: extra annotations for every object's metadata (not the pod template).
    source_path: ``tentacular.io/source-path``; default: workflow directory relative to the repo root.
    git_sha: ``tentacular.io/git-sha``, omitted when None (see deploy.source.git_revision).
    deployed_by: ``tentacular.io/deployed-by``; default ``tntc``.
    """

    namespace: str = "default"
    image: str = field(default_factory=default_engine_image)  # what `tntc build` tags
    image_pull_policy: str = "Always"
    runtime_class: str | None = DEFAULT_RUNTIME_CLASS
    secrets: Mapping[str, Mapping[str, Any]] | None = None
    secret_provenance: Mapping[str, str] | None = None
    config_overrides: Mapping[str, Any] | None = None
    telemetry_overrides: Mapping[str, Any] | None = None
    annotations: Mapping[str, str] = field(default_factory=dict)
    source_path: str | None = None
    git_sha: str | None = None
    deployed_by: str | None = None


def build_manifests(loaded: LoadedWorkflow, options: ManifestOptions) -> list[dict[str, Any]]:
    """The complete object list of one deployment, in apply order (see the module docstring)."""
    _check_options(options)
    shipped = _codemap.shipped_workflow_text(
        loaded.text, options.config_overrides, options.telemetry_overrides
    )
    if options.telemetry_overrides:
        loaded = _codemap.effective_workflow(loaded, shipped)
    workflow = loaded.workflow
    namespace = options.namespace
    runtime_class = options.runtime_class or None
    bundle = _codemap.collect_code(
        loaded.directory, shipped, compiled=_codemap.compiled_form(loaded, shipped)
    )
    labels = standard_labels(workflow)
    selector = selector_labels(workflow)
    annotations = standard_annotations(
        workflow,
        source_path=options.source_path or default_source_path(loaded.directory),
        deployed_by=options.deployed_by or "tntc",
        git_sha=options.git_sha,
        extra=options.annotations,
    )
    account = workflow.deployment.service_account
    rbac = workflow.deployment.rbac if account else None
    if rbac is not None:
        annotations[CLUSTER_RBAC_ANNOTATION] = "true"

    def meta(
        name: str, *, namespaced: bool = True, more: Mapping[str, str] | None = None
    ) -> dict[str, object]:
        object_labels = labels if namespaced else cluster_scoped_labels(workflow, namespace)
        return metadata(
            name, object_labels, {**annotations, **(more or {})}, namespace if namespaced else None
        )

    objects: list[dict[str, Any]] = []
    if rbac is not None and account:
        role = _rbac.cluster_role_name(namespace, workflow.name)
        objects.append(_rbac.service_account(meta=meta(account)))
        objects.append(_rbac.cluster_role(meta=meta(role, namespaced=False), rbac=rbac))
        objects.append(
            _rbac.cluster_role_binding(
                meta=meta(role, namespaced=False), role=role, account=account, namespace=namespace
            )
        )
    if workflow.contract is not None:
        hosts = intended_hosts(workflow)
        extra = {INTENDED_HOSTS_ANNOTATION: ",".join(hosts)} if hosts else None
        objects.append(
            _netpol.network_policy(
                workflow, meta=meta(f"{workflow.name}-netpol", more=extra), selector=selector
            )
        )
    digest = bundle.digest()
    code_name = _codemap.code_configmap_name(workflow.name, workflow.version, digest)
    secret_name = f"{workflow.name}-secrets"
    code_meta = metadata(
        code_name,
        {**labels, COMPONENT_LABEL: _codemap.CODE_COMPONENT, CODE_HASH_LABEL: _codemap.short_hash(digest)},
        {**annotations, CODE_HASH_ANNOTATION: digest},
        namespace,
    )
    objects.append(_codemap.code_configmap(bundle, code_meta))
    if options.secrets:
        audit = _secret_manifest.provenance_annotation(options.secret_provenance)
        objects.append(_secret_manifest.secret(meta=meta(secret_name, more=audit), secrets=options.secrets))
    objects.append(
        _workload.deployment(
            name=workflow.name,
            meta=meta(workflow.name),
            selector=selector,
            pod_labels=labels,
            pod_annotations={
                CODE_HASH_ANNOTATION: digest,
                **_monitoring.scrape_annotations(workflow),
            },
            image=options.image,
            image_pull_policy=options.image_pull_policy,
            runtime_class=runtime_class,
            service_account=account,
            mount_token=workflow.deployment.rbac is not None,
            code_configmap=code_name,
            code_items=_codemap.code_volume_items(bundle),
            secret_name=secret_name,
        )
    )
    objects.append(_workload.service(meta=meta(workflow.name), selector=selector))
    route = webhook_route(workflow, meta=meta(f"{workflow.name}-webhook"), service=workflow.name)
    if route is not None:
        objects.append(route)
    monitor = _monitoring.service_monitor(workflow, meta=meta(workflow.name), selector=selector)
    if monitor is not None:
        objects.append(monitor)
    url = _cronjobs.run_url(workflow, namespace)
    for name, trigger in zip(
        _cronjobs.cronjob_names(workflow), _cronjobs.cron_triggers(workflow), strict=True
    ):
        objects.append(
            _cronjobs.cronjob(
                name=name,
                trigger=trigger,
                meta=meta(name),
                pod_labels=trigger_pod_labels(workflow),
                url=url,
                image=options.image,
                image_pull_policy=options.image_pull_policy,
                runtime_class=runtime_class,
            )
        )
    return objects


def object_ref(obj: Mapping[str, Any]) -> str:
    """``Kind/name`` (``Kind/namespace/name`` for namespaced objects), for messages and diffs."""
    meta = obj.get("metadata", {})
    namespace = meta.get("namespace")
    return f"{obj['kind']}/{namespace}/{meta['name']}" if namespace else f"{obj['kind']}/{meta['name']}"


def _check_options(options: ManifestOptions) -> None:
    if not is_dns_label(options.namespace):
        raise ManifestError(
            f'invalid namespace "{options.namespace}"', hint="lower-case letters, digits and '-'"
        )
    if options.runtime_class and not is_dns_subdomain(options.runtime_class):
        raise ManifestError(f'invalid runtime class "{options.runtime_class}"')
    if options.image_pull_policy not in PULL_POLICIES:
        raise ManifestError(
            f'invalid image pull policy "{options.image_pull_policy}"',
            hint=f"one of {', '.join(PULL_POLICIES)}",
        )
    try:
        ImageRef.parse(options.image)
    except TentacularError as exc:
        raise ManifestError(exc.message, hint=exc.hint) from None
