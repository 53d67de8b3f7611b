"""What the steering rules (local/rules.py) read and what they decide, as plain data.

A rule reads three things: the `TaskView` (the conversation as the harness sees it, worked out
once per reply), the reply's `State` (how the next decode is constrained; it changes between
decodes of one reply) and the `Attempt` (one decode and the facts read from it). It returns one
decision or None (the next rule decides).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from agentcli.types import Message, ToolCall


@dataclass(frozen=True)
class TaskView:
    """The conversation as the steering sees it, the same for every decode of a reply."""

    messages: list[Message]
    names: frozenset[str]  # the tools the model may call
    files: list[str]  # the project's files, as the system prompt's outline lists them
    max_tokens: int
    change_asked: bool  # the task asks for a change to a file
    code_path: str | None  # code mode: the file whose whole text the reply is (None: no code mode)
    new_path: str | None  # code mode for a file the task asks to create (then also code_path)


@dataclass(frozen=True)
class State:
    """How the next decode of the reply is constrained. `mode`: free, words (no call), call (the
    call opener written for it), grammar (the call under the tools' JSON schema), code (the
    whole file as code); `note`: shown after the conversation; `only`: the tools a forced call
    may name (empty: any); `sent_back`: an answer already went back once in this reply."""

    mode: str
    note: str | None = None
    only: tuple[str, ...] = ()
    sent_back: bool = False


@dataclass(frozen=True)
class Attempt:
    """One decode and what it holds, read once before the rules run."""

    whole: str  # the decode with the prefix written for the model
    text: str  # its words, calls taken out
    words: str  # the words that may stand: none when it imagined a tool result
    calls: tuple[ToolCall, ...]  # the one call that counts (small models chain calls badly)
    errors: tuple[str, ...]  # what was wrong with would-be calls that could not be read
    finish: str  # "stop" or "length"
    number: int  # 0 for the first decode of the reply
    last: bool  # no decode comes after this one
    dropped: ToolCall | None = None  # a call written in words mode: it does not run
    answer: str | None = None  # the words that stand as an answer (no call and nothing broken)
    repeated: str | None = None  # steer.repeats of the call: "ok", "failed", "failed again"
    usable: bool = False  # the call can run (known tool, readable arguments)
    meant: ToolCall | None = None  # a usable call as the model meant it (code arguments mended)
    premature: str | None = None  # why an answer is too early (steer.answer_note), or None

    @property
    def call(self) -> ToolCall | None:
        return self.calls[0] if self.calls else None


@dataclass(frozen=True)
class Decode:
    """Decode again, under these constraints."""

    mode: str
    note: str | None
    only: tuple[str, ...]

    def after(self, state: State) -> State:
        return State(self.mode, self.note, self.only, state.sent_back)


@dataclass(frozen=True)
class SendBack:
    """The answer goes back to the model with `note` (once per reply); the next decode is a call,
    of the tools in `only` (empty: any)."""

    note: str
    only: tuple[str, ...]

    def after(self, state: State) -> State:
        return State("call", self.note, self.only, sent_back=True)


@dataclass(frozen=True)
class Instead:
    """The harness's own call in place of the whole reply (its words dropped)."""

    call: ToolCall


@dataclass(frozen=True)
class Replace:
    """The reply's call becomes `call`; its words stay."""

    call: ToolCall


@dataclass(frozen=True)
class Refuse:
    """`call` does not run: the loop sends `reason` back as its error."""

    call: ToolCall
    reason: str


@dataclass(frozen=True)
class Settle:
    """The reply is `text` and `calls`."""

    text: str
    calls: tuple[ToolCall, ...] = ()


Decision = Decode | SendBack | Instead | Replace | Refuse | Settle
AGAIN = (Decode, SendBack)  # the decisions that decode once more; the others settle the reply


class Rule(Protocol):
    """One step of the steering: a decision about the attempt, or None for the next rule."""

    def __call__(self, task: TaskView, state: State, now: Attempt) -> Decision | None: ...
