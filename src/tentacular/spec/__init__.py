"""The pure spec layer: workflow.yaml model, validation, DAG and derived artifacts.

This is the face the layers above use; everything else in the package is private.
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
from tentacular.spec._compiled import COMPILED_FILE, CompiledFormUnusable, compile_workflow
from tentacular.spec._dag import Dag
from tentacular.spec._fields import is_dns_label, is_dns_subdomain
from tentacular.spec._issues import SpecIssue
from tentacular.spec._loader import (
    LoadedWorkflow,
    WorkflowCheck,
    check_workflow,
    load_workflow,
    parse_workflow,
    resolve_workflow_file,
)
from tentacular.spec._model import (
    WORKFLOW_NAME_RE,
    Contract,
    Dependency,
    NodeSpec,
    Workflow,
    duration_seconds,
)
from tentacular.spec._policy import RuntimePolicy, runtime_policy
from tentacular.spec._triggers import QueueTrigger, RateLimit, WebhookTrigger

if TYPE_CHECKING:
    from tentacular.spec._denoflags import deno_permission_flags, net_grants
    from tentacular.spec._derive import DerivedArtifacts, derive, secret_inventory
    from tentacular.spec._scaffold import ScaffoldResult, scaffold_workflow
    from tentacular.spec._schema import workflow_json_schema
    from tentacular.spec._visualize import contract_summary, mermaid_diagram

__getattr__ = lazy_exports(
    __name__,
    {
        # deploy-side and TypeScript-only: an engine start of a Python workflow imports neither
        "deno_permission_flags": "_denoflags",
        "net_grants": "_denoflags",
        "DerivedArtifacts": "_derive",
        "derive": "_derive",
        "secret_inventory": "_derive",
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
