"""The small-model steering as an ordered list of rules (`RULES`); the first decision counts.

Each rule reads the task, the reply's state and one decode (local/decisions.py), and returns one
kind of decision or None. The order, and why it is so:
 1. WordsCall: told to answer in words, it wrote only a call: decode again.
 2. CodeWrite: code mode: the block becomes the `write` of the file to fix.
 3. CodeAgain: no usable code: once more as code (sampled), then its own pick.
 4. CodeEdit: a change written as code (a ```python block, good code in a broken call).
 5. ReadNamed: stuck (a repeated call) or answering without the facts: read the file the task
    names. From here on a decode that imagined a tool result has no words.
 6. Reread: the same failed edit again: show it the file as it is.
 7. GiveUp: a call repeated to the last decode (or, in words mode, nothing but a call): stop.
 8. FailedStands: a failed call repeated on the last decode: the loop returns the same error.
 9. FailedRepeat: a failed call repeated: push it to another call.
10. ChangeOnly: it re-reads instead of changing: only a change will do.
11. Remind: a repeated call: remind it of the task; if it insists, it answers in words.
12. ReadFirst: an edit or write of a file it has not looked at: read it first.
13. Refused: a call that would do harm, or a change cut off at the output limit.
14. Meant: a usable call runs as the model meant it (code arguments unwrapped).
15. EarlyAnswer: an early answer goes back once, with what it lacks.
16. UnchangedTarget: an answer that claims a change never made: the file again.
17. RunCommand: an answer after an edit: run the task's command first.
18. Leftovers: an answer to a replace-everywhere task: search what is left.
19. Answer: the answer stands.
20. Grammar: a broken call with the opener written for it: the grammar next.
21. Broken: a call that could not be read: the error goes back as its result.
With no decision the reply stands as decoded (an unusable call: the loop says why it failed).
"""

from __future__ import annotations

import json
from collections.abc import Callable

from agentcli.local import chat, codemode, fenced, steer, undo, verify
from agentcli.local.decisions import (
    Attempt,
    Decode,
    Instead,
    Refuse,
    Replace,
    SendBack,
    Settle,
    State,
    TaskView,
)
from agentcli.types import Message, ToolCall


def allowed(code: ToolCall | None, msgs: list[Message]) -> ToolCall | None:
    """The change written as code, unless the task forbids it or it was undone before."""
    if code is None or steer.refusal(code, msgs) is not None or undo.was_undone(code, msgs):
        return None
    return code


def _failed(now: Attempt) -> bool:
    return bool(now.repeated) and now.repeated.startswith("failed")


class WordsCall:
    """Told to answer in words, it wrote only a call: decode again."""

    def __call__(self, task: TaskView, state: State, now: Attempt) -> Decode | None:
        if now.dropped and now.answer is None and not now.last:
            return Decode(state.mode, state.note, state.only)
        return None


class CodeWrite:
    """Code mode: the block becomes the `write` of the file to fix."""

    def __call__(self, task: TaskView, state: State, now: Attempt) -> Instead | None:
        if state.mode != "code":
            return None
        code = codemode.write_new(now.whole, task.new_path, len(task.messages)) if task.new_path \
            else codemode.write(now.whole, task.code_path, task.messages)
        code = allowed(code, task.messages)
        return Instead(code) if code else None


class CodeAgain:
    """No usable code: once more as code (sampled), then its own pick."""

    def __call__(self, task: TaskView, state: State, now: Attempt) -> Decode | None:
        if state.mode != "code" or now.last:
            return None
        if now.number > 0:
            return Decode("free", None, state.only)
        return Decode(state.mode, state.note, state.only)


class CodeEdit:
    """A change written as code (a ```python block, good code in a broken call)."""

    def __call__(self, task: TaskView, state: State, now: Attempt) -> Instead | None:
        if now.calls or now.dropped or not task.change_asked:
            return None
        code = fenced.loose_code_edit(now.whole, task.messages) if now.errors \
            else fenced.code_edit(now.text, task.messages) if state.mode in ("free", "words") else None
        code = allowed(code, task.messages)
        return Instead(code) if code else None


class ReadNamed:
    """Stuck (a repeated call) or answering without the facts: read the file the task names."""

    def __call__(self, task: TaskView, state: State, now: Attempt) -> Instead | None:
        if "read" not in task.names or not (now.repeated or now.premature):
            return None
        read = steer.read_mentioned(task.messages, task.files)
        return Instead(read) if read else None


class Reread:
    """The same failed edit again: show it the file as it is."""

    def __call__(self, task: TaskView, state: State, now: Attempt) -> Instead | None:
        if not _failed(now) or "read" not in task.names:
            return None
        read = steer.reread(now.call, task.messages)
        return Instead(read) if read else None


class GiveUp:
    """A third failure of the same call, a repeat on the last decode, or in words mode a decode
    that is nothing but a call to the end: stop instead of looping."""

    def __call__(self, task: TaskView, state: State, now: Attempt) -> Settle | None:
        if not now.last:
            return None
        if now.dropped and now.answer is None:
            return Settle(gave_up_repeating("", now.dropped))
        if now.repeated == "failed again" or (now.repeated and not _failed(now)):
            return Settle(gave_up_repeating(now.words, now.call))
        return None


class FailedStands:
    """A failed call repeated on the last decode runs: the loop returns the same error, and the
    next turn is steered again."""

    def __call__(self, task: TaskView, state: State, now: Attempt) -> Settle | None:
        return Settle(now.words, now.calls) if _failed(now) and now.last else None


