"""What the core tells its front ends (terminal UI, stream-json, progress lines) as it works.

The core never prints. It emits events; each front end is an observer that renders them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable


@dataclass
class Event:
    """One thing that happened.

    kinds: "text" (a streamed delta: text), "assistant" (a finished reply: message, usage),
    "tool_call" (call), "tool_result" (call, result, elapsed_s), "notice" (text, level),
    "model_switch" (old, new, reason), "compaction" (details), "final" (outcome).
    """

    kind: str
    data: dict[str, Any] = field(default_factory=dict)


Observer = Callable[[Event], None]


class Emitter:
    """Fans events out to observers; a failing observer never stops the session."""

    def __init__(self, observers: list[Observer] | None = None):
        self.observers: list[Observer] = list(observers or [])

    def __call__(self, kind: str, **data: Any) -> None:
        event = Event(kind, data)
        for observer in self.observers:
            try:
                observer(event)
            except (KeyboardInterrupt, SystemExit):
                raise
            except Exception:
                pass
