"""Stopping a run cleanly while a model call or a tool is running: time limits and SIGTERM.

The shell tool bounds its own commands by `ToolContext.deadline`, but a streaming model call has
no such knob: an answer can trickle in for minutes. So the session runs each model call and each
tool inside `guard(deadline)`. In the main thread, the guard arms SIGALRM for the time left; if
the deadline passes inside the block, `StopRun("time")` is raised right there. The SDK abandons
its stream, the shell tool kills its process group, and the loop records the partial reply or
the interrupted call before it returns the outcome.

Outside a guarded block nothing is ever interrupted: a signal that arrives there (the alarm, or
SIGTERM through `request_stop`) is kept as `pending()` and the stop policy acts on it at the next
turn boundary. That is what keeps archive writes from being cut in half.

`StopRun` subclasses KeyboardInterrupt so every cleanup written for Ctrl-C (killing a command,
recording an interrupted reply) applies unchanged.
"""

from __future__ import annotations

import signal
import threading
import time
from contextlib import contextmanager
from typing import Iterator


class StopRun(KeyboardInterrupt):
    """An interruption with a reason: `stop_reason` ("time", "interrupted") and a one-line message."""

    def __init__(self, stop_reason: str, message: str):
        super().__init__(message)
        self.stop_reason = stop_reason
        self.message = message


_inside = 0
_pending: StopRun | None = None


def pending() -> StopRun | None:
    """A stop that arrived outside a guarded block and has not been acted on."""
    return _pending


def clear() -> None:
    """Forget a pending stop (a new run starts)."""
    global _pending
    _pending = None


def request_stop(stop: StopRun) -> None:
    """Ask the run to stop: at once inside a guarded block, else at the next turn boundary.
    Safe to call from a signal handler in the main thread."""
    global _pending
    _pending = stop
    if _inside:
        raise stop


def _on_alarm(signum, frame) -> None:  # noqa: ARG001 - signal handler signature
    request_stop(StopRun("time", "the time budget ran out while the model or a tool was working"))


def _can_alarm() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


@contextmanager
def shield() -> Iterator[None]:
    """Inside a guarded block, hold off interruptions while the block writes state that must not
    be cut in half (an archive event, a git commit); a stop that arrives meanwhile is raised as
    the block ends."""
    global _inside
    saved = _inside
    _inside = 0
    try:
        yield
    finally:
        _inside = saved
    if _pending is not None and _inside:
        raise _pending


@contextmanager
def guard(deadline: float | None) -> Iterator[None]:
    """Run the block so that a pending stop, or the `deadline` (a time.monotonic() value) passing,
    interrupts it with StopRun. Outside the main thread only a pending stop is honoured."""
    global _inside
    if _pending is not None:
        raise _pending
    armed = False
    old_handler = None
    if deadline is not None and _can_alarm():
        left = deadline - time.monotonic()
        if left <= 0:
            raise StopRun("time", "the time budget is spent")
        old_handler = signal.signal(signal.SIGALRM, _on_alarm)
        signal.setitimer(signal.ITIMER_REAL, left)
        armed = True
    _inside += 1
    try:
        yield
    finally:
        _inside -= 1  # first, so an alarm that fires now is only kept as pending
        if armed:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old_handler or signal.SIG_DFL)
