"""A streamed reply put together: the server-sent events read off the SDK's HTTP response, text
and tool arguments kept as pieces and joined once at the end (adding each piece to a string
copies all before it: a 2 MiB reply took 20 s), and tool arguments capped, so a runaway stream
is cut off and refused instead of read for minutes.

The events are decoded here, not by the SDK's typed stream: building a pydantic object for each
event cost 35 µs (Anthropic) and 100 µs (OpenAI) an event, 8 and 30 times what the server took
to send a 2 MiB reply in token-sized pieces. The SDK still sends the request, retries it and
raises its errors for a failed status."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Iterable, Iterator

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


class EventTooLarge(ValueError):
    """One server-sent event passed the cap: a runaway or broken stream."""


def sse_events(chunks: Iterable[bytes], limit: int = MAX_ARGUMENTS_CHARS + 1024 * 1024
               ) -> Iterator[tuple[str | None, str]]:
    """(event name or None, data) of each server-sent event in a byte stream. Lines end in LF,
    CRLF or CR; `data:` lines of one event are joined with LF; comments are skipped. Runs for
    every event of a stream (175,000 for 2 MiB in token-sized pieces), so it stays plain."""
    buf = b""
    for chunk in chunks:
        buf = buf + chunk if buf else chunk  # only the unfinished event waits in `buf`
        if b"\r" in buf:
            held = buf.endswith(b"\r")  # may be the first half of a CRLF
            buf = buf[:-1] if held else buf
            buf = buf.replace(b"\r\n", b"\n").replace(b"\r", b"\n") + (b"\r" if held else b"")
        if b"\n\n" not in buf:
            if len(buf) > limit:
                raise EventTooLarge(f"an event in the stream passed {limit // (1024 * 1024)} MiB")
            continue
        *blocks, buf = buf.split(b"\n\n")
        for block in blocks:
            event = _parsed(block)
            if event is not None:
                yield event
    if buf.endswith(b"\r"):  # the stream ended on a CR: a line end after all
        for block in (buf[:-1] + b"\n").split(b"\n\n")[:-1]:
            event = _parsed(block)
            if event is not None:
                yield event


def _parsed(block: bytes) -> tuple[str | None, str] | None:
    name, data = None, []
    for line in block.split(b"\n"):
        if line.startswith(b"data:"):
            data.append(line[6:] if line[5:6] == b" " else line[5:])
        elif line.startswith(b"event:"):
            name = (line[7:] if line[6:7] == b" " else line[6:]).decode("utf-8", "replace")
    if not data and name is None:
        return None
    # Decoded here: json.loads reads a str faster than bytes (it detects their encoding in Python).
    return name, (data[0] if len(data) == 1 else b"\n".join(data)).decode("utf-8", "replace")


def error_of(data: str) -> dict:
    """The error object of an `error` event: its `error` member, or the whole body."""
    try:
        body = json.loads(data)
    except ValueError:
        return {"message": data or "an error event without a body"}
    if isinstance(body, dict):
        error = body.get("error", body)
        return error if isinstance(error, dict) else {"message": str(error)}
    return {"message": str(body)}
