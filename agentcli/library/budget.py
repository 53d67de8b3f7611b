"""How much of the window a session may use, and how much it uses now.

The count prefers what the provider reported for the last request (`Usage.prompt_tokens`) plus
an estimate of the messages added since; without a usable report it estimates every part.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from agentcli.library.context import MESSAGE_OVERHEAD, Context
from agentcli.tokens import estimate
from agentcli.types import ToolSpec

# Room kept free beyond the reply, for the estimate's error.
SAFETY_SHARE = 0.03


@dataclass
class Budget:
    """Token budgets for one model window.

    `limit`: compact when the next request would exceed it. `target`: aim for this after a
    compaction, so work can go on for a while before the next one. `recent`: the most recent
    turns kept verbatim. `summary`: the longest summary asked for.
    """

    window: int
    max_output: int
    threshold: float = 0.8

    @property
    def limit(self) -> int:
        out = min(self.max_output, self.window // 4)
        return int(min(self.threshold * self.window, self.window - out - SAFETY_SHARE * self.window))

    @property
    def target(self) -> int:
        return int(self.limit * 0.6)

    @property
    def recent(self) -> int:
        return int(self.limit * 0.35)

    @property
    def summary(self) -> int:
        return max(400, min(4000, self.window // 12))

    @property
    def index_chars(self) -> int:
        return max(600, min(5000, self.window // 10))


class TokenMeter:
    """Counts the tokens of the next request: system prompt, tools, summary and messages."""

    def __init__(self) -> None:
        self._system: tuple[str, int] = ("", 0)
        self._tools: dict[tuple, int] = {}
        self._tool_bytes: dict[tuple, int] = {}
        self._summary: tuple[str | None, int] = (None, 0)
        self._sent: tuple | None = None
        self._anchor: tuple | None = None

    def system_tokens(self, system: str) -> int:
        if self._system[0] != system:
            self._system = (system, estimate(system))
        return self._system[1]

    def tools_tokens(self, tools: list[ToolSpec], lean: bool) -> int:
        key = (tuple(t.name for t in tools), lean)
        if key not in self._tools:
            self._tools[key] = estimate(json.dumps(
                [{"name": t.name, "description": t.describe(lean), "parameters": t.parameters}
                 for t in tools], ensure_ascii=False))
        return self._tools[key]

    def summary_tokens(self, summary: str | None) -> int:
        if self._summary[0] != summary:
            self._summary = (summary, estimate(summary) + 4 if summary else 0)
        return self._summary[1]

    def breakdown(self, context: Context, system: str, tools: list[ToolSpec],
                  lean: bool) -> dict[str, int]:
        """Estimated tokens by part of the request."""
        messages = results = 0
        for e in context.entries:
            if e.message.role == "tool":
                results += e.tokens
            else:
                messages += e.tokens
        return {"system": self.system_tokens(system), "tools": self.tools_tokens(tools, lean),
                "summary": self.summary_tokens(context.summary), "messages": messages,
                "tool_results": results}

    def upper_bound(self, context: Context, system: str, tools: list[ToolSpec], lean: bool) -> int:
        """At least the tokens of the next request, found without a tokenizer (loading one takes
        a fifth of a second): no token is shorter than a byte. A short conversation fits by it."""
        key = (tuple(t.name for t in tools), lean)
        if key not in self._tool_bytes:
            self._tool_bytes[key] = _bytes(json.dumps(
                [{"name": t.name, "description": t.describe(lean), "parameters": t.parameters}
                 for t in tools], ensure_ascii=False))
        n = _bytes(system) + self._tool_bytes[key] + _bytes(context.summary or "") + 4
        for e in context.entries:
            m = e.message
            n += _bytes(m.content) + MESSAGE_OVERHEAD
            for call in m.tool_calls:
                n += _bytes(call.name) + _bytes(call.raw_arguments or str(call.arguments or "")) + 8
        return max(n, self._anchor[-1] if self._anchor else 0)

    def sent(self, context: Context, model: str, system: str) -> None:
        """A request is going out with this context."""
        self._sent = (context.version, len(context.entries), model, system)

    def received(self, prompt_tokens: int) -> None:
        """The provider counted `prompt_tokens` for the request last sent."""
        if prompt_tokens > 0 and self._sent is not None:
            self._anchor = (*self._sent, prompt_tokens)

    def total(self, context: Context, model: str, system: str, tools: list[ToolSpec],
              lean: bool) -> int:
        """Tokens of the next request: the last report plus what was added, else an estimate."""
        estimated = sum(self.breakdown(context, system, tools, lean).values())
        if self._anchor is not None:
            version, count, anchor_model, anchor_system, reported = self._anchor
            if (version == context.version and anchor_model == model and anchor_system == system
                    and count <= len(context.entries)):
                added = sum(e.tokens for e in context.entries[count:])
                return reported + added
        return estimated


def _bytes(text: str) -> int:
    """UTF-8 bytes of `text`, plus one for an estimate's rounding up."""
    return len(text.encode("utf-8", "surrogatepass")) + 1 if text else 0
