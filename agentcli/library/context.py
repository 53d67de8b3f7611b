"""The context: the part of the archive that is in the model's window right now.

Each message keeps the id of the archive event it came from, so anything trimmed from the
window can be pointed at and read back in full. The library's compaction rewrites this
object; nothing else does.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agentcli.types import Message


@dataclass
class Entry:
    event_id: str
    message: Message


@dataclass
class Context:
    """Messages in the window, oldest first, after an optional summary of what came before."""

    entries: list[Entry] = field(default_factory=list)
    summary: str | None = None

    def add(self, event_id: str, message: Message) -> None:
        self.entries.append(Entry(event_id, message))

    @property
    def messages(self) -> list[Message]:
        """What the model is sent after the system prompt."""
        head = [Message(role="user", content=self.summary)] if self.summary else []
        return head + [e.message for e in self.entries]

    def clear(self) -> None:
        self.entries.clear()
        self.summary = None
