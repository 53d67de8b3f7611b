"""What the scripted server answers (`Turn`: a reply, or a fault in its place) and what it was
asked (`ScriptedRequest`, with readers that work for both wires)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Turn:
    """One scripted reply, or a fault in its place.

    `tool_calls` items are {"name": str, "arguments": dict or raw str, "id"?: str}.
    Faults: `status` answers with that HTTP error; `drop_after` cuts the stream after that many
    events; `stream_error` sends an SSE error event mid-stream; `corrupt_event` replaces the
    event at that index with one whose data is not JSON; `fail_times` applies the fault to the
    first N requests for this turn only, then answers normally. `stall_after` pauses the
    stream for `stall_s` seconds before that event (a provider that hangs mid-answer).
    `piece_chars` sets how many characters of text or arguments each streamed delta carries
    (default 12 and 20, token-sized like a provider's).
    """

    text: str = ""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    status: int | None = None
    error_message: str = "scripted failure"
    retry_after: float | None = None
    drop_after: int | None = None
    stream_error: str | None = None
    corrupt_event: int | None = None
    stall_after: int | None = None
    stall_s: float = 0.0
    invalid_json: bool = False
    delay: float = 0.0
    chunk_delay: float = 0.0
    fail_times: int | None = None
    usage: dict[str, int] | None = None
    piece_chars: int | None = None

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Turn:
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})

    def healthy(self) -> Turn:
        """The same turn without its fault."""
        return Turn(text=self.text, tool_calls=self.tool_calls, usage=self.usage,
                    chunk_delay=self.chunk_delay, piece_chars=self.piece_chars)

    @property
    def faulty(self) -> bool:
        return bool(self.status or self.drop_after is not None or self.stream_error
                    or self.invalid_json or self.corrupt_event is not None
                    or self.stall_after is not None)


@dataclass
class ScriptedRequest:
    """A request as received: which wire, the parsed body, and helpers to read it."""

    provider: str
    path: str
    body: dict[str, Any]
    headers: dict[str, str]

    @property
    def stream(self) -> bool:
        return bool(self.body.get("stream"))

    @property
    def messages(self) -> list[dict[str, Any]]:
        return self.body.get("messages", [])

    @property
    def system(self) -> str:
        return system_text(self)

    @property
    def assistant_turns(self) -> int:
        if self.provider == "responses":
            return _responses_turns(self.body.get("input"))
        return sum(1 for m in self.messages if m.get("role") == "assistant")

    def tool_results(self) -> list[str]:
        """Texts of every tool result in the request, oldest first."""
        return tool_results(self)

    def last_user_text(self) -> str:
        return last_user_text(self)

    @property
    def tool_names(self) -> list[str]:
        return tool_names(self)


def text_of(content: Any) -> str:
    """The text of a message's content on either wire: a string, or its text and tool-result blocks."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for block in content:
            if isinstance(block, dict):
                if block.get("type") == "text":
                    parts.append(block.get("text", ""))
                elif block.get("type") == "tool_result":
                    parts.append(text_of(block.get("content", "")))
        return "\n".join(parts)
    return ""


def system_text(request: ScriptedRequest) -> str:
    if request.provider == "anthropic":
        return text_of(request.body.get("system", ""))
    return "\n".join(text_of(m.get("content")) for m in request.messages if m.get("role") == "system")


def tool_results(request: ScriptedRequest) -> list[str]:
    out: list[str] = []
    for m in request.messages:
        if request.provider == "openai" and m.get("role") == "tool":
            out.append(text_of(m.get("content")))
        elif request.provider == "anthropic" and isinstance(m.get("content"), list):
            out += [text_of(b.get("content", "")) for b in m["content"]
                    if isinstance(b, dict) and b.get("type") == "tool_result"]
    return out


def last_user_text(request: ScriptedRequest) -> str:
    for m in reversed(request.messages):
        if m.get("role") == "user":
            text = "\n".join(b.get("text", "") for b in m["content"] if b.get("type") == "text") \
                if isinstance(m.get("content"), list) else text_of(m.get("content"))
            if text:
                return text
    return ""


def tool_names(request: ScriptedRequest) -> list[str]:
    names = []
    for tool in request.body.get("tools", []) or []:
        names.append(tool.get("name") or (tool.get("function") or {}).get("name", ""))
    return names


def _responses_turns(items: Any) -> int:
    """Earlier model turns in the request's `input`: each assistant message, and each run of
    function calls not right after one."""
    count, previous = 0, None
    for item in items if isinstance(items, list) else []:
        kind = item.get("role") if isinstance(item, dict) and item.get("type", "message") == "message" \
            else (item.get("type") if isinstance(item, dict) else None)
        if kind == "assistant" or (kind == "function_call" and previous not in ("assistant", "function_call")):
            count += 1
        previous = kind
    return count
