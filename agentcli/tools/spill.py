"""Spill: a tool result too large for the window is kept in full as a file in the library, and
the context gets a head+tail preview that says where the rest is.

The archive keeps the full result too (it is lossless); the spill file exists so people and
the model can page through it by line, and ripgrep reports useful line numbers.
"""

from __future__ import annotations

import contextlib
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


# -- a command's output kept in full -------------------------------------------------------------
# `shell` captures stdout and stderr to temp files; when they are too large to go into the
# archive as they are, the whole text is streamed (redacted) into spill/<event id>.txt and the
# result the model gets is a head+tail view that names the file and the lines it leaves out.

_BLOCK = 1 << 20  # bytes redacted at a time: memory stays flat whatever the output's size


@dataclass
class Target:
    """Where the result of the tool call running now goes: its event id and spill file."""

    library: object
    path: Path
    event_id: str
    display: str
    window: int

    @property
    def relative(self) -> str:
        return f"{SPILL_DIR}/{self.path.name}"


def result_target(host) -> Target | None:
    """The spill target for the tool result being made now, when `host` is a session (its
    tool_call is recorded, so the result is the archive's next event); None otherwise."""
    archive, folder = getattr(host, "archive", None), getattr(host, "dir", None)
    if archive is None or folder is None:
        return None
    eid = f"e{archive.count + 1:06d}"
    path = spill_path(folder, eid)
    workspace = getattr(host, "workspace", None)
    return Target(host.library, path, eid, workspace.display(path) if workspace else str(path),
                  host.model.context_window)


@dataclass
class Section:
    """One stream inside a full-output file: its title line, and where its text lies."""

    name: str
    first_line: int  # line number (1-based) of the stream's first line in the file
    lines: int
    start: int  # byte offsets of its text in the file
    end: int


def write_full(target: Target, header: str, streams: list[tuple[str, object]]) -> list[Section]:
    """Write `header` and each (name, binary file) stream under a `name:` line to the target's
    file, redacted block by block; return where each stream's text went."""
    import codecs
    import os
    import tempfile

    target.path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.path.name}.", dir=target.path.parent)
    sections: list[Section] = []
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(_encode(target.library.clean(header.rstrip("\n") + "\n")))
            line = header.rstrip("\n").count("\n") + 2
            for name, src in streams:
                out.write(f"{name}:\n".encode())
                line += 1
                start, lines, last = out.tell(), 0, b"\n"
                decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
                src.seek(0)
                carry = ""
                while True:
                    block = src.read(_BLOCK)
                    text = carry + decoder.decode(block, final=not block)
                    cut = len(text) if not block else _safe_cut(text, target.library.clean)
                    piece, carry = text[:cut], text[cut:]
                    if piece:
                        data = _encode(target.library.clean(piece))
                        out.write(data)
                        lines += data.count(b"\n")
                        last = data[-1:]
                    if not block:
                        break
                if last != b"\n":
                    out.write(b"\n")
                    lines += 1
                sections.append(Section(name, line, lines, start, out.tell()))
                line += lines
        os.replace(tmp, target.path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return sections


def _safe_cut(text: str, clean) -> int:
    """Where to end a block: after its last newline, and before a private key block that the
    next block may close, so redaction sees every secret whole."""
    cut = text.rfind("\n") + 1
    if cut <= 0 or len(text) - cut > _BLOCK:
        return _cut_inside_line(text, clean)
    begin = text.rfind("-----BEGIN ", 0, cut)
    if begin > 0 and text.find("-----END ", begin, cut) < 0 and cut - begin < _BLOCK // 2:
        cut = text.rfind("\n", 0, begin) + 1 or cut
    return cut


_MARGIN = 8192  # longer than any secret redaction knows (a private key block is about 3 KiB)


def _cut_inside_line(text: str, clean) -> int:
    """Where to end a block inside one enormous line: a place no secret spans. A cut is safe
    when redacting the text around it whole gives what redacting the two sides apart gives."""
    low = max(_MARGIN, len(text) - 64 * _MARGIN)
    for cut in range(len(text) - _MARGIN, low, -(_MARGIN // 16)):
        window = text[cut - _MARGIN: cut + _MARGIN]
        if clean(window) == clean(window[:_MARGIN]) + clean(window[_MARGIN:]):
            return cut
    return len(text)


def _encode(text: str) -> bytes:
    return text.encode("utf-8", errors="replace")


def full_view(target: Target, header: str, sections: list[Section], max_chars: int) -> str:
    """The result as the model sees it: each stream's head and tail within `max_chars` in all,
    around a marker naming the lines left out and how to page through them."""
    shares = [2, 1] if len(sections) == 2 else [1]
    parts = [header.rstrip("\n")]
    budget = max(600, max_chars - len(header) - 80 * len(sections))
    with open(target.path, "rb") as f:
        for section, share in zip(sections, shares):
            room = budget * share // sum(shares)
            f.seek(section.start)
            if section.end - section.start <= room:
                body = f.read(section.end - section.start).decode("utf-8", "replace")
                parts.append(f"{section.name}:\n" + body.rstrip("\n"))
                continue
            head_room, tail_room = int(room * 0.6), room - int(room * 0.6)
            head = _snap(f.read(head_room).decode("utf-8", "replace"), end=True)
            f.seek(section.end - tail_room)
            tail = _snap(f.read(tail_room).decode("utf-8", "replace"), end=False)
            head_lines, tail_lines = head.count("\n"), tail.count("\n")
            first = section.first_line + head_lines
            last = section.first_line + section.lines - 1 - tail_lines
            cut = section.end - section.start - len(head.encode()) - len(tail.encode())
            marker = (f"[... {section.name} lines {first:,}-{last:,} of the full output "
                      f"({cut:,} bytes) not shown. Nothing is lost: the whole output is event "
                      f"{target.event_id} in the library ({target.display}); page through it with "
                      f"memory_read(event=\"{target.event_id}\", offset={first}) ...]\n")
            parts.append(f"{section.name}:\n" + head + marker + tail.rstrip("\n"))
    return "\n".join(parts)


def _snap(text: str, *, end: bool) -> str:
    """A head ending at a line end, or a tail starting at a line start (unless one line)."""
    if end:
        nl = text.rfind("\n")
        return text[: nl + 1] if nl >= 0 else text + "…\n"
    nl = text.find("\n")
    return text[nl + 1:] if 0 <= nl < len(text) - 1 else "…" + text
