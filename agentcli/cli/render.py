"""Headless front ends: progress lines on stderr, or JSON events on stdout."""

from __future__ import annotations

import json
import sys
import time
from typing import TYPE_CHECKING, Any, TextIO

from agentcli.events import Event
from agentcli.secrets import redact
from agentcli.types import Outcome, ToolCall, ToolResult

if TYPE_CHECKING:
    from agentcli.session import Session


def json_line(obj: dict[str, Any]) -> str:
    """One JSON object for stdout, redacted like the archive: a program reading it, or its
    log, is no place for a key the model's commands printed."""
    return redact(json.dumps(obj, ensure_ascii=False, default=str))


def result_object(session: Session, outcome: Outcome) -> dict[str, Any]:
    """The object `run --output-format json` prints, for a session and how its run ended."""
    return {"session_id": session.id, "result": outcome.result, "is_error": outcome.is_error,
            "stop_reason": outcome.stop_reason, "num_turns": session.turns,
            "usage": session.usage.to_dict(), "cost_usd": session.cost,
            "duration_s": round(time.monotonic() - session.started, 3), "model": session.model.name}


def call_summary(call: ToolCall, width: int = 160) -> str:
    """`grep pattern="foo" path="src"` in one line."""
    if call.arguments is None:
        return f"{call.name} (unparsed arguments)"
    parts = []
    for key, value in call.arguments.items():
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        text = " ".join(str(text).split())
        parts.append(f"{key}={text[:80]!r}" if isinstance(value, str) else f"{key}={text[:80]}")
    line = f"{call.name} {' '.join(parts)}"
    return line if len(line) <= width else line[: width - 1] + "…"


def result_summary(result: ToolResult) -> str:
    """The first line of a result, with the exit code where there is one."""
    first = next((ln for ln in result.content.splitlines() if ln.strip()), "(empty)")
    return first[:160]


class ProgressLines:
    """`run --output-format text`: one line per tool call and notice on stderr."""

    def __init__(self, stream: TextIO | None = None):
        self.stream = stream or sys.stderr

    def __call__(self, event: Event) -> None:
        d = event.data
        if event.kind == "tool_call":
            self._line(f"→ {call_summary(d['call'])}")
        elif event.kind == "tool_result":
            mark = "✗" if d["result"].is_error else "✓"
            self._line(f"  {mark} {result_summary(d['result'])} ({d['elapsed_s']:.2f}s)")
        elif event.kind == "notice":
            self._line(f"agentcli: {d['text']}")
        elif event.kind == "model_switch":
            self._line(f"agentcli: switched model {d['old']} → {d['new']}: {d['reason']}")
        elif event.kind == "compaction":
            self._line(f"agentcli: compacted the context ({d.get('summary', '')})")

    def _line(self, text: str) -> None:
        print(redact(text), file=self.stream, flush=True)


class StreamJson:
    """`run --output-format stream-json`: one JSON object per line on stdout."""

    def __init__(self, stream: TextIO | None = None):
        self.stream = stream or sys.stdout

    def __call__(self, event: Event) -> None:
        d = event.data
        if event.kind == "assistant":
            msg = d["message"]
            self.write({"type": "assistant", "text": msg.content, "model": d["model"],
                        "tool_calls": [c.to_dict() for c in msg.tool_calls],
                        "usage": d["usage"].to_dict()})
        elif event.kind == "tool_call":
            self.write({"type": "tool_call", **d["call"].to_dict()})
        elif event.kind == "tool_result":
            r = d["result"]
            self.write({"type": "tool_result", "tool_call_id": d["call"].id, "name": d["call"].name,
                        "is_error": r.is_error, "content": r.content, "elapsed_s": d["elapsed_s"]})
        elif event.kind in ("notice", "model_switch", "compaction"):
            self.write({"type": event.kind, **{k: v for k, v in d.items()}})

    def write(self, obj: dict[str, Any]) -> None:
        print(json_line(obj), file=self.stream, flush=True)
