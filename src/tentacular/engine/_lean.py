"""Start-up trims for the engine's own process (``python -m tentacular.engine``), issue 19.

Measured with callgrind on the engine's start (instruction counts do not depend on the
machine's load): together about 6 % of the start-up.

* uvicorn's package ``__init__`` imports its command line (click) and its reload and
  multiprocess supervisors (watchfiles, anyio, multiprocessing) just to re-export
  ``uvicorn.run``; the engine needs ``uvicorn.config``, ``uvicorn.server`` and the httptools
  protocol only. The package is registered without running ``__init__``; the first access
  to anything else on it (``uvicorn.run``, ``uvicorn.main``…) runs the real ``__init__``
  then, so nothing that uses uvicorn normally in this process can tell. −4 %.
* pydantic scans every installed distribution's entry points for plugins when the first
  model class is built; the engine uses none. ``PYDANTIC_DISABLE_PLUGINS`` is set unless the
  environment already says otherwise (set it to an empty value to load plugins). −2 %.

Only the engine's entry point calls this; library users of the engine are not affected.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from types import ModuleType
from typing import Any


def trim_start_up() -> None:
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    _uvicorn_without_cli()


_LIGHT = {"Config": "uvicorn.config", "Server": "uvicorn.server"}


def _uvicorn_without_cli() -> None:
    if "uvicorn" in sys.modules:
        return
    spec = importlib.util.find_spec("uvicorn")
    if spec is None or spec.loader is None or spec.submodule_search_locations is None:
        return
    module = importlib.util.module_from_spec(spec)
    loader = spec.loader

    def complete(name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        if name in _LIGHT:  # `from uvicorn import Config` (uvicorn.lifespan does): no CLI needed
            submodule = importlib.import_module(_LIGHT[name])
            return getattr(submodule, name)
        # Anything else was asked for: become the real package now.
        del module.__getattr__
        loader.exec_module(module)
        return getattr(module, name)

    module.__getattr__ = complete  # type: ignore[method-assign]
    sys.modules["uvicorn"] = module


def is_trimmed(module: ModuleType) -> bool:
    """True while ``module`` (uvicorn) is registered without its ``__init__`` having run."""
    return "__getattr__" in vars(module)
