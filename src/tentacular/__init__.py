"""Tentacular: secure workflow build-and-execution for AI agents."""

from __future__ import annotations


def __getattr__(name: str) -> str:
    # importlib.metadata costs ~40 ms at import; only `tntc version` needs it.
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("tentacular")
        except PackageNotFoundError:  # a source tree that was never installed
            return "0.0.0+unknown"
    raise AttributeError(name)
