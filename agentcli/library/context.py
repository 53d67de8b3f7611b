"""The context: the part of the archive that is in the model's window right now.

Each message keeps the id of the archive event it came from, so anything trimmed from the
window can be pointed at and read back in full. The library's compaction rewrites this
object; nothing else does. Between compactions messages are only appended, so the request
prefix stays byte-identical and providers' prompt caches keep hitting.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agentcli.tokens import estimate
from agentcli.types import Message

# Per-message framing the wire formats add around the text (role, ids, separators).
MESSAGE_OVERHEAD = 4


def message_tokens(message: Message) -> int:
    """An estimate of what one message costs in the window."""
    n = estimate(message.content) + MESSAGE_OVERHEAD
    for call in message.tool_calls:
        n += estimate(call.name) + estimate(call.raw_arguments or str(call.arguments or "")) + 8
    return n


@dataclass
class Entry:
    """One message in the window. `full` keeps the original when the message shown is a
    placeholder for an elided tool result."""

    event_id: str
    message: Message
    full: Message | None = None
    _tokens: int | None = field(default=None, repr=False, compare=False)

    @property
    def tokens(self) -> int:
        if self._tokens is None:
            self._tokens = message_tokens(self.message)
        return self._tokens

    @property
    def elided(self) -> bool:
        return self.full is not None

    @property
    def original(self) -> Message:
        return self.full or self.message


@dataclass
class Context:
    """Messages in the window, oldest first, after an optional summary of what came before.

    `version` changes whenever the window is rewritten (not when a message is appended), so a
    token count measured for one version can be trusted until the next rewrite.
    """

    entries: list[Entry] = field(default_factory=list)
    summary: str | None = None
    version: int = 0

    def add(self, event_id: str, message: Message) -> None:
        self.entries.append(Entry(event_id, message))

    @property
    def messages(self) -> list[Message]:
        """What the model is sent after the system prompt."""
        head = [Message(role="user", content=self.summary)] if self.summary else []
        return head + [e.message for e in self.entries]

    def replace(self, entries: list[Entry], summary: str | None) -> None:
        """Rewrite the window (compaction, resume)."""
        self.entries = list(entries)
        self.summary = summary
        self.version += 1

    def clear(self) -> None:
        self.replace([], None)
