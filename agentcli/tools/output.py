"""Capping tool output: keep the head and the tail, and say exactly what was cut."""

from __future__ import annotations


def cap(text: str, max_chars: int, max_lines: int | None = None) -> str:
    """Return `text` whole if it fits, else its head and tail around a marker naming the cut."""
    lines = text.splitlines(keepends=True)
    too_many_lines = max_lines is not None and len(lines) > max_lines
    if len(text) <= max_chars and not too_many_lines:
        return text
    if too_many_lines:
        head_n = max_lines // 2
        head, tail = "".join(lines[:head_n]), "".join(lines[len(lines) - (max_lines - head_n):])
    else:
        head, tail = text, text
    if len(head) > max_chars // 2:
        head = _snap_end(head[: max_chars // 2])
    room = max_chars - len(head)
    if len(tail) > room:
        tail = _snap_start(tail[len(tail) - room:]) if room > 0 else ""
    cut_chars = len(text) - len(head) - len(tail)
    cut_lines = max(0, text.count("\n") - head.count("\n") - tail.count("\n"))
    sep = "" if head.endswith("\n") or not head else "\n"
    marker = f"{sep}[... {cut_lines} lines, {cut_chars} characters cut ...]\n"
    return head + marker + tail


def is_binary(sample: bytes) -> bool:
    """A NUL byte in the first block is how git and ripgrep decide a file is binary."""
    return b"\x00" in sample[:8192]


def _snap_end(head: str) -> str:
    """Drop a partial last line, unless that would lose more than half."""
    nl = head.rfind("\n")
    return head[: nl + 1] if nl >= len(head) // 2 else head


def _snap_start(tail: str) -> str:
    """Drop a partial first line, unless that would lose more than half."""
    nl = tail.find("\n")
    return tail[nl + 1:] if 0 <= nl < len(tail) // 2 else tail
