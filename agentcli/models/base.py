"""The `Model` protocol every adapter implements, and the one error type they raise."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol, runtime_checkable

from agentcli.types import Message, Reply, ToolCall, ToolSpec

TextCallback = Callable[[str], None]


@dataclass
class Request:
    """One model call: what the loop asks of any model."""

    system: str
    messages: list[Message]
    tools: list[ToolSpec]
    max_tokens: int = 8192


@runtime_checkable
class Model(Protocol):
    """A chat model that can call tools.

    `name` is the user-facing `provider/model` string. `context_window` is in tokens.
    `lean` asks the harness for short prompts and tight output caps (small local models).
    `complete` streams text through `on_text` and returns the whole reply, or raises ModelError.
    """

    name: str
    context_window: int
    lean: bool

    def complete(self, request: Request, on_text: TextCallback | None = None) -> Reply: ...

    def count_tokens(self, text: str) -> int: ...


class ReplySteering(Protocol):
    """The steering of one reply (the small-model rules, agentcli.local.rules): `ask` gives the
    next request's (mode, note, only), `judge` takes what it came to (its text, each call written
    as `<tool_call>\n{json}\n</tool_call>`) and is True once the reply is settled: then `text`
    and `calls` are the reply. Modes: free, words (no call), call and grammar (a call, of a tool
    in `only` where it names any), code (the file's code, as the note asks)."""

    max_attempts: int
    text: str
    calls: list[ToolCall]

    def ask(self) -> tuple[str, str | None, tuple[str, ...]]: ...

    def judge(self, raw: str, finish: str, attempt: int) -> bool: ...


class Steering(Protocol):
    """What a small model behind a wire gets of the small-model harness (agentcli.local.harness,
    plugged in by modelchoice): the harness's own calls before the model is asked ([] to ask
    it), and the same rules that steer the bundled model, for each reply it is asked for."""

    def own_calls(self, messages: list[Message], system: str, names: set[str]) -> list[ToolCall]: ...

    def begin(self, request: Request, names: set[str]) -> ReplySteering: ...


# Error kinds. Transient ones are worth a retry on the same model; every kind except
# `bad_request` and `context_length` is worth trying the next model in a failover chain.
# `crashed`: the local runtime's worker process died (a signal); not retried on the same model,
# whose build would crash the same way.
TRANSIENT = {"rate_limit", "overloaded", "server", "connection", "timeout"}


class ModelError(Exception):
    """A model call failed. `kind` classifies it; str(err) is a one-line reason for people."""

    def __init__(self, kind: str, message: str, *, model: str = "", status: int | None = None,
                 retry_after: float | None = None, sdk_retried: bool = False):
        super().__init__(message)
        self.kind = kind
        self.model = model
        self.status = status
        self.retry_after = retry_after
        # The SDK already retried this with back-off: another model is a better next try.
        self.sdk_retried = sdk_retried

    @property
    def transient(self) -> bool:
        return self.kind in TRANSIENT

    @property
    def fails_over(self) -> bool:
        """Whether another model could succeed where this one failed."""
        return self.kind not in {"bad_request", "context_length", "interrupted"}

    def __str__(self) -> str:
        where = f"{self.model}: " if self.model else ""
        return f"{where}{self.args[0]}"


def one_line(text: str, limit: int = 300) -> str:
    """Collapse an error text to one short line for people."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def retry_after_of(exc: object) -> float | None:
    """The `retry-after` header of an SDK status error, in seconds, if it has one."""
    try:
        value = exc.response.headers.get("retry-after")  # type: ignore[attr-defined]
        return float(value) if value else None
    except (AttributeError, ValueError):
        return None
