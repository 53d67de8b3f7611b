"""The three phases: their prompts, their tools, and what each must leave in the workdir.

A phase is finished when its check finds no problem; the driver sends the problems back to the
model until it is, or gives up after a few rounds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from agentcli.reproduce import CLAIMS, DEVIATIONS, PLAN, RESULTS
from agentcli.reproduce.checks import check_claims, check_results


@dataclass(frozen=True)
class Phase:
    """One phase of a reproduction."""

    number: int
    name: str
    title: str
    prompt: str
    tools: tuple[str, ...]
    artefacts: tuple[str, ...]
    check: Callable[[Path], list[str]]
    default_max_turns: int

    def problems(self, workdir: Path) -> list[str]:
        """What is still wrong with this phase's artefacts; [] when the phase is done."""
        return self.check(workdir)


def claims_problems(workdir: Path) -> list[str]:
    check = check_claims(workdir)
    if not check.exists:
        return [f"{CLAIMS} does not exist: write it, then call check_claims"]
    return [f"{CLAIMS}: {e}" for e in check.errors]


def plan_problems(workdir: Path) -> list[str]:
    claims = check_claims(workdir)
    if not claims.ok:
        return [f"{CLAIMS} is no longer valid (it was after phase 1): " + "; ".join(claims.errors[:3])]
    path = workdir / PLAN
    if not path.is_file():
        return [f"{PLAN} does not exist: write it"]
    text = path.read_text(encoding="utf-8", errors="replace")
    problems = []
    absent = [cid for cid in claims.ids if not mentions(text, cid)]
    if absent:
        problems.append(f"{PLAN} does not map these claims to code and runs: {', '.join(absent)}")
    if not re.search(r"^#+ .*unspecified", text, re.IGNORECASE | re.MULTILINE):
        problems.append(f"{PLAN} has no 'Unspecified details' section listing each detail the paper "
                        "leaves open and the choice made (write 'None found' under it if there are none)")
    return problems


def build_problems(workdir: Path) -> list[str]:
    claims = check_claims(workdir)
    if not claims.ok:
        return [f"{CLAIMS} is no longer valid: " + "; ".join(claims.errors[:3])]
    results = check_results(workdir, claims.ids)
    problems = []
    if not results.exists:
        problems.append(f"{RESULTS} does not exist: write it, then call check_results")
    else:
        problems += [f"{RESULTS}: {e}" for e in results.errors]
    deviations = workdir / DEVIATIONS
    if not deviations.is_file() or not deviations.read_text(encoding="utf-8", errors="replace").strip():
        problems.append(f"{DEVIATIONS} is missing or empty: list every departure from the paper "
                        "(write 'None.' if there was truly none)")
    return problems


def mentions(text: str, claim_id: str) -> bool:
    """Whether `text` names `claim_id` as a whole id (C1 is not found inside C10)."""
    return re.search(rf"(?<![A-Za-z0-9_.-]){re.escape(claim_id)}(?![A-Za-z0-9_-])", text) is not None


PHASES: tuple[Phase, ...] = (
    Phase(1, "claims", "claims", "reproduce/claims.md", ("check_claims",), (CLAIMS,),
          claims_problems, 60),
    # Claims are fixed when phase 1 ends: the later phases get no tool to rework them.
    Phase(2, "plan", "plan", "reproduce/plan.md", (), (PLAN,), plan_problems, 40),
    Phase(3, "build", "build and run", "reproduce/build.md", ("check_results",),
          (RESULTS, DEVIATIONS), build_problems, 300),
)


def phase(name: str) -> Phase:
    return next(p for p in PHASES if p.name == name)
