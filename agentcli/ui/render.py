"""The chat's view of a session: streamed markdown, compact tool lines, coloured diffs.

`ChatRenderer` is an event observer (see events.py). One rich `Live` region at a time sits
under the scrollback: a spinner while the model thinks or a tool runs, or the block of the
answer being written. Everything final is printed above it, once.
"""

from __future__ import annotations

import json
import time
from typing import Any

from rich.console import Console, ConsoleOptions, RenderResult
from rich.live import Live
from rich.spinner import Spinner
from rich.text import Text

from agentcli.events import Event
from agentcli.types import ToolCall, ToolResult
from agentcli.ui.diff import diff_stats, render_diff
from agentcli.ui.markdown_stream import MarkdownStream, markdown

OUTPUT_LINES = 4  # lines of a tool's output shown under its call
DIFF_LINES = 40
REFRESH_S = 0.05  # the streamed tail is redrawn at most this often


PLAIN_WIDTH = 1000  # a piped transcript is not wrapped at 80 columns: lines stay whole


class _TrimmedLines:
    """A text stream that drops the spaces rich pads lines with, for output that is not a
    terminal (a transcript, a log), where they are only noise."""

    def __init__(self, out: Any):
        self.out = out
        self.pending = ""
        self.encoding = getattr(out, "encoding", None) or "utf-8"

    def write(self, text: str) -> int:
        lines = (self.pending + text).split("\n")
        self.pending = lines.pop()
        if lines:
            self.out.write("".join(line.rstrip(" ") + "\n" for line in lines))
        return len(text)

    def flush(self) -> None:
        if self.pending:  # a line left open on purpose (a question waiting for its answer)
            self.out.write(self.pending)
            self.pending = ""
        self.out.flush()

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        return self.out.fileno()


def chat_console(out: Any = None) -> Console:
    """The chat's console: rich's own on a terminal; elsewhere no padding and no hard wrap."""
    import sys

    out = out or sys.stdout
    if out.isatty():
        return Console(highlight=False)
    return Console(highlight=False, file=_TrimmedLines(out), width=PLAIN_WIDTH)


class _Waiting:
    """A spinner with a label and the seconds since it started."""

    def __init__(self, label: str):
        self.label = label
        self.started = time.monotonic()
        self.spinner = Spinner("dots", style="cyan")

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        elapsed = time.monotonic() - self.started
        self.spinner.text = Text.assemble((self.label, "cyan"),
                                          (f" {elapsed:.0f}s · Ctrl-C to interrupt", "dim"))
        yield self.spinner


def call_title(call: ToolCall) -> tuple[str, str]:
    """(tool, the one argument that says what it does) for a tool line."""
    args = call.arguments if isinstance(call.arguments, dict) else None
    if args is None:
        return call.name, "(arguments did not parse)"
    if call.name == "shell":
        detail = str(args.get("command", ""))
    elif call.name == "read":
        detail = str(args.get("path", ""))
        if args.get("offset") or args.get("limit"):
            start = int(args.get("offset") or 1)
            detail += f":{start}" + (f"-{start + int(args['limit']) - 1}" if args.get("limit") else "")
    elif call.name in ("edit", "write"):
        detail = str(args.get("path", ""))
    elif call.name == "grep":
        detail = repr(args.get("pattern", ""))
        if args.get("path"):
            detail += f" in {args['path']}"
        if args.get("glob"):
            detail += f" ({args['glob']})"
    elif call.name == "glob":
        detail = str(args.get("pattern", ""))
    elif call.name == "memory_search":
        detail = repr(args.get("query", "")) + (f" in {args['session']}" if args.get("session") else "")
    elif call.name == "memory_read":
        detail = str(args.get("event", "")) + (f" of {args['session']}" if args.get("session") else "")
    else:
        detail = " ".join(f"{k}={v if isinstance(v, str) else json.dumps(v)}" for k, v in args.items())
    lines = detail.strip().splitlines() or [""]
    detail = lines[0] + (" …" if len(lines) > 1 else "")
    return call.name, detail


