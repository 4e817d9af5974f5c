"""Lazy layer faces: a face names its exports, the defining private module loads on first use.

A face is imported whenever any module of its package is (Python runs the package
``__init__`` first), so an eager face would pull the whole layer into ``tntc --help``,
``tntc validate`` and the engine's start. Type checkers read the ``TYPE_CHECKING``
imports next to each face instead.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` resolving ``name`` from ``package.<exports[name]>`` once."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