class FailedRepeat:
    """A failed call repeated: push it to another call."""

    def __call__(self, task: TaskView, state: State, now: Attempt) -> Decode | None:
        if not _failed(now):
            return None
        mode = "grammar" if state.mode == "call" else "call"
        return Decode(mode, steer.failed_repeat_note(now.call, task.messages), state.only)


class ChangeOnly:
    """It re-reads instead of changing: only a change will do."""

    def __call__(self, task: TaskView, state: State, now: Attempt) -> Decode | None:
        msgs = task.messages
        if not now.repeated or not (state.only or steer.change_pending(msgs) or verify.check_failing(msgs)):
            return None
        note = state.note or steer.CHANGE_NOTE + "\nThe task: " + steer.task_text(msgs)
        return Decode("call", note, steer.CHANGE_TOOLS)


class Remind:
    """A repeated call: remind it of the task; if it insists, it answers in words."""

    def __call__(self, task: TaskView, state: State, now: Attempt) -> Decode | None:
        if not now.repeated:
            return None
        insist = state.note is not None
        note = steer.repeat_note(now.call, task.messages, insist=insist)
        return Decode("words" if insist else "free", note, state.only)


class ReadFirst:
    """An edit or write of a file it has not looked at: read it first."""

    def __call__(self, task: TaskView, state: State, now: Attempt) -> Replace | None:
        if not now.usable or "read" not in task.names:
            return None
        read = steer.read_first(now.meant, task.messages)
        return Replace(read) if read else None


class Refused:
    """A call that would do harm, or a change cut off at the output limit."""

    def __call__(self, task: TaskView, state: State, now: Attempt) -> Refuse | None:
        if not now.usable:
            return None
        call = now.meant
        harm = steer.refusal(call, task.messages)
        if now.finish == "length" and call.name in steer.CHANGE_TOOLS:
            harm = (f"your {call.name} call was cut off at the output limit ({task.max_tokens} "
                    "tokens), so it was not run; change fewer lines at a time (edit only the lines "
                    "that need it)")
        return Refuse(call, harm) if harm is not None else None


class Meant:
    """A usable call runs as the model meant it (code arguments unwrapped)."""

    def __call__(self, task: TaskView, state: State, now: Attempt) -> Replace | None:
        return Replace(now.meant) if now.usable else None


class EarlyAnswer:
    """An early answer goes back once, with what it lacks."""

    def __call__(self, task: TaskView, state: State, now: Attempt) -> SendBack | None:
        if now.premature is None:
            return None
        only = steer.CHANGE_TOOLS if steer.wants_change(now.premature) else state.only
        return SendBack(now.premature, only)


def _before_answer(task: TaskView, now: Attempt, tool: str,
                   find: Callable[[], ToolCall | None]) -> Instead | None:
    """The harness's call (`find()`) in place of an answer, where the task offers `tool`."""
    if now.answer is None or tool not in task.names:
        return None
    call = find()
    return Instead(call) if call else None


class UnchangedTarget:
    """An answer that claims a change never made: the file again."""

    def __call__(self, task: TaskView, state: State, now: Attempt) -> Instead | None:
        return _before_answer(task, now, "read", lambda: steer.unchanged_target(task.messages, now.answer))


class RunCommand:
    """An answer after an edit: run the task's command first."""

    def __call__(self, task: TaskView, state: State, now: Attempt) -> Instead | None:
        return _before_answer(task, now, "shell", lambda: verify.run_mentioned(task.messages))


class Leftovers:
    """An answer to a replace-everywhere task: search what is left."""

    def __call__(self, task: TaskView, state: State, now: Attempt) -> Instead | None:
        return _before_answer(task, now, "grep", lambda: verify.leftovers(task.messages))


class Answer:
    """The answer stands."""

    def __call__(self, task: TaskView, state: State, now: Attempt) -> Settle | None:
        return Settle(now.answer) if now.answer is not None else None


class Grammar:
    """A broken call with the opener written for it: its own pick failed, so the grammar next."""

    def __call__(self, task: TaskView, state: State, now: Attempt) -> Decode | None:
        if state.mode != "call" or now.last:
            return None
        return Decode("grammar", state.note, state.only)


class Broken:
    """A call that could not be read: the error goes back as its result."""

    def __call__(self, task: TaskView, state: State, now: Attempt) -> Settle | None:
        if not now.errors or now.calls:
            return None
        bad = ToolCall(f"call_bad_{len(task.messages)}_{now.number}", "(unparsed)", None,
                       _body(now.whole), _short_error(now.errors[0]))
        return Settle(now.words, (bad,))


RULES = (WordsCall(), CodeWrite(), CodeAgain(), CodeEdit(), ReadNamed(), Reread(), GiveUp(),
         FailedStands(), FailedRepeat(), ChangeOnly(), Remind(), ReadFirst(), Refused(), Meant(),
         EarlyAnswer(), UnchangedTarget(), RunCommand(), Leftovers(), Answer(), Grammar(), Broken())


def _body(raw: str) -> str:
    """The text of a call that could not be read, for the model to see what it wrote."""
    return raw.replace(chat.CALL_OPEN.strip(), "").replace(chat.CALL_CLOSE, "").strip()[:2000]


def _short_error(error: str) -> str:
    """What was wrong with a call, without repeating the call (a small model copies it back)."""
    head, sep, tail = error.rpartition("': ")
    detail = tail if sep and head.startswith("could not read the tool call") else error
    return (f"your tool call is not valid JSON ({detail}). Write it again as one JSON object; "
            'inside strings write a newline as \\n and a double quote as \\"')


def gave_up_repeating(text: str, call: ToolCall) -> str:
    return text or (f"(stopped: the model kept repeating the call {call.name} "
                    f"{json.dumps(call.arguments, ensure_ascii=False)})")
