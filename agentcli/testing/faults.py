"""The scripted server's fault-injecting mode: random provider faults, reproducible by seed.

`RandomFaults(responder, rate=0.3, seed=7)` answers like `responder`, except that each request,
with probability `rate`, gets one fault in place of its answer, drawn from `kinds`:

    429                 rate limited, no retry-after header
    429_retry_after     rate limited with a short retry-after
    500, 503            server errors
    529                 overloaded (Anthropic's status)
    timeout             no answer before the client's timeout (needs `timeout_s`)
    stall               the stream stops sending mid-way for longer than the timeout
    drop                the connection is cut at a random point of the SSE stream
    stream_error        an error event inside the stream
    corrupt_event       one SSE event's data is not JSON
    invalid_json        a 200 whose body is cut-off JSON instead of a stream

Run it alone: `python -m agentcli.testing.faults script.json --rate 0.3 --seed 7`.
"""

from __future__ import annotations

import dataclasses
import random
import threading
from collections import Counter
from typing import Any

from agentcli.testing import wire
from agentcli.testing.scripted_server import Responder, ScriptedRequest, Sequence, Turn

STATUS_FAULTS = {"429": 429, "429_retry_after": 429, "500": 500, "503": 503, "529": 529}
STREAM_FAULTS = ("drop", "stream_error", "corrupt_event", "invalid_json")
TIMED_FAULTS = ("timeout", "stall")
ALL_KINDS = tuple(STATUS_FAULTS) + STREAM_FAULTS + TIMED_FAULTS


class RandomFaults:
    """A responder that injects random faults into another's answers.

    `injected` counts faults by kind; `answered` counts healthy answers. Thread-safe: the
    server answers requests on several threads, and the seed still fixes the sequence of draws.
    """

    def __init__(self, responder: Responder | list[Turn | dict[str, Any]], *, rate: float = 0.3,
                 seed: int | None = None, kinds: tuple[str, ...] | None = None,
                 timeout_s: float | None = None):
        self.inner: Responder = Sequence(responder) if isinstance(responder, list) else responder
        self.rate = rate
        if kinds is None:
            kinds = ALL_KINDS if timeout_s is not None else tuple(STATUS_FAULTS) + STREAM_FAULTS
        unknown = set(kinds) - set(ALL_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kind(s): {', '.join(sorted(unknown))}")
        if timeout_s is None and set(kinds) & set(TIMED_FAULTS):
            raise ValueError("timeout and stall faults need timeout_s (the client's timeout)")
        self.kinds = tuple(kinds)
        self.timeout_s = timeout_s
        self.injected: Counter[str] = Counter()
        self.answered = 0
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def __call__(self, request: ScriptedRequest) -> Turn:
        turn = self.inner(request)
        with self._lock:
            if turn.faulty or self._rng.random() >= self.rate:
                self.answered += 1
                return turn
            kind = self._rng.choice(self.kinds)
            draw = self._rng.random()
            self.injected[kind] += 1
        return self.fault(turn, kind, draw, request)

    def fault(self, turn: Turn, kind: str, draw: float, request: ScriptedRequest) -> Turn:
        """`turn` with the fault `kind`; `draw` in [0, 1) picks where in the stream it strikes."""
        if kind in STATUS_FAULTS:
            retry_after = round(0.01 + 0.1 * draw, 3) if kind == "429_retry_after" else None
            return dataclasses.replace(turn, status=STATUS_FAULTS[kind], retry_after=retry_after,
                                       error_message=f"injected {kind}")
        if kind == "timeout":
            return dataclasses.replace(turn, delay=self.timeout_s + 0.3)
        if kind == "invalid_json":
            return dataclasses.replace(turn, invalid_json=True)
        if kind == "stream_error":
            return dataclasses.replace(turn, stream_error="Overloaded (injected)")
        # Faults at a point of the stream: anywhere from the first event to just before the last.
        events = len(wire.sse_events(request.provider, turn, "m", request)) if request.stream else 2
        at = int(draw * max(1, events - 1))
        if kind == "drop":
            return dataclasses.replace(turn, drop_after=at)
        if kind == "corrupt_event":
            return dataclasses.replace(turn, corrupt_event=at)
        return dataclasses.replace(turn, stall_after=at, stall_s=self.timeout_s + 0.3)

    @property
    def total_injected(self) -> int:
        return sum(self.injected.values())


def main(argv: list[str] | None = None) -> None:
    """Serve a JSON script with random faults until interrupted; print the base URL."""
    import argparse
    import json

    from agentcli.testing.scripted_server import ScriptedServer

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("script", help="JSON file: a list of turns")
    parser.add_argument("--rate", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--timeout", type=float, default=None,
                        help="the client's timeout, to inject timeouts and stalls")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    with open(args.script, encoding="utf-8") as f:
        turns = json.load(f)
    faults = RandomFaults(turns, rate=args.rate, seed=args.seed, timeout_s=args.timeout)
    server = ScriptedServer(faults).start(args.port)
    print(server.base_url, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()
        print(f"injected: {dict(faults.injected)}; answered: {faults.answered}", flush=True)


if __name__ == "__main__":
    main()
