"""Start-up hook: the pre-fork worker spawner, installed as the Deno launcher."""

from __future__ import annotations

from tentacular.engine._deno.launcher import PreForkSpawner, current_launcher, use_launcher
from tentacular.engine._deno.runtime import WORKER_SCRIPT, find_deno


def start_spawner() -> None:
    """Called before the runtime guard: later worker (re)starts go through this helper."""
    if isinstance(current_launcher(), PreForkSpawner):
        return
    deno = find_deno()
    if deno is None:
        return  # loading the .ts nodes reports the missing binary
    spawner = PreForkSpawner(deno, str(WORKER_SCRIPT))
    spawner.start()
    use_launcher(spawner)
