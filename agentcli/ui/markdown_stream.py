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
from rich.markdown import Heading, HorizontalRule, Markdown
from rich.segment import Segment
from rich.text import Text

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")

CODE_THEME = "monokai"


class _Heading(Heading):
    """Headings as rich draws them, but flush left where the output is not a terminal (a piped
    transcript has no width to centre in)."""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if console.is_terminal:
            yield from super().__rich_console__(console, options)
        else:
            text = self.text.copy()
            text.justify = "left"
            yield text


class _Rule(HorizontalRule):
    """A `---` rule: the terminal's width, or a short one in a piped transcript."""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if console.is_terminal:
            yield from super().__rich_console__(console, options)
        else:
            yield Text("-" * 40)
            yield Text()


class _Markdown(Markdown):
    elements = {**Markdown.elements, "heading_open": _Heading, "hr": _Rule}


def markdown(text: str) -> Markdown:
    """The one place answers become rich Markdown, so every view renders them alike."""
    return _Markdown(text, code_theme=CODE_THEME, inline_code_theme=CODE_THEME)


class BlockScanner:
    """Finds where finished blocks end in a growing text, reading each complete line once.

    `advance(text)` returns the last offset before which all blocks are finished; offsets sit
    at the beginning of a line. A line still being written decides nothing.
    """

    def __init__(self, start: int = 0):
        self.pos = start
        self.cut = start
        self.fence: str | None = None
        self.blank_before = False

    def advance(self, text: str) -> int:
        while True:
            end = text.find("\n", self.pos)
            if end < 0:
                return self.cut
            line = text[self.pos:end + 1]
            stripped = line.strip()
            opener = _FENCE.match(line)
            if self.fence is not None:
                mark = opener.group(1) if opener else ""
                if mark and mark[0] == self.fence[0] and len(mark) >= len(self.fence) \
                        and not stripped[len(mark):].strip():
                    self.fence = None
            elif opener:
                if self.blank_before:
                    self.cut = self.pos
                self.fence = opener.group(1)
            elif stripped and self.blank_before and not line[:1].isspace() \
                    and not _continues_list(line):
                self.cut = self.pos
            self.blank_before = self.fence is None and not stripped
            self.pos = end + 1


def safe_cut(text: str, start: int = 0) -> int:
    """The last offset in `text` (>= start) before which all blocks are finished."""
    return BlockScanner(start).advance(text)


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
        room = max(3, (options.height or console.height) - 4)
        raw = text.split("\n")
        if len(raw) > 2 * room:  # render only what can show: a long code block stays cheap
            head = raw[0] + "\n" if _FENCE.match(raw[0]) else ""
            text = head + "\n".join(raw[-room:])
        lines = console.render_lines(markdown(text), options, pad=False)
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
        self._scanner = BlockScanner()

    @property
    def tail(self) -> str:
        return self.text[self.printed:]

    def renderable(self) -> _Tail:
        return _Tail(self)

    def feed(self, delta: str) -> None:
        self.text += delta
        cut = self._scanner.advance(self.text)
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
