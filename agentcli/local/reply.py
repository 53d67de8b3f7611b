"""One reply of a small model, steered: how to decode it next, and what a decode comes to.

The adapter (local/model.py) decodes; this decides. Each decode is judged in a fixed
order, each step one rule of local/steer.py, fenced.py, codemode.py or verify.py:
1. code mode: the block becomes the `write` of the file to fix (else as code once more, then
   freely);
2. a change written as code (a ```python block, good code in a broken call) is applied;
3. a call repeated from earlier in the task: read what it needs, re-read a file it keeps
   failing to edit, push it to another call, only a change, or an answer in words;
4. a usable call or an answer goes through the checks: code arguments unwrapped, read before
   edit, harm refused, an early answer sent back once, a claimed change looked at again, the
   task's command run, a rename's leftovers searched for;
5. a broken call: the opener was written and it still failed, so the grammar next; else the
   error goes back as the call's result.
Up to MAX_ATTEMPTS decodes; only the settled reply reaches the conversation.
"""

from __future__ import annotations

import json
import re

from agentcli.local import chat, codemode, fenced, steer, undo, verify
from agentcli.models.base import Request
from agentcli.models.textcalls import extract
from agentcli.types import REFUSED, ToolCall

MAX_ATTEMPTS = 3
PREFIXES = {"free": "", "words": "", "call": chat.CALL_PREFIX, "grammar": chat.CALL_OPEN, "code": ""}


