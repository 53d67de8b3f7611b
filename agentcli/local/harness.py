"""What the harness does for a small model without decoding, whoever serves the model.

These steps need no token masks, so the bundled model and a small model behind an
OpenAI-compatible server (Ollama, llama-server, vLLM: `small_model()`) get them alike:
- calls the harness makes in place of the model's turn: the command the task says fails (how it
  fails comes first), taking back a change that made it worse (undo.py), the task's command after
  every other change (check, then answer), and the code the task needs before the model's first
  own turn (pack.py);
- a reply with the change written as a ```python block becomes the `write` it means (codemode.py
  for the file a failing check points at, else fenced.py).
"""

from __future__ import annotations

from agentcli.local import codemode, fenced, pack, rules, steer, undo, verify
from agentcli.types import Message, ToolCall


def own_calls(messages: list[Message], system: str, names: set[str], *,
              pack_code: bool = True) -> list[ToolCall]:
    """The calls the harness makes now instead of asking the model ([] to ask it)."""
    steps = (verify.run_first, undo.undo_worse, verify.check_after_change)
    check = next((c for step in steps if (c := step(messages)) and c.name in names), None)
    if check is not None:
        return [check]
    if "read" not in names or not pack_code:
        return []
    return [c for c in pack.first_reads(messages, steer.outline_files(system)) if c.name in names]


def code_reply(text: str, messages: list[Message], names: set[str]) -> ToolCall | None:
    """The `write` a plain reply's ```python block means, for a task that asks for a change (and
    that the task allows), or None. The model behind a server was not asked for the whole file
    (no note, no opening), so its block only replaces the definitions in it."""
    if not steer.asks_for_change(messages) or "write" not in names:
        return None
    target = codemode.target(messages, names)
    call = codemode.write(text, target, messages, whole=False) if target else fenced.code_edit(text, messages)
    return rules.allowed(call, messages)
