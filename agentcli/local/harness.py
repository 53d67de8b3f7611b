"""What the harness does for a small model behind an OpenAI-compatible server (Ollama,
llama-server, vLLM: `small_model()`), plugged in by modelchoice as `models.base.Steering`.

- Calls the harness makes in place of the model's turn (no decoding at all): the command the task
  says fails (how it fails comes first), taking back a change that made it worse (undo.py), the
  task's command after every other change (check, then answer), and the code the task needs
  before the model's first own turn (pack.py).
- Each reply the model is asked for is steered by the same rules as the bundled model's
  (reply.py, rules.py): the adapter asks for what the wire allows in each mode (a forced tool
  choice for a call, `tool_choice: "none"` for words, the note as a last user message) and hands back what
  each request came to. A server cannot have the start of a reply written for it, so each reply
  is read as it came.
"""

from __future__ import annotations

from agentcli.local import pack, reply, steer, undo, verify
from agentcli.models.base import Request
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


class ServerReply:
    """One reply of a model behind a server, steered by the rules (`models.base.ReplySteering`)."""

    max_attempts = reply.MAX_ATTEMPTS

    def __init__(self, request: Request, names: set[str]):
        self._steering = reply.begin(request, names, ground_first=bool(names), prefixed=False)

    def ask(self) -> tuple[str, str | None, tuple[str, ...]]:
        ask = self._steering.ask
        return ask.mode, ask.note, ask.only

    def judge(self, raw: str, finish: str, attempt: int) -> bool:
        return self._steering.judge(raw, finish, attempt)

    @property
    def text(self) -> str:
        return self._steering.text

    @property
    def calls(self) -> list[ToolCall]:
        return self._steering.calls


def begin(request: Request, names: set[str]) -> ServerReply:
    """The steering of the reply to `request` (a task's first reply is a call, as for the
    bundled model)."""
    return ServerReply(request, names)
