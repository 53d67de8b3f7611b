"""A streamed reply put together: text and tool arguments kept as pieces and joined once at the
end (adding each piece to a string copies all before it: a 2 MiB reply took 20 s), and tool
arguments capped, so a runaway stream is cut off and refused instead of read for minutes."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from agentcli.types import REFUSED, ToolCall

# No file a model writes in one call comes near this; real providers cap a reply at tens of
# thousands of tokens. Past it, a stream is a runaway and the call is refused unread.
MAX_ARGUMENTS_CHARS = 8 * 1024 * 1024


@dataclass
class _Call:
    id: str = ""
    name: str = ""
    pieces: list[str] = field(default_factory=list)
    size: int = 0


class Assembly:
    """The text and tool calls of one reply as its stream delivers them."""

    def __init__(self, max_arguments: int = MAX_ARGUMENTS_CHARS):
        self.max_arguments = max_arguments
        self._text: list[str] = []
        self._calls: dict[int, _Call] = {}
        self.oversized: int | None = None  # the index of a call whose arguments passed the cap

    def add_text(self, piece: str) -> None:
        if piece:
            self._text.append(piece)

    def call(self, index: int) -> _Call:
        """The call at `index`, opened on first use (its id and name may come later)."""
        slot = self._calls.get(index)
        if slot is None:
            slot = self._calls[index] = _Call()
        return slot

    def add_arguments(self, index: int, piece: str) -> bool:
        """Add a piece of a call's arguments. False once they pass the cap: stop reading."""
        slot = self.call(index)
        slot.pieces.append(piece)
        slot.size += len(piece)
        if slot.size > self.max_arguments:
            self.oversized = index
            return False
        return True

    @property
    def call_count(self) -> int:
        return len(self._calls)

    @property
    def text(self) -> str:
        return "".join(self._text)

    def tool_calls(self, id_prefix: str = "call_") -> list[ToolCall]:
        """The calls in index order; each one's arguments parsed, or why they were not."""
        out = []
        for index, slot in sorted(self._calls.items()):
            call_id = slot.id or f"{id_prefix}{index}"
            if index == self.oversized:
                limit = self.max_arguments // (1024 * 1024)
                out.append(ToolCall(call_id, slot.name, None, "", f"{REFUSED}its arguments passed "
                                    f"{limit} MiB and were not read to the end; write large content "
                                    "in smaller pieces"))
                break  # the stream was cut here: nothing after it is complete
            out.append(parse_call(call_id, slot.name, "".join(slot.pieces)))
        return out


def parse_call(call_id: str, name: str, raw: str) -> ToolCall:
    """A tool call from its raw JSON arguments; an empty string means no arguments."""
    raw = raw or "{}"
    try:
        args = json.loads(raw)
    except ValueError as exc:
        return ToolCall(call_id, name, None, raw, f"invalid JSON: {exc}")
    if not isinstance(args, dict):
        return ToolCall(call_id, name, None, raw, "arguments are not a JSON object")
    return ToolCall(call_id, name, args, raw)
