"""Start-up trims for the engine's own process (``python -m tentacular.engine``), issue 19.

* pydantic scans every installed distribution's entry points for plugins when the first
  model class is built; the engine uses none. ``PYDANTIC_DISABLE_PLUGINS`` is set unless the
  environment already says otherwise (set it to an empty value to load plugins). −2 % of the
  start-up's instructions (callgrind).

(The engine serves HTTP with its own protocol, ``engine/_httpd.py``, so uvicorn — whose package
``__init__`` pulls in click, watchfiles and multiprocessing — is no longer imported at all.)

Only the engine's entry point calls this; library users of the engine are not affected.
"""

from __future__ import annotations

import os


def trim_start_up() -> None:
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
