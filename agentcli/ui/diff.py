"""Unified diffs as coloured lines with line numbers, the way a reviewer reads them."""

from __future__ import annotations

import re

from rich.text import Text

_HUNK = re.compile(r"^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@(.*)$")


def render_diff(diff: str, max_lines: int = 40, indent: str = "    ") -> Text:
    """`diff` (unified format) as one Text: removed lines red, added green, context dim.

    File headers are dropped (the tool line names the file); each line carries its line
    number in the new file (the old one for removals). Past `max_lines` the rest is counted,
    not shown: the archive keeps the full diff.
    """
    out = Text()
    body = [ln for ln in diff.splitlines() if not ln.startswith(("--- ", "+++ "))]
    old_no = new_no = 0
    width = _number_width(body)
    shown = 0
    for i, line in enumerate(body):
        if shown >= max_lines:
            rest = body[i:]
            added = sum(1 for ln in rest if ln.startswith("+"))
            removed = sum(1 for ln in rest if ln.startswith("-"))
            out.append(f"{indent}… {len(rest)} more diff lines (+{added} −{removed})\n", style="dim")
            break
        hunk = _HUNK.match(line)
        if hunk:
            old_no, new_no = int(hunk.group(1)), int(hunk.group(2))
            if shown:
                out.append(f"{indent}{' ' * width}   ⋮\n", style="dim")
            continue
        if line.startswith("\\"):  # "\ No newline at end of file"
            continue
        mark, text = (line[:1], line[1:]) if line else (" ", "")
        if mark == "-":
            out.append(f"{indent}{old_no:>{width}} ", style="red dim")
            out.append(f"- {text}\n", style="red")
            old_no += 1
        elif mark == "+":
            out.append(f"{indent}{new_no:>{width}} ", style="green dim")
            out.append(f"+ {text}\n", style="green")
            new_no += 1
        else:
            out.append(f"{indent}{new_no:>{width}}   {text}\n", style="dim")
            old_no += 1
            new_no += 1
        shown += 1
    out.rstrip()
    return out


def diff_stats(diff: str) -> tuple[int, int]:
    """(lines added, lines removed) in a unified diff."""
    added = removed = 0
    for line in diff.splitlines():
        if line.startswith("+") and not line.startswith("+++ "):
            added += 1
        elif line.startswith("-") and not line.startswith("--- "):
            removed += 1
    return added, removed


def _number_width(lines: list[str]) -> int:
    """Digits of the largest line number any hunk reaches."""
    top = 1
    for line in lines:
        hunk = _HUNK.match(line)
        if hunk:
            top = max(top, int(hunk.group(1)), int(hunk.group(2)))
    return max(2, len(str(top + len(lines))))
