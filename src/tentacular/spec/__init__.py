"""The pure spec layer: workflow.yaml model, validation, DAG and derived artifacts.

This is the face the layers above use; everything else in the package is private. Every name
loads its module on first use: a pod's engine starts from the compiled form through
``load_deployed`` and never imports the pydantic models (issue 19).
"""

from typing import TYPE_CHECKING

from tentacular._lazy import lazy_exports
from tentacular.defaults import (
    DEFAULT_DEPLOY_TIMEOUT,
    DEFAULT_NODE_TIMEOUT,
    DEFAULT_NODE_TIMEOUT_SECONDS,
    DEFAULT_RUN_TIMEOUT,
    DEFAULT_RUNTIME_CLASS,
    ENFORCEMENTS,
    WORKFLOW_FILE,
    Enforcement,
)

if TYPE_CHECKING:
    from tentacular.spec._compiled import compile_workflow
    from tentacular.spec._dag import Dag
    from tentacular.spec._denoflags import deno_permission_flags, net_grants
    from tentacular.spec._derive import DerivedArtifacts, derive, secret_inventory
    from tentacular.spec._issues import SpecIssue
    from tentacular.spec._loaded import LoadedWorkflow, load_deployed, resolve_workflow_file
    from tentacular.spec._loader import WorkflowCheck, check_workflow, load_workflow, parse_workflow
    from tentacular.spec._model import Contract, Dependency, NodeSpec, Workflow
    from tentacular.spec._policy import RuntimePolicy, runtime_policy
    from tentacular.spec._records import COMPILED_FILE, CompiledFormUnusable
    from tentacular.spec._scaffold import ScaffoldResult, scaffold_workflow
    from tentacular.spec._schema import workflow_json_schema
    from tentacular.spec._triggers import QueueTrigger, WebhookTrigger
    from tentacular.spec._values import (
        WORKFLOW_NAME_RE,
        RateLimit,
        duration_seconds,
        is_dns_label,
        is_dns_subdomain,
    )
    from tentacular.spec._visualize import contract_summary, mermaid_diagram

__getattr__ = lazy_exports(
    __name__,
    {
        "COMPILED_FILE": "_records",
        "CompiledFormUnusable": "_records",
        "compile_workflow": "_compiled",
        "Dag": "_dag",
        "deno_permission_flags": "_denoflags",
        "net_grants": "_denoflags",
        "DerivedArtifacts": "_derive",
        "derive": "_derive",
        "secret_inventory": "_derive",
        "is_dns_label": "_values",
        "is_dns_subdomain": "_values",
        "SpecIssue": "_issues",
        "LoadedWorkflow": "_loaded",
        "load_deployed": "_loaded",
        "resolve_workflow_file": "_loaded",
        "WorkflowCheck": "_loader",
        "check_workflow": "_loader",
        "load_workflow": "_loader",
        "parse_workflow": "_loader",
        "WORKFLOW_NAME_RE": "_values",
        "Contract": "_model",
        "Dependency": "_model",
        "NodeSpec": "_model",
        "Workflow": "_model",
        "duration_seconds": "_values",
        "RuntimePolicy": "_policy",
        "runtime_policy": "_policy",
        "QueueTrigger": "_triggers",
        "RateLimit": "_values",
        "WebhookTrigger": "_triggers",
        "ScaffoldResult": "_scaffold",
        "scaffold_workflow": "_scaffold",
        "workflow_json_schema": "_schema",
        "contract_summary": "_visualize",
        "mermaid_diagram": "_visualize",
    },
)

__all__ = [
    "COMPILED_FILE",
    "DEFAULT_DEPLOY_TIMEOUT",
    "DEFAULT_NODE_TIMEOUT",
    "DEFAULT_NODE_TIMEOUT_SECONDS",
    "DEFAULT_RUNTIME_CLASS",
    "DEFAULT_RUN_TIMEOUT",
    "ENFORCEMENTS",
    "WORKFLOW_FILE",
    "WORKFLOW_NAME_RE",
    "CompiledFormUnusable",
    "Contract",
    "Dag",
    "Dependency",
    "DerivedArtifacts",
    "Enforcement",
    "LoadedWorkflow",
    "NodeSpec",
    "QueueTrigger",
    "RateLimit",
    "RuntimePolicy",
    "ScaffoldResult",
    "SpecIssue",
    "WebhookTrigger",
    "Workflow",
    "WorkflowCheck",
    "check_workflow",
    "compile_workflow",
    "contract_summary",
    "deno_permission_flags",
    "derive",
    "duration_seconds",
    "is_dns_label",
    "is_dns_subdomain",
    "load_deployed",
    "load_workflow",
    "mermaid_diagram",
    "net_grants",
    "parse_workflow",
    "resolve_workflow_file",
    "runtime_policy",
    "scaffold_workflow",
    "secret_inventory",
    "workflow_json_schema",
]
