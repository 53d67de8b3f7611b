"""Full agent runs through a fault-injecting scripted server: how many crashed, lost a turn, or
ran a tool twice. Prints the figures; the test suite asserts the zeros.

    python bench/faults.py                       # 1,000 requests, 30% faulty, 5 CLI runs
    python bench/faults.py --requests 5000 --rate 0.5 --seed 7 --cli-runs 10
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agentcli.testing.fault_runs import trial  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000, help="requests to the server, at least")
    parser.add_argument("--rate", type=float, default=0.3, help="share of requests that get a fault")
    parser.add_argument("--outage-rate", type=float, default=0.1,
                        help="share of runs whose primary provider is down throughout")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=0.5, help="the client's request timeout, s")
    parser.add_argument("--cli-runs", type=int, default=5, help="extra runs as CLI subprocesses")
    args = parser.parse_args()

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="agentcli-faults-") as root:
        t = trial(Path(root), requests=args.requests, seed=args.seed, rate=args.rate,
                  outage_rate=args.outage_rate, timeout_s=args.timeout, cli_runs=args.cli_runs)
    elapsed = time.monotonic() - started

    rows = [
        ("requests to the server", t.requests),
        ("faults injected", sum(t.injected.values())),
        *((f"  {kind}", n) for kind, n in sorted(t.injected.items())),
        ("runs (in process + CLI)", f"{t.runs} + {t.cli_runs}"),
        ("  with the primary provider down", t.outage_runs),
        ("  finished", t.completed),
        ("  gave up (providers still failing)", t.gave_up),
        ("retries recorded", t.retries),
        ("model switches", t.switches),
        ("back-off waits asked (s, not slept in process)", round(sum(t.waits_s), 1)),
        ("tool executions", t.tool_executions),
        ("CRASHES", t.crashes),
        ("LOST TURNS", t.lost_turns),
        ("DUPLICATED TURNS", t.duplicated_turns),
        ("DUPLICATED TOOL EXECUTIONS", t.duplicated_executions),
        ("LOST TOOL EXECUTIONS", t.lost_executions),
        ("UNRECORDED TOOL EXECUTIONS", t.unrecorded_executions),
        ("BROKEN ARCHIVES", t.broken_archives),
        ("wall time (s)", round(elapsed, 1)),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    for problem in t.problems:
        print("problem:", problem)
    bad = t.crashes + t.lost_turns + t.duplicated_turns + t.duplicated_executions + \
        t.lost_executions + t.unrecorded_executions + t.broken_archives
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
