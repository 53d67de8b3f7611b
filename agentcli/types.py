"""The data that crosses module boundaries: messages, tool calls, results, usage, replies.

Every provider adapter converts between these and its own wire format, the library archives
them, and the loop passes them around. They serialise to plain dicts for the JSONL archive.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

_SURROGATE = re.compile("[\ud800-\udfff]")


def valid_text(value: Any) -> Any:
    """`value` with lone surrogates (which JSON can carry as "\\ud800", and which no UTF-8 file
    or HTTP body can hold) replaced by U+FFFD, in strings inside lists and dicts too."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value) if _SURROGATE.search(value) else value
    if isinstance(value, list):
        return [valid_text(v) for v in value]
    if isinstance(value, dict):
        return {valid_text(k): valid_text(v) for k, v in value.items()}
    return value


# Starts the `parse_error` of a call the harness chose not to run (a small model's harmful call):
# the rest is the reason, returned to the model as the call's error.
REFUSED = "refused: "


@dataclass
class ToolCall:
    """A tool call as the model made it. `arguments` is None when `raw_arguments` did not parse
    (or the harness refused to run it: `parse_error` starts with REFUSED)."""

    id: str
    name: str
    arguments: dict[str, Any] | None
    raw_arguments: str = ""
    parse_error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ToolCall:
        return cls(
            id=d["id"],
            name=d.get("name", ""),
            arguments=d.get("arguments"),
            raw_arguments=d.get("raw_arguments", ""),
            parse_error=d.get("parse_error"),
        )


@dataclass
class Message:
    """One conversation message in a provider-neutral shape.

    role "user" and "assistant" carry text (the assistant also tool calls); role "tool" carries
    one tool result, linked to its call by `tool_call_id`.
    """

    role: str
    content: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    tool_call_id: str | None = None
    name: str | None = None
    is_error: bool = False

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.tool_calls:
            d["tool_calls"] = [c.to_dict() for c in self.tool_calls]
        if self.tool_call_id is not None:
            d["tool_call_id"] = self.tool_call_id
        if self.name is not None:
            d["name"] = self.name
        if self.is_error:
            d["is_error"] = True
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Message:
        return cls(
            role=d["role"],
            content=d.get("content", ""),
            tool_calls=[ToolCall.from_dict(c) for c in d.get("tool_calls", [])],
            tool_call_id=d.get("tool_call_id"),
            name=d.get("name"),
            is_error=bool(d.get("is_error", False)),
        )


@dataclass
class Usage:
    """Token counts for one or more model calls, as the provider reported them."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_input_tokens: int = 0
    cache_creation_input_tokens: int = 0

    def add(self, other: Usage) -> None:
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.cache_read_input_tokens += other.cache_read_input_tokens
        self.cache_creation_input_tokens += other.cache_creation_input_tokens

    @property
    def prompt_tokens(self) -> int:
        """Everything the model read: fresh input plus cache reads and writes."""
        return self.input_tokens + self.cache_read_input_tokens + self.cache_creation_input_tokens

    def to_dict(self) -> dict[str, int]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Usage:
        return cls(**{k: int(d.get(k, 0) or 0) for k in cls.__dataclass_fields__})


@dataclass
class Reply:
    """What one model call produced: the assistant message, usage and why it stopped."""

    message: Message
    usage: Usage
    stop_reason: str
    model: str
    # The size of the conversation as the model read it, when `usage` sums several decodes of
    # one reply (a local model's retries): what the window holds, for the compaction check.
    window_tokens: int | None = None

    @property
    def tool_calls(self) -> list[ToolCall]:
        return self.message.tool_calls


@dataclass
class ToolSpec:
    """A tool as the model sees it, loaded from one file in `tools/`."""

    name: str
    description: str
    parameters: dict[str, Any]
    lean_description: str | None = None
    lean_parameters: list[str] | None = None  # the arguments a small model is shown (None: all)

    def describe(self, lean: bool) -> str:
        return (self.lean_description or self.description) if lean else self.description

    def schema(self, lean: bool) -> dict[str, Any]:
        """The parameters schema; for small models only the `lean_parameters` (optional knobs they
        misuse are left out). Calls are still validated against the full schema."""
        if not lean or self.lean_parameters is None:
            return self.parameters
        props = self.parameters.get("properties", {})
        keep = {k: v for k, v in props.items() if k in self.lean_parameters}
        required = [r for r in self.parameters.get("required", []) if r in keep]
        return {**self.parameters, "properties": keep, "required": required}


@dataclass
class ToolResult:
    """The outcome of one tool call. `content` goes to the model; `meta` feeds the index and UI."""

    content: str
    is_error: bool = False
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class Outcome:
    """How a run of the loop ended. `stop_reason`: done, blocked, max_turns, budget, time,
    stalled, interrupted or error."""

    stop_reason: str
    result: str
    is_error: bool = False
