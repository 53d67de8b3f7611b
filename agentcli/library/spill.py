"""Spill: a tool result too large for the window is kept in full as a file in the library, and
the context gets a head+tail preview that says where the rest is.

The archive keeps the full result too (it is lossless); the spill file exists so people and
the model can page through it by line, and ripgrep reports useful line numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from agentcli.tokens import estimate

SPILL_DIR = "spill"
# The memory tools page through the library themselves; spilling their output would loop.
NEVER_SPILL = frozenset({"memory_read", "memory_search"})
CHARS_PER_TOKEN = 3.5


def threshold_tokens(window: int) -> int:
    """Results above this many tokens are spilled: a sixteenth of the window, within bounds."""
    return max(1024, min(8000, window // 16))


@dataclass
class Spilled:
    """What the context shows for a spilled result, and where the full text went."""

    shown: str
    path: Path
    total_lines: int


def needs_spill(content: str, window: int) -> bool:
    """Whether `content` is over the threshold; cheap, since it runs on every tool result."""
    limit = threshold_tokens(window)
    if len(content) <= limit * 2:  # no text is denser than two characters a token
        return False
    if len(content) >= limit * 8:  # nor sparser than eight
        return True
    if len(content) <= 8000:
        return estimate(content) > limit
    third = len(content) // 3
    sample = content[:2000] + content[third:third + 2000] + content[-2000:]
    return estimate(sample) * len(content) / len(sample) > limit


def spill_path(session_dir: Path, event_id: str) -> Path:
    return Path(session_dir) / SPILL_DIR / f"{event_id}.txt"


def preview(content: str, event_id: str, window: int, where: str) -> str:
    """Head and tail of `content` within about half the spill threshold, around a marker that
    names the lines cut and how to read them."""
    keep = int(threshold_tokens(window) / 2 * CHARS_PER_TOKEN)
    lines = content.splitlines(keepends=True)
    head_budget, tail_budget = int(keep * 0.6), keep - int(keep * 0.6)
    head: list[str] = []
    used = 0
    for line in lines:
        if used + len(line) > head_budget:
            if not head:  # one enormous first line: cut inside it
                head.append(line[:head_budget] + "…\n")
            break
        head.append(line)
        used += len(line)
    tail: list[str] = []
    used = 0
    for line in reversed(lines[len(head):]):
        if used + len(line) > tail_budget:
            if not tail and len(lines) > len(head) + 1:
                tail.append("…" + line[-tail_budget:])
            break
        tail.append(line)
        used += len(line)
    tail.reverse()
    total = len(lines)
    first_tail = total - len(tail) + 1
    cut_chars = len(content) - sum(map(len, head)) - sum(map(len, tail))
    marker = (f"[... lines {len(head) + 1}-{first_tail - 1} of {total} ({cut_chars:,} characters) "
              f"not shown. The full output is event {event_id} in the library ({where}); page "
              f"through it with memory_read(event=\"{event_id}\", offset=LINE).]\n")
    text = "".join(head)
    if text and not text.endswith("\n"):
        text += "\n"
    return text + marker + "".join(tail)


def spill(library, session_dir: Path, event_id: str, content: str, window: int,
          display: str | None = None) -> Spilled:
    """Write `content` to the spill folder (through the library's redaction) and return the
    preview for the context. `display` is how to name the file to the model."""
    path = spill_path(session_dir, event_id)
    library.write_text(path, content)
    where = display or str(path)
    return Spilled(preview(content, event_id, window, where), path, content.count("\n") + 1)
