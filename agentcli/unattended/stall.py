"""Stall and loop detection: is the run still getting anywhere?

After each turn the detector is told what the turn's tool calls returned and what the files
look like now (a fingerprint). A turn made progress if it learned something new (a result not
seen before, ignoring timings and addresses) or left the files in a state never seen before.
Three signals:

- repeat: the same call with the same result `repeats` times among the recent calls, and the
  last turn learned nothing;
- oscillation: the files went back to an earlier state twice since the last new state;
- idle: `turns` turns in a row without progress.

The first signal of an episode earns a nudge; a signal after a nudge, with no progress between,
stops the run as stalled. After `max_nudges` nudges in a run, the next signal stops it.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

from agentcli.callsig import content_hash, describe, signature


@dataclass
class Verdict:
    """What the detector asks for: "nudge" or "stop", which signal, and why in words."""

    action: str
    signal: str
    detail: str
    tried: list[str] = field(default_factory=list)


class StallDetector:
    def __init__(self, turns: int = 6, repeats: int = 3, max_nudges: int = 3):
        self.turns = max(1, turns)
        self.repeats = max(2, repeats)
        self.max_nudges = max_nudges
        self.seen_results: set[str] = set()
        self.seen_states: set[str] = set()
        self.last_state: str | None = None
        self.idle = 0
        self.reverts = 0
        self.recent: deque[str] = deque(maxlen=4 * self.repeats)  # (call, result) keys
        self.names: dict[str, str] = {}
        self.tried: Counter[str] = Counter()
        self.nudged = False
        self.nudges = 0

    def baseline(self, state: str | None) -> None:
        """The files as they were when the run (or this segment of it) started."""
        if state is not None:
            self.seen_states.add(state)
            self.last_state = state

    def forget_results(self) -> None:
        """After a compaction or a resume the model may rightly look things up again."""
        self.seen_results.clear()

    def turn(self, calls: list[tuple[dict[str, Any], str]], state: str | None) -> None:
        """Record one turn: (call, result text) pairs, and the files' fingerprint after it."""
        learned = False
        for call, result in calls:
            h = content_hash(result)
            sig = signature(call)
            self.names[sig] = describe(call)
            self.tried[self.names[sig]] += 1
            self.recent.append(f"{sig}\0{h}")
            if h not in self.seen_results:
                self.seen_results.add(h)
                learned = True
        changed_new = False
        if state is not None and state != self.last_state:
            if self.last_state is not None and state in self.seen_states:
                self.reverts += 1
            elif state not in self.seen_states:
                changed_new = True
            self.seen_states.add(state)
            self.last_state = state
        if learned or changed_new:
            self.idle = 0
            self.tried.clear()
            self.nudged = False
            if changed_new:
                self.reverts = 0
        else:
            self.idle += 1

    def verdict(self) -> Verdict | None:
        """A nudge or a stop when a signal fires, else None."""
        found = self._signal()
        if found is None:
            return None
        signal, detail = found
        tried = [f"{name} ×{n}" if n > 1 else name for name, n in self.tried.most_common(12)]
        if self.nudged or self.nudges >= self.max_nudges:
            return Verdict("stop", signal, detail, tried)
        self.nudged = True
        self.nudges += 1
        self.idle = 0
        self.reverts = 0
        self.recent.clear()
        return Verdict("nudge", signal, detail, tried)

    def _signal(self) -> tuple[str, str] | None:
        if self.idle and self.recent:
            key, n = Counter(self.recent).most_common(1)[0]
            if n >= self.repeats:
                name = self.names.get(key.split("\0", 1)[0], "a tool call")
                return "repeat", f"the same call ({name}) gave the same result {n} times"
        if self.reverts >= 2:
            return "oscillation", (f"the files went back to an earlier state {self.reverts} times: "
                                   "edits are being made and undone")
        if self.idle >= self.turns:
            return "idle", f"no file changed and nothing new was learned for {self.idle} turns"
        return None