class Steering:
    """The decoding state of one reply: `mode` (free, words, call, grammar, code), the `note`
    shown after the conversation, `only` (tools a forced call may name; empty: any); and once
    settled, `text` and `calls`."""

    def __init__(self, request: Request, names: set[str], files: list[str], plan: steer.Plan):
        self.messages, self.max_tokens = request.messages, request.max_tokens
        self.names, self.files = names, files
        free = not (plan.grammar or plan.force_call)
        self.code_path = codemode.target(self.messages, names) if free else None
        # A file the task asks to create is written as code too (only when the outline shows
        # every file, so that "not in the outline" means "not there").
        self.new_path = codemode.new_file(self.messages, files) if free and not self.code_path \
            and "write" in names and steer.outline_complete(request.system) else None
        self.code_path = self.code_path or self.new_path
        self.mode = "grammar" if plan.grammar else "call" if plan.force_call else \
            "code" if self.code_path else "free"
        self.note: str | None = codemode.note(self.code_path, self.messages) if self.code_path \
            else verify.check_passed_note(self.messages)
        self.sent_back = False  # an answer goes back to the model at most once per reply
        self.only: tuple[str, ...] = ()
        self.text, self.calls = "", []

    @property
    def prefix(self) -> str:
        """The start of the reply written for the model in the current mode."""
        return PREFIXES[self.mode]

    def judge(self, raw: str, finish: str, attempt: int) -> bool:
        """Take one decode (`raw`, after the prefix); True when the reply is settled, False to
        decode again (in `mode`, with `note`)."""
        prefix, last = self.prefix, attempt == MAX_ATTEMPTS - 1
        # A reply that opens with a tool result is the model imagining one; kept only for the
        # code it may hold, never as an answer.
        imagined = raw.startswith(chat.RESULT_OPEN)
        found = extract(prefix + raw.removeprefix(chat.RESULT_OPEN), self.names)
        self.text, self.calls = found.text, found.calls[:1]  # one call per turn: small models chain badly
        if self.mode == "words" and self.calls:
            return self._words_only(last)
        if self.mode == "code":
            code = codemode.write_new(prefix + raw, self.new_path, len(self.messages)) if self.new_path \
                else codemode.write(prefix + raw, self.code_path, self.messages)
            if self._settle_code(code):
                return True
            if not last:  # no usable code: once more as code (sampled), then its own pick
                if attempt > 0:
                    self.mode, self.note = "free", None
                return False
        if not self.calls and steer.asks_for_change(self.messages) and self._settle_code(
                fenced.loose_code_edit(prefix + raw, self.messages) if found.errors
                else fenced.code_edit(self.text, self.messages) if self.mode in ("free", "words") else None):
            return True
        if imagined:
            self.text = ""
        repeated = steer.repeats(self.calls[0], self.messages) if self.calls else None
        if repeated:
            return self._repeated(repeated, last)
        # A usable call goes through every check even when the reply also held a broken one
        # (only the first call runs); an answer only when nothing was broken.
        usable = bool(self.calls) and not steer.unusable(self.calls[0], self.names)
        if usable or (not self.calls and not found.errors):
            return self._checked(finish, last)
        if self.mode == "call" and not last:
            self.mode = "grammar"  # its own pick failed even with the opener written: constrain it
            return False
        if found.errors and not self.calls:
            self.calls = [ToolCall(f"call_bad_{len(self.messages)}_{attempt}", "(unparsed)", None,
                                   _body(prefix + raw), _short_error(found.errors[0]))]
        return True

    def _words_only(self, last: bool) -> bool:
        """Told to answer in words, it wrote a call anyway (in a form the banned tag does not
        cover): its words stand and the call does not run; with no words, decode again."""
        call, self.calls = self.calls[0], []
        if re.search(r"\w", self.text):
            return self._checked("stop", True)
        if last:
            self.text = _gave_up_repeating("", call)
        return last

    def _settle_code(self, code: ToolCall | None) -> bool:
        """The change written as code, unless the task forbids it."""
        msgs = self.messages
        if code is None or steer.refusal(code, msgs) is not None or undo.was_undone(code, msgs):
            return False
        self.text, self.calls = "", [code]
        return True

    def _instead(self, call: ToolCall | None) -> bool:
        """The harness's own call in place of the reply."""
        if call is None:
            return False
        self.text, self.calls = "", [call]
        return True

    def _repeated(self, repeated: str, last: bool) -> bool:
        call, msgs = self.calls[0], self.messages
        if "read" in self.names and self._instead(steer.read_mentioned(msgs, self.files)):
            return True  # stuck: look at the file the task names
        failed = repeated.startswith("failed")
        if failed and "read" in self.names and self._instead(steer.reread(call, msgs)):
            return True  # the same failed edit again: show it the file as it is
        if failed:
            if last and repeated == "failed again":  # a third time: stop instead of looping
                self.text, self.calls = _gave_up_repeating(self.text, call), []
                return True
            if last:
                return True  # the loop returns the same error; the next turn is steered again
            self.note = steer.failed_repeat_note(call, msgs)
            self.mode = "grammar" if self.mode == "call" else "call"
            return False
        if last:
            self.text, self.calls = _gave_up_repeating(self.text, call), []
            return True
        if self.only or steer.change_pending(msgs) or verify.check_failing(msgs):
            # It re-reads instead of changing: only a change will do now.
            self.mode = "call"
            self.note = self.note or steer.CHANGE_NOTE + "\nThe task: " + steer.task_text(msgs)
            self.only = steer.CHANGE_TOOLS
            return False
        # First remind it of the task; if it insists, make it answer in words.
        self.mode = "free" if self.note is None else "words"
        self.note = steer.repeat_note(call, msgs, insist=self.note is not None)
        return False

    def _checked(self, finish: str, last: bool) -> bool:
        msgs, names = self.messages, self.names
        if self.calls:
            call = fenced.unwrap(self.calls[0])  # code arguments as the model meant them
            call = fenced.def_edit(call, msgs) or fenced.def_write(call, msgs) or call
            substitute = steer.read_first(call, msgs)
            self.calls = [substitute if substitute is not None and "read" in names else call]
            return self._refused(finish) or True
        premature = None if last or self.sent_back else steer.answer_note(msgs, self.text)
        if premature is None:
            if "read" in names and self._instead(steer.unchanged_target(msgs, self.text)):
                return True  # still claims a change it never made: the file again
            if "shell" in names and self._instead(verify.run_mentioned(msgs)):
                return True  # answered after an edit: run the task's command first
            if "grep" in names:
                self._instead(verify.leftovers(msgs))  # a replace-everywhere task: what is left
            return True
        if "read" in names and self._instead(steer.read_mentioned(msgs, self.files)):
            return True  # it answers without the facts: read the file the task names
        self.mode, self.note, self.sent_back = "call", premature, True  # look (or change) first
        if steer.wants_change(premature):
            self.only = steer.CHANGE_TOOLS
        return False

    def _refused(self, finish: str) -> bool:
        """Refuse the call (its error says why) when it would do harm or was cut off."""
        call = self.calls[0]
        harm = steer.refusal(call, self.messages)
        if finish == "length" and call.name in steer.CHANGE_TOOLS:
            harm = (f"your {call.name} call was cut off at the output limit ({self.max_tokens} "
                    "tokens), so it was not run; change fewer lines at a time (edit only the lines "
                    "that need it)")
        if harm is not None:  # the loop sends the reason back as the call's error
            self.calls = [ToolCall(call.id, call.name, None, call.raw_arguments, REFUSED + harm)]
        return harm is not None


def _body(raw: str) -> str:
    """The text of a call that could not be read, for the model to see what it wrote."""
    return raw.replace(chat.CALL_OPEN.strip(), "").replace(chat.CALL_CLOSE, "").strip()[:2000]


def _short_error(error: str) -> str:
    """What was wrong with a call, without repeating the call (a small model copies it back)."""
    head, sep, tail = error.rpartition("': ")
    detail = tail if sep and head.startswith("could not read the tool call") else error
    return (f"your tool call is not valid JSON ({detail}). Write it again as one JSON object; "
            'inside strings write a newline as \\n and a double quote as \\"')


def _gave_up_repeating(text: str, call: ToolCall) -> str:
    return text or (f"(stopped: the model kept repeating the call {call.name} "
                    f"{json.dumps(call.arguments, ensure_ascii=False)})")
