"""The pure spec layer: workflow.yaml model, validation, DAG and derived artifacts."""

from tentacular.spec.dag import Dag
from tentacular.spec.denoflags import deno_permission_flags, net_grants
from tentacular.spec.derive import DerivedArtifacts, derive
from tentacular.spec.issues import SpecIssue
from tentacular.spec.loader import (
    WORKFLOW_FILE,
    LoadedWorkflow,
    WorkflowCheck,
    check_workflow,
    load_workflow,
    parse_workflow,
    resolve_workflow_file,
)
from tentacular.spec.model import Contract, Dependency, NodeSpec, Workflow
from tentacular.spec.policy import RuntimePolicy, runtime_policy

__all__ = [
    "WORKFLOW_FILE",
    "Contract",
    "Dag",
    "Dependency",
    "DerivedArtifacts",
    "LoadedWorkflow",
    "NodeSpec",
    "RuntimePolicy",
    "SpecIssue",
    "Workflow",
    "WorkflowCheck",
    "check_workflow",
    "deno_permission_flags",
    "derive",
    "load_workflow",
    "net_grants",
    "parse_workflow",
    "resolve_workflow_file",
    "runtime_policy",
]
