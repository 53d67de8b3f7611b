"""One reply of a small model, steered: how to decode it next, and what a decode comes to.

The adapter (local/model.py) asks `Steering` for the constraints of the next decode (`ask`),
decodes, and hands the decode back (`judge`). The steering reads the task once per reply
(`TaskView`), reads each decode once (`Attempt`), and lets the rules of local/rules.py decide
in their order (`RULES`): a decision to decode again updates the reply's `State`, any other
settles the reply. Up to MAX_ATTEMPTS decodes; only the settled reply reaches the conversation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from agentcli.local import chat, codemode, fenced, steer, verify
from agentcli.local.decisions import (
    AGAIN,
    Attempt,
    Decision,
    Instead,
    Refuse,
    Replace,
    Settle,
    State,
    TaskView,
)
from agentcli.local.rules import RULES
from agentcli.models.base import Request
from agentcli.models.textcalls import extract
from agentcli.types import REFUSED, ToolCall

MAX_ATTEMPTS = 3
PREFIXES = {"free": "", "words": "", "call": chat.CALL_PREFIX, "grammar": chat.CALL_OPEN, "code": ""}


@dataclass(frozen=True)
class Ask:
    """How to decode next: the mode, the start of the reply written for the model, the note
    shown after the conversation, and the tools a forced call may name (empty: any)."""

    mode: str
    prefix: str
    note: str | None
    only: tuple[str, ...]


def begin(request: Request, names: set[str], *, ground_first: bool, prefixed: bool = True) -> Steering:
    """The steering of the reply to `request` (`ground_first`: a task's first reply is a call;
    `prefixed`: the adapter writes the start of the reply for the model, which a server cannot)."""
    plan = steer.plan(request.messages, names, ground_first=ground_first)
    return Steering(request, names, steer.outline_files(request.system), plan, prefixed=prefixed)


def view(request: Request, names: set[str], files: list[str], plan: steer.Plan) -> TaskView:
    """The task as the rules read it."""
    messages = request.messages
    free = not (plan.grammar or plan.force_call)
    code_path = codemode.target(messages, names) if free else None
    # A file the task asks to create is written as code too (only when the outline shows every
    # file, so that "not in the outline" means "not there").
    new_path = codemode.new_file(messages, files) if free and not code_path \
        and "write" in names and steer.outline_complete(request.system) else None
    return TaskView(messages, frozenset(names), files, request.max_tokens,
                    steer.asks_for_change(messages), code_path or new_path, new_path)


class Steering:
    """The decoding of one reply: its `state` between decodes, and once settled `text` and
    `calls`."""

    def __init__(self, request: Request, names: set[str], files: list[str], plan: steer.Plan, *,
                 prefixed: bool = True):
        self.prefixed = prefixed
        self.task = task = view(request, names, files, plan)
        mode = "grammar" if plan.grammar else "call" if plan.force_call else \
            "code" if task.code_path else "free"
        note = codemode.note(task.code_path, task.messages) if task.code_path \
            else verify.check_passed_note(task.messages)
        self.state = State(mode, note)
        self.text, self.calls = "", []

    @property
    def mode(self) -> str:
        return self.state.mode

    @property
    def note(self) -> str | None:
        return self.state.note

    @property
    def only(self) -> tuple[str, ...]:
        return self.state.only

    @property
    def prefix(self) -> str:
        """The start of the reply written for the model in the current mode ("" where the
        adapter cannot write one: each decode is then read as it came)."""
        return PREFIXES[self.state.mode] if self.prefixed else ""

    @property
    def ask(self) -> Ask:
        return Ask(self.mode, self.prefix, self.note, self.only)

    def judge(self, raw: str, finish: str, attempt: int) -> bool:
        """Take one decode (`raw`, after the prefix); True when the reply is settled, False to
        decode again (as `ask` now says)."""
        now = attempt_of(self.task, self.state, self.prefix, raw, finish, attempt)
        decision = next((d for rule in RULES if (d := rule(self.task, self.state, now)) is not None),
                        Settle(now.words, now.calls))
        return self._apply(decision, now)

    def _apply(self, decision: Decision, now: Attempt) -> bool:
        if isinstance(decision, AGAIN):  # the reply's state for the next decode
            self.state = decision.after(self.state)
            return False
        if isinstance(decision, Instead):
            self.text, self.calls = "", [decision.call]
        elif isinstance(decision, Replace):
            self.text, self.calls = now.words, [decision.call]
        elif isinstance(decision, Refuse):  # the loop sends the reason back as the call's error
            call = decision.call
            self.text = now.words
            self.calls = [ToolCall(call.id, call.name, None, call.raw_arguments, REFUSED + decision.reason)]
        else:
            self.text, self.calls = decision.text, list(decision.calls)
        return True


def attempt_of(task: TaskView, state: State, prefix: str, raw: str, finish: str, number: int) -> Attempt:
    """One decode (`raw`, after `prefix`) read for the rules."""
    # A reply that opens with a tool result is the model imagining one; kept only for the code
    # it may hold, never as an answer.
    imagined = raw.startswith(chat.RESULT_OPEN)
    found = extract(prefix + raw.removeprefix(chat.RESULT_OPEN), task.names)
    calls = tuple(found.calls[:1])
    # Told to answer in words, it wrote a call anyway (in a form the banned tag does not cover):
    # the call does not run, and its words, if any, are its answer.
    dropped = calls[0] if state.mode == "words" and calls else None
    calls = () if dropped else calls
    words = "" if imagined else found.text
    last = number == MAX_ATTEMPTS - 1
    if dropped:
        answer = found.text if re.search(r"\w", found.text) else None
    else:
        answer = None if calls or found.errors else words
    # A usable call goes through every check even when the reply also held a broken one (only
    # the first call runs); an answer only when nothing was broken.
    usable = bool(calls) and not steer.unusable(calls[0], task.names)
    meant = None
    if usable:
        meant = fenced.unwrap(calls[0])  # code arguments as the model meant them
        meant = fenced.def_edit(meant, task.messages) or fenced.def_write(meant, task.messages) or meant
    premature = None if answer is None or dropped or last or state.sent_back \
        else steer.answer_note(task.messages, answer)
    return Attempt(prefix + raw, found.text, words, calls, tuple(found.errors), finish, number, last,
                   dropped, answer, steer.repeats(calls[0], task.messages) if calls else None,
                   usable, meant, premature)
