"""The runtime: node loading, context, secrets, executor, HTTP server and triggers.

This is the face the layers above use; everything else in the package is private.
The face is lazy: ``python -m tentacular.engine`` and the pod's start-up load only
what they use.
"""

from typing import TYPE_CHECKING

from tentacular._lazy import lazy_exports

if TYPE_CHECKING:
    from tentacular.engine._deno.check import TypeScriptCheck, check_typescript_nodes
    from tentacular.engine._executor import ExecutionResult
    from tentacular.engine._local import LocalRun, run_local, serve_dev
    from tentacular.engine._triggers._request import request_over_nats

__getattr__ = lazy_exports(
    __name__,
    {
        "ExecutionResult": "_executor",
        "LocalRun": "_local",
        "TypeScriptCheck": "_deno.check",
        "check_typescript_nodes": "_deno.check",
        "request_over_nats": "_triggers._request",
        "run_local": "_local",
        "serve_dev": "_local",
    },
)

__all__ = [
    "ExecutionResult",
    "LocalRun",
    "TypeScriptCheck",
    "check_typescript_nodes",
    "request_over_nats",
    "run_local",
    "serve_dev",
]
