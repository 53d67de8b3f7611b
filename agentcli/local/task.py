"""The current task, as the conversation shows it: its request and the work done on it so far.

Shared by the steering rules (steer.py); pure functions of the messages.
"""

from __future__ import annotations

import os
import re

from agentcli.types import Message, ToolCall


def current_task(messages: list[Message]) -> list[Message]:
    """The messages after the last user prompt: the work done on the current task so far."""
    for i in range(len(messages) - 1, -1, -1):
        if messages[i].role == "user":
            return messages[i + 1:]
    return list(messages)


def last_call(task: list[Message]) -> ToolCall | None:
    """The call whose result is the last message of `task` (None if the last is no result)."""
    if not task or task[-1].role != "tool":
        return None
    return next((c for m in reversed(task) if m.role == "assistant" for c in m.tool_calls
                 if c.id == task[-1].tool_call_id), None)


def successful_calls(task: list[Message]) -> list[ToolCall]:
    """Calls that worked and told the model something (a search that found nothing did not)."""
    ok_ids = {m.tool_call_id for m in task if m.role == "tool" and not m.is_error
              and (not m.content.startswith(_EMPTY_RESULTS) or _WORD_HITS in m.content)}
    return [c for m in task if m.role == "assistant" for c in m.tool_calls if c.id in ok_ids]


_EMPTY_RESULTS = ("no matches", "no files match", "(empty file)")
_WORD_HITS = "(that phrase is nowhere; lines with any of the words"  # grep found its words


def same_path(a: str, b: str) -> bool:
    """Two normalised paths naming the same file, one perhaps relative to a folder of the other."""
    return a == b or a.endswith("/" + b) or b.endswith("/" + a)


def norm(path: str) -> str:
    return os.path.normpath(path.strip()).removeprefix("./")


_LATEST_REQUEST = "\n## The user's latest request (verbatim"  # in a compaction's summary head


def task_text(messages: list[Message], limit: int = 1500) -> str:
    """The prompt of the current task (cut to `limit` characters), to restate it in notes. After
    a compaction the last user message is the summary head: its verbatim request, not the rest."""
    prompt = next((m.content for m in reversed(messages) if m.role == "user"), "")
    if prompt.startswith("[Context summary #"):
        _, found, rest = prompt.partition(_LATEST_REQUEST)
        prompt = rest.partition("\n")[2] if found else ""
    return prompt if len(prompt) <= limit else prompt[:limit] + "…"


# Words that ask for a change to the project (a question ending in "?" asks for none).
_CHANGE = re.compile(r"\b(fix|rename|add|implement|bump|change|set|edit|update|turn|raise|lower|"
                     r"remove|delete|replace|write|create|refactor|make|move|convert|increase|decrease|"
                     r"reduce|enable|disable|switch|drop|insert|append|extend|modify|adjust|patch|rewrite|"
                     r"correct|repair|restore|upgrade|downgrade|migrate|introduce|support|handle)\b", re.I)
# A prompt that opens like a question asks to be told something, whatever verbs it holds.
_QUESTION = re.compile(r"^\s*(?:please\s+)?(?:what|where|which|who|why|how|when|is|are|does|do|can|"
                       r"could|explain|show|list|tell|describe|find|count|summari[sz]e)\b", re.I)
CHANGE_TOOLS = ("edit", "write")


def asks_for_change(messages: list[Message]) -> bool:
    """The current task asks for a change to the project (not a question)."""
    return is_change_request(task_text(messages))


def is_change_request(request: str) -> bool:
    """A prompt with a change verb that is not phrased as a question."""
    question = request.rstrip().endswith("?") or _QUESTION.match(request)
    return bool(_CHANGE.search(request)) and not question
