"""Streaming markdown: finished blocks are printed once, for good; the block being written
is redrawn live below them.

Re-rendering the whole answer on every delta flickers and breaks once the answer is taller
than the screen. Instead the text is cut at block boundaries (a blank line outside a code
fence, before a line that does not continue a list or an indented block): everything before
the cut is final markdown and goes to the scrollback; only the tail is live, cropped to its
last screenful so a long code block scrolls instead of overflowing.
"""

from __future__ import annotations

import re

from rich.console import Console, ConsoleOptions, RenderResult
from rich.markdown import Markdown
from rich.segment import Segment

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")

CODE_THEME = "monokai"


def markdown(text: str) -> Markdown:
    """The one place answers become rich Markdown, so every view renders them alike."""
    return Markdown(text, code_theme=CODE_THEME, inline_code_theme=CODE_THEME)


def safe_cut(text: str, start: int = 0) -> int:
    """The last offset in `text` (>= start) before which all blocks are finished.

    Returns `start` when no block after `start` is finished yet. Offsets always sit at the
    beginning of a line.
    """
    cut = start
    fence: str | None = None
    pos = start
    blank_before = False
    for line in text[start:].splitlines(keepends=True):
        if not line.endswith("\n"):
            break  # the line being written; nothing about it is known yet
        stripped = line.strip()
        opener = _FENCE.match(line)
        if fence is not None:
            if opener and opener.group(1)[0] == fence[0] and len(opener.group(1)) >= len(fence) \
                    and not line.strip()[len(opener.group(1)):].strip():
                fence = None
        elif opener:
            if blank_before:
                cut = pos
            fence = opener.group(1)
        elif stripped and blank_before and not line[:1].isspace() and not _continues_list(line):
            cut = pos
        blank_before = fence is None and not stripped
        pos += len(line)
    return cut


def _continues_list(line: str) -> bool:
    """A list item after a blank line may belong to a loose list started above; keep them together."""
    return bool(re.match(r"^([-*+]|\d{1,9}[.)])\s", line))


class _Tail:
    """The live part: the unfinished block, cropped to its last `max_lines` rendered lines."""

    def __init__(self, stream: MarkdownStream):
        self.stream = stream

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        text = self.stream.tail
        if not text.strip():
            return
        lines = console.render_lines(markdown(text), options, pad=False)
        room = max(3, (options.height or console.height) - 4)
        if len(lines) > room:
            lines = lines[-room:]
        for line in lines:
            yield from line
            yield Segment.line()


class MarkdownStream:
    """Accumulates streamed text; `print_final` is called with each finished chunk."""

    def __init__(self, print_final):
        self._print = print_final
        self.text = ""
        self.printed = 0
        self._chunks = 0
        self._after_code = False

    @property
    def tail(self) -> str:
        return self.text[self.printed:]

    def renderable(self) -> _Tail:
        return _Tail(self)

    def feed(self, delta: str) -> None:
        self.text += delta
        cut = safe_cut(self.text, self.printed)
        if cut > self.printed:
            chunk = self.text[self.printed:cut]
            self.printed = cut
            self._emit(chunk)

    def finish(self) -> str:
        """Print what is left; return the whole text."""
        rest = self.tail
        self.printed = len(self.text)
        self._emit(rest)
        return self.text

    def _emit(self, chunk: str) -> None:
        if not chunk.strip():
            return
        # Each chunk renders alone, so the gap between blocks is ours to add; rich pads code
        # blocks with a line of their own, which is gap enough.
        fenced = bool(_FENCE.match(chunk.lstrip("\n")))
        if self._chunks and not fenced and not self._after_code:
            self._print()
        self._print(markdown(chunk))
        self._chunks += 1
        self._after_code = bool(_FENCE.match(chunk.rstrip().splitlines()[-1]))
