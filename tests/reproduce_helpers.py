"""Shared by the reproduce tests: a generated PDF paper, claims fixtures, and a scripted model
that plays a reproduction through tool calls (the way a real model would)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from agentcli.testing.script import text_of
from agentcli.testing.scripted_server import ScriptedRequest, Turn

# A two-page paper whose numbers a tiny script can recompute: the mean, median and standard
# deviation of 1, 2, 3, 4, 10. The paper's 3.54 is the sample SD; the scripted implementation
# computes the population SD (3.16), which the report must show as outside tolerance.
PAPER_PAGES = [
    ["Tiny Statistics, Revisited", "A. Author (2024)",
     "We study the five numbers 1, 2, 3, 4 and 10.", "Section 2 reports their summary statistics."],
    ["2. Results", "Table 1: mean 4.0, median 3.",
     "The standard deviation of the five numbers is 3.54.", "All values are exact computations."],
]


def write_pdf(path: Path, pages: list[list[str]] = PAPER_PAGES) -> Path:
    """A real PDF with extractable text, one page per list of lines (matplotlib writes it)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    with matplotlib.rc_context({"pdf.fonttype": 42}), PdfPages(path) as pdf:
        for lines in pages:
            fig = plt.figure(figsize=(8.5, 11))
            for i, line in enumerate(lines):
                fig.text(0.1, 0.9 - 0.04 * i, line, fontsize=12)
            pdf.savefig(fig)
            plt.close(fig)
    return path


def claim(cid: str, value: float, *, quote: str | None = None, page: int | None = 2,
          tolerance: dict[str, float] | None = None, **extra: Any) -> dict[str, Any]:
    source: dict[str, Any] = {"location": "Table 1"}
    if page is not None:
        source["page"] = page
    if quote is not None:
        source["quote"] = quote
    return {"id": cid, "description": f"The paper's {cid}.", "source": source, "metric": "statistic",
            "value": value, "tolerance": tolerance or {"absolute": 0.05},
            "setup": {"dataset": "the numbers 1, 2, 3, 4, 10", "method": "summary statistics"}, **extra}


GOOD_CLAIMS = {
    "paper": {"title": "Tiny Statistics, Revisited", "authors": ["A. Author"], "year": 2024},
    "claims": [
        claim("C1", 4.0, quote="Table 1: mean 4.0, median 3."),
        claim("C2", 3, quote="Table 1: mean 4.0, median 3.", tolerance={"absolute": 0}),
        claim("C3", 3.54, quote="The standard deviation of the five numbers is 3.54.",
              tolerance={"absolute": 0.005}),
    ],
}

# The command it records is the interpreter that ran it: agentcli re-runs exactly that.
COMPUTE_PY = """\
import json
import statistics
import sys

data = [1, 2, 3, 4, 10]
values = {"C1": statistics.mean(data), "C2": statistics.median(data), "C3": statistics.pstdev(data)}
results = {cid: {"value": v, "run_id": "stats-1", "seed": None, "command": sys.executable + " compute.py",
                 "log": "runs/stats-1.log"} for cid, v in values.items()}
with open("results.json", "w") as f:
    json.dump(results, f, indent=2)
print(values)
"""

PLAN_WITHOUT_GAPS = "# Plan\n\n## Claims → code and runs\n\n| C1, C2, C3 | compute.py |\n"
PLAN = PLAN_WITHOUT_GAPS + ("\n## Unspecified details\n\n- Sample or population SD: the paper "
                            "does not say; population (the plainest).\n")
DEVIATIONS = "# Deviations\n\n- The SD is the population SD; the paper does not say which.\n"
# The audit's forgery: the paper's own numbers, a command that does not exist, no logs.
FORGED_RESULTS = {cid: {"value": v, "run_id": "main", "seed": None, "command": "python does_not_exist.py"}
                  for cid, v in (("C1", 4.0), ("C2", 3), ("C3", 3.54))}


def first_user_text(request: ScriptedRequest) -> str:
    for message in request.messages:
        if message.get("role") == "user":
            return text_of(message.get("content"))
    return ""


