"""Capping tool output: keep the head and the tail, and say exactly what was cut; capturing a
command's output streams to disk with a hard cap."""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading


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


class StreamCapture:
    """Reads one pipe of a running command on a thread into a temp file, up to `cap` bytes.

    Past the cap it keeps only the last `tail_keep` bytes and counts the rest, so a runaway
    command can neither fill the disk nor the memory. `finish(grace)` waits for the end of the
    stream; a background process that keeps the pipe open is then drained and ignored (it gets
    no SIGPIPE), and the file is sealed with a marker naming what was dropped.
    """

    def __init__(self, pipe, cap: int, tail_keep: int = 64 * 1024):
        self.file = tempfile.TemporaryFile()
        self.cap, self.tail_keep = cap, tail_keep
        self.kept = 0
        self.dropped = 0  # bytes past the cap
        self.cut = 0  # of those, bytes not kept in the tail either
        self._tail = bytearray()
        self._pipe = pipe
        self._lock = threading.Lock()
        self._sealed = False
        self._thread = threading.Thread(target=self._pump, daemon=True, name="shell-capture")
        self._thread.start()

    def _pump(self) -> None:
        fd = self._pipe.fileno()
        try:
            while True:
                try:
                    chunk = os.read(fd, 1 << 16)
                except OSError:
                    break
                if not chunk:
                    break
                with self._lock:
                    if self._sealed:
                        continue  # the command is over; a straggler's output is not its result
                    room = self.cap - self.kept
                    if room > 0:
                        self.file.write(chunk[:room])
                        self.kept += min(room, len(chunk))
                        chunk = chunk[room:]
                    if chunk:
                        self.dropped += len(chunk)
                        self._tail += chunk
                        if len(self._tail) > self.tail_keep:
                            del self._tail[: len(self._tail) - self.tail_keep]
        finally:
            with contextlib.suppress(OSError):
                self._pipe.close()

    def finish(self, grace: float) -> int:
        """Stop capturing (after at most `grace` seconds more) and return the file's size."""
        self._thread.join(grace)
        with self._lock:
            self._sealed = True
            if self.dropped:
                self.cut = cut = self.dropped - len(self._tail)
                self.file.write(f"\n[... {cut:,} bytes cut: the output passed the {self.cap // 2**20} MiB "
                                f"that agentcli keeps of a stream; its last {len(self._tail):,} "
                                f"bytes follow ...]\n".encode())
                self.file.write(bytes(self._tail))
            self.file.flush()
            return self.file.seek(0, os.SEEK_END)

    def close(self) -> None:
        with self._lock:
            self._sealed = True
        self.file.close()
