"""The pipe between the agent and its llama.cpp worker: length-prefixed pickles, and the one
setting both sides read (the crash hook of the tests)."""

from __future__ import annotations

import pickle
import struct
from typing import Any, BinaryIO

from agentcli import config

_HEAD = struct.Struct("<I")
# A test hook: the worker kills itself with SIGSEGV after this many decoded tokens.
CRASH_HOOK = config.WORKER_CRASH_AFTER


def frame(message: Any) -> bytes:
    """`message` as it goes down the pipe: its length, then its pickle."""
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEAD.pack(len(data)) + data


def send(out: BinaryIO, message: Any) -> None:
    out.write(frame(message))
    out.flush()


def receive(inp: BinaryIO) -> Any:
    return receive_body(inp, receive_head(inp))


def receive_head(inp: BinaryIO) -> int:
    """The length of the next message (the one read that may wait)."""
    return _HEAD.unpack(_read_exactly(inp, _HEAD.size))[0]


def receive_body(inp: BinaryIO, size: int) -> Any:
    return pickle.loads(_read_exactly(inp, size))


def _read_exactly(inp: BinaryIO, n: int) -> bytes:
    chunks, left = [], n
    while left:
        chunk = inp.read(left)
        if not chunk:
            raise EOFError("the pipe closed")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)