def call(name: str, **arguments: Any) -> Turn:
    return Turn(text="", tool_calls=[{"name": name, "arguments": arguments}])


class Reproducer:
    """The scripted model: by the phase named in the session's first prompt and the number of
    turns so far, it returns the next tool call of a plausible reproduction. Phase 1 writes a
    quote the paper does not have first and fixes it after check_claims complains; phase 2
    forgets the Unspecified details section until the driver sends the problem back; phase 3
    (unattended) stops to talk twice, declares done once too early, and ends with `finish`.

    `slow_build`: phase 3's second step is a long command (to be killed in). `stuck_build`: phase
    3 reads the same file over and over. `forge_build`: phase 3 writes results.json by hand (the
    paper's numbers) and declares done, then blocked. `usage`: the token usage each turn reports,
    by phase name (the server's estimate where not given)."""

    def __init__(self, fail_phase: str | None = None, *, slow_build: bool = False,
                 stuck_build: bool = False, forge_build: bool = False,
                 usage: dict[str, dict[str, int]] | None = None):
        self.fail_phase = fail_phase  # this phase only ever answers "done" without its files
        self.slow_build = slow_build
        self.stuck_build = stuck_build
        self.forge_build = forge_build
        self.usage = usage or {}

    def __call__(self, request: ScriptedRequest) -> Turn:
        prompt = first_user_text(request)
        n = request.assistant_turns
        for number, name in ((1, "claims"), (2, "plan"), (3, "build")):
            if f"phase {number} of 3" in prompt:
                turn = Turn(text="I am done.") if name == self.fail_phase else getattr(self, name)(n)
                turn.usage = self.usage.get(name)
                return turn
        return Turn(text=f"unexpected prompt: {prompt[:80]}")

    def claims(self, n: int) -> Turn:
        wrong = json.loads(json.dumps(GOOD_CLAIMS))
        wrong["claims"][2]["source"]["quote"] = "The standard deviation is 3.54."
        steps = [
            lambda: call("read", path="PAPER.md"),
            lambda: call("write", path="claims.json", content=json.dumps(wrong, indent=2)),
            lambda: call("check_claims"),
            lambda: call("write", path="claims.json", content=json.dumps(GOOD_CLAIMS, indent=2)),
            lambda: call("check_claims"),
        ]
        return steps[n]() if n < len(steps) else Turn(text="3 claims from Table 1 and page 2.")

    def plan(self, n: int) -> Turn:
        steps = {0: lambda: call("write", path="PLAN.md", content=PLAN_WITHOUT_GAPS),
                 1: lambda: Turn(text="PLAN.md written."),
                 2: lambda: call("write", path="PLAN.md", content=PLAN)}
        return steps[n]() if n in steps else Turn(text="PLAN.md now lists the unspecified details.")

    def build(self, n: int) -> Turn:
        run = call("shell", command=f"mkdir -p runs && {sys.executable} compute.py > runs/stats-1.log 2>&1")
        if self.forge_build:
            forged = [call("write", path="results.json", content=json.dumps(FORGED_RESULTS, indent=2)),
                      call("write", path="DEVIATIONS.md", content="None."),
                      call("finish", status="done", summary="All three claims reproduced."),
                      call("finish", status="blocked", summary="agentcli would not accept the results.")]
            return forged[n] if n < len(forged) else Turn(text="(phase 3 should have ended)")
        steps = [call("write", path="compute.py", content=COMPUTE_PY)]
        if self.stuck_build:
            return steps[0] if n == 0 else call("read", path="compute.py")
        steps += [call("shell", command="sleep 60")] if self.slow_build else \
            [Turn(text="compute.py is written; next I run it.")]
        steps += [
            run,
            call("check_results"),
            call("finish", status="done", summary="Reproduced C1 and C2; C3 is off."),  # too early
            call("write", path="DEVIATIONS.md", content=DEVIATIONS),
            Turn(text="DEVIATIONS.md is written."),
            call("finish", status="done", summary="Reproduced C1 and C2; C3 is off.",
                 evidence="check_results: results.json valid for all 3 claims"),
        ]
        return steps[n] if n < len(steps) else Turn(text="(phase 3 should have ended before this turn)")