def _output_lines(result: ToolResult) -> list[str]:
    """A shell result's output without the labels the model reads."""
    lines = [ln for ln in result.content.splitlines() if ln.strip()]
    if result.meta.get("exit_code") is not None or result.meta.get("timed_out"):
        lines = [ln for ln in lines if not ln.startswith(("exit code:", "stdout:", "stderr:"))
                 and ln != "(no output)"]
    return lines


def result_lines(call: ToolCall, result: ToolResult, elapsed: float, compact: bool = False) -> Text:
    """The lines under a tool call: outcome, time, the first lines of output or the diff.
    `compact` (a replayed turn) keeps only the outcome line."""
    meta = result.meta or {}
    out = Text("  ⎿ ", style="dim")
    secs = f" · {elapsed:.1f}s" if elapsed >= 0.05 else ""
    body: list[str] = []
    body_style = "dim"
    if result.is_error and result.content.startswith("error: the user declined"):
        out.append("declined", style="yellow")
        out.append(" — the model was told", style="dim")
    elif call.name == "shell" and not result.content.startswith("error:"):
        code = meta.get("exit_code")
        if meta.get("timed_out"):
            out.append("timed out", style="red")
        else:
            out.append(f"exit {code}", style="green" if code == 0 else "red")
        body = _output_lines(result)
        if not body:
            out.append(" · no output", style="dim")
    elif result.is_error:
        lines = result.content.splitlines() or ["error"]
        out.append(lines[0].removeprefix("error: ")[:300], style="red")
        body = lines[1:]
        body_style = "red dim"
    elif call.name in ("edit", "write") and meta.get("diff") is not None:
        added, removed = diff_stats(meta["diff"])
        verb = "created" if meta.get("created") else "updated"
        out.append(f"{verb} {meta.get('path', '')}", style="")
        out.append(f" (+{added} −{removed})", style="dim")
        out.append(secs, style="dim")
        diff = render_diff(meta["diff"], DIFF_LINES)
        if diff.plain and not compact:
            out.append("\n")
            out.append_text(diff)
        return out
    elif call.name == "read" and "lines" in meta:
        rng = meta.get("range")
        out.append(f"{meta['lines']} lines" + (f", showing {rng[0]}-{rng[1]}" if rng else ""))
    elif call.name == "grep" and "matches" in meta:
        files = meta.get("files") or []
        out.append(f"{meta['matches']} matches" + (f" in {len(files)} files" if files else ""))
        body = [ln for ln in result.content.splitlines() if ln.strip()]
    elif call.name == "glob" and "count" in meta:
        out.append(f"{meta['count']} files")
        body = [ln for ln in result.content.splitlines() if ln.strip()]
    else:
        body = [ln for ln in result.content.splitlines() if ln.strip()]
        if body:
            out.append(body.pop(0)[:300])
    out.append(secs, style="dim")
    if compact:
        return out
    for line in body[:OUTPUT_LINES]:
        out.append("\n    " + line[:400], style=body_style)
    if len(body) > OUTPUT_LINES:
        out.append(f"\n    … {len(body) - OUTPUT_LINES} more lines", style="dim")
    return out


