"""Progress events: how the layers tell the CLI what they are doing, without printing.

Every long operation of a layer face takes one ``on_event`` callback; the CLI decides
how (and whether) to show each event. Nothing below ``tentacular.cli`` writes to the
terminal.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

EventLevel = Literal["info", "warning"]


@dataclass(frozen=True, slots=True)
class Event:
    """One line of progress; ``warning`` events are also collected into the command's report."""

    message: str
    level: EventLevel = "info"


EventSink = Callable[[Event], None]


def ignore_events(_event: Event) -> None:
    """The default sink: a caller that passes no callback sees no progress."""
