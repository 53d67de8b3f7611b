"""Prompts for the local model, written with the GGUF's own chat template.

The template ships inside the GGUF (`tokenizer.chat_template`); for Qwen2.5 it lists the tools
in the system turn and expects Hermes-style `<tool_call>{json}</tool_call>` replies, with tool
results as `<tool_response>` blocks. Rendering the conversation through it keeps the model on
the format it was trained on. Past calls are rendered in that canonical form whatever form the
model first wrote them in, so its own history shows it the right way to call.
"""

from __future__ import annotations

import json
import re
from typing import Any

from agentcli.types import Message, ToolSpec

# ChatML, for a GGUF without a template: what Qwen's template produces, without tools.
_CHATML = (
    "{% for message in messages %}{{ '<|im_start|>' + message.role + '\n' + message.content"
    " + '<|im_end|>\n' }}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|im_start|>assistant\n' }}{% endif %}")

TURN_END = "<|im_end|>\n"  # ends the system turn: the prompt's stable prefix stops here
CALL_OPEN = "<tool_call>\n"
CALL_CLOSE = "</tool_call>"
RESULT_OPEN = "<tool_response>"  # only the harness writes results; a model that starts one is imagining
RESULT_CLOSE = "</tool_response>"
# What a forced call starts with: the tag and the start of the object, so the model only
# chooses the tool and its arguments.
CALL_PREFIX = CALL_OPEN + '{"name": "'


class Renderer:
    """Turns (system, messages, tools) into the prompt text the model continues."""

    def __init__(self, template: str | None, *, eos: str = "<|im_end|>", bos: str = ""):
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        self.native_tools = bool(template) and "tools" in (template or "")
        self._format = Jinja2ChatFormatter(template or _CHATML, eos_token=eos, bos_token=bos)

    def render(self, system: str, messages: list[Message], tools: list[ToolSpec], *,
               lean: bool, extra_user: str | None = None) -> str:
        """The prompt, ending where the assistant's next turn begins.

        `extra_user` is a note for this call only (a nudge from the harness), shown as the last
        user turn; it is not part of the conversation.
        """
        wire = to_template_messages(system, messages, lean=lean)
        if extra_user:
            wire.append({"role": "user", "content": extra_user})
        specs = tool_defs(tools, lean)
        if not self.native_tools and specs:
            wire[0]["content"] += _tools_in_prose(specs)
            specs = []
        return self._format(messages=wire, tools=specs or None).prompt


def tool_defs(tools: list[ToolSpec], lean: bool) -> list[dict[str, Any]]:
    """Tools as OpenAI-style function definitions, the shape chat templates expect."""
    return [{"type": "function", "function": {"name": t.name, "description": t.describe(lean),
                                               "parameters": t.schema(lean)}} for t in tools]


def to_template_messages(system: str, messages: list[Message], *, lean: bool = False
                         ) -> list[dict[str, Any]]:
    """Neutral messages as chat-template messages (OpenAI shape, arguments as objects).

    For small models (`lean`) tool results are shown the way they read them best: file text
    without line-number prefixes (which they copy into `edit`'s `old` or imitate), and listings
    and search hits with their count (they cannot count lines reliably).
    """
    out: list[dict[str, Any]] = [{"role": "system", "content": system}]
    for m in messages:
        if m.role == "assistant":
            calls = [c for c in m.tool_calls if c.arguments is not None]
            content = m.content
            broken = [c for c in m.tool_calls if c.arguments is None]
            if broken:  # show the model what it wrote, so the error result makes sense
                content = "\n".join([content] + [f"{CALL_OPEN}{_start(c.raw_arguments)}\n{CALL_CLOSE}"
                                                 for c in broken if c.raw_arguments]).strip()
            msg: dict[str, Any] = {"role": "assistant", "content": content}
            if calls:
                msg["tool_calls"] = [{"id": c.id, "type": "function", "function": {
                    "name": c.name, "arguments": c.arguments}} for c in calls]
            out.append(msg)
        elif m.role == "tool":
            content = lean_result(m.name or "", m.content) if lean and not m.is_error else m.content
            out.append({"role": "tool", "content": content or "(empty)",
                        "tool_call_id": m.tool_call_id, "name": m.name})
        else:
            out.append({"role": "user", "content": m.content})
    return out


ECHO_CHARS = 100  # this much of the instructions, verbatim, in a reply: the model is reciting


def instructions(prompt: str) -> str:
    """The system turn of a rendered prompt (instructions and tools) without its list of the
    project's files, which an answer may rightly repeat."""
    end = prompt.find(TURN_END)
    turn = prompt[: end if end >= 0 else len(prompt)]
    start = turn.find("# Files in the project")
    if start >= 0:
        stop = turn.find("\n\n", start)
        turn = turn[:start] + (turn[stop:] if stop >= 0 else "")
    return turn


def echoes(text: str, source: str) -> bool:
    """Whether a reply being generated ends in a long verbatim stretch of `source`: small models
    sometimes recite their system prompt and tool list (the 1.5B, for 1,024 tokens, after a
    write), which is no answer and holds tool schemas that parse as bogus calls."""
    return len(text) >= ECHO_CHARS and text[-ECHO_CHARS:] in source


BROKEN_SHOWN = 400  # characters of a call that could not be read, as it stays in the window


def _start(raw: str) -> str:
    """The start of an unreadable call: enough to see what went wrong; the whole of it (a file's
    worth of broken JSON) fills a small window and invites the model to copy it."""
    return raw if len(raw) <= BROKEN_SHOWN else raw[:BROKEN_SHOWN] + " …[cut]"


_NUMBERED = re.compile(r"^ *\d+\t", re.M)


def lean_result(tool: str, content: str) -> str:
    """A tool result as a small model is shown it (see `to_template_messages`)."""
    lines = content.split("\n")
    body = [ln for ln in lines if not ln.startswith("[")]
    if tool == "read" and body and all(_NUMBERED.match(ln) for ln in body):
        return _NUMBERED.sub("", content)
    if tool in ("glob", "grep") and body and not content.startswith(("no matches", "no files")):
        noun = ("file" if tool == "glob" else "matching line") + ("" if len(body) == 1 else "s")
        shown = f"{len(body)} {noun}" + (" shown" if len(body) < len(lines) else "")
        return f"{content}\n({shown})"
    return content


def call_text(name: str, arguments: dict[str, Any]) -> str:
    """A call in the canonical form, as the template writes past calls."""
    return CALL_OPEN + json.dumps({"name": name, "arguments": arguments}, ensure_ascii=False) + \
        "\n" + CALL_CLOSE


def _tools_in_prose(specs: list[dict[str, Any]]) -> str:
    """For a template without tool support: the tools and the call format in the system turn."""
    lines = "\n".join(json.dumps(s["function"], ensure_ascii=False) for s in specs)
    return ("\n\n# Tools\nYou can call these tools:\n" + lines + "\n\nTo call one, reply with only:\n"
            + CALL_OPEN + '{"name": "<tool>", "arguments": {...}}\n' + CALL_CLOSE)