class ChatRenderer:
    """Renders a session's events to a rich console. Call `begin_run` before `session.run`."""

    def __init__(self, console: Console):
        self.console = console
        self._live: Live | None = None
        self._refreshed = 0.0
        self._label = "working"
        self._stream: MarkdownStream | None = None
        self.compacted_at: float | None = None
        self.waited_s = 0.0  # time the current tool call spent waiting for the user's answer
        self._said: set[str] = set()  # notices shown once per chat

    # -- the live region ----------------------------------------------------------------------

    def _show(self, renderable: Any, auto: bool = True) -> None:
        """Put `renderable` in the live region. A spinner refreshes itself from rich's thread;
        the answer's tail is refreshed only from this thread, as text arrives: a thread
        redrawing text that changes under it misplaces the cursor and eats lines above."""
        if self._live is not None and self._live.auto_refresh != auto:
            self.pause()
        if self._live is None:
            self._live = Live(renderable, console=self.console, transient=True, auto_refresh=auto,
                              refresh_per_second=10, redirect_stdout=False, redirect_stderr=False)
            self._live.start()
        else:
            self._live.update(renderable, refresh=True)
        self._refreshed = time.monotonic()

    def pause(self) -> None:
        """Take the live region away (before a question to the user, or the prompt)."""
        if self._live is not None:
            live, self._live = self._live, None
            try:
                live.stop()
            except Exception:
                pass

    def _wait(self, label: str) -> None:
        self._label = label
        self._show(_Waiting(label))

    def working(self) -> None:
        """Show the last spinner again (after a question to the user)."""
        if self.console.is_terminal:
            self._wait(self._label)

    def _finish_text(self) -> None:
        if self._stream is not None:
            stream, self._stream = self._stream, None
            stream.finish()

    # -- the run ------------------------------------------------------------------------------

    def begin_run(self) -> None:
        self._stream = None
        if self.console.is_terminal:
            self._wait("thinking")

    def abort(self, why: str = "interrupted") -> None:
        """The run ended without a `final` event (an interrupt outside the loop)."""
        self._finish_text()
        self.pause()
        self.console.print(Text(f"⏹ {why}", style="yellow"))
        self.console.print()

    def __call__(self, event: Event) -> None:
        handler = getattr(self, f"_on_{event.kind}", None)
        if handler is not None:
            handler(**event.data)

    def _on_text(self, text: str) -> None:
        if self._stream is None:
            self._stream = MarkdownStream(self.console.print)
            self.console.print()
            if self.console.is_terminal:
                self._show(self._stream.renderable(), auto=False)
        self._stream.feed(text)
        live = self._live
        if live is not None and time.monotonic() - self._refreshed >= REFRESH_S:
            live.refresh()
            self._refreshed = time.monotonic()

    def _on_assistant(self, message: Any, usage: Any = None, model: str = "", **_: Any) -> None:
        if self._stream is not None:
            self._finish_text()
        elif message.content.strip():
            self.console.print()
            self.console.print(markdown(message.content))
        self.pause()

    def _on_tool_call(self, call: ToolCall) -> None:
        self._finish_text()
        self.pause()
        name, detail = call_title(call)
        self.console.print()
        line = Text("● ", style="cyan")
        line.append(name, style="bold")
        if detail:
            line.append("  " + detail)
        self.console.print(line, overflow="ellipsis", no_wrap=True)
        self.waited_s = 0.0
        if self.console.is_terminal:
            self._wait(f"running {name}")

    def _on_tool_result(self, call: ToolCall, result: ToolResult, elapsed_s: float = 0.0) -> None:
        self.pause()
        ran = (result.meta or {}).get("elapsed_s")  # the shell's own clock, where it has one
        elapsed = ran if isinstance(ran, (int, float)) else max(0.0, elapsed_s - self.waited_s)
        self.waited_s = 0.0
        self.console.print(result_lines(call, result, elapsed))
        if self.console.is_terminal:
            self._wait("thinking")

    def _on_notice(self, text: str, level: str = "info", **_: Any) -> None:
        if "without a sandbox" in text:  # said once a chat, not again on /clear or /resume
            if text in self._said:
                return
            self._said.add(text)
        self._finish_text()
        style = {"warning": "yellow", "error": "red"}.get(level, "dim")
        self.console.print(Text(f"  {text}", style=style))

    def _on_model_switch(self, old: str, new: str, reason: str, **_: Any) -> None:
        self._finish_text()
        self.console.print(Text(f"  ⇄ model {old} → {new}: {reason}", style="yellow"))

    def _on_compaction(self, **data: Any) -> None:
        self._finish_text()
        self.compacted_at = time.time()
        detail = data.get("summary") or data.get("details") or ""
        if isinstance(detail, dict):
            detail = ", ".join(f"{k} {v}" for k, v in detail.items())
        self.console.print(Text("  ✂ compacted the context" + (f": {detail}" if detail else ""),
                                style="magenta"))

    def _on_final(self, outcome: Any) -> None:
        self._finish_text()
        self.pause()
        if outcome.stop_reason == "interrupted":
            self.console.print(Text("⏹ interrupted — nothing is lost; tell the model how to go on",
                                    style="yellow"))
        elif outcome.is_error:
            self.console.print(Text(f"✗ {outcome.stop_reason}: {outcome.result}", style="red"))
        self.console.print()
