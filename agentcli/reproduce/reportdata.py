"""What a report found (`Report`), apart from how it is built (report.py) and written out
(markdown.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agentcli.reproduce.verdicts import VERDICTS, Row

# The line every REPORT.md agentcli writes carries: one without it is somebody else's file.
HEADER = "Written by `agentcli reproduce report`"


@dataclass
class Report:
    """What `build` found and wrote."""

    title: str
    rows: list[Row] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    changed: dict[str, list[str]] = field(default_factory=dict)  # claims.json edits after phase 1
    phase1_copy: bool = False
    environment: dict[str, Any] | None = None
    figure: str | None = None
    figure_note: str | None = None
    stopped: str | None = None  # the phase the reproduction stopped in, why, and how to go on

    def count(self, verdict: str) -> int:
        return sum(1 for r in self.rows if r.verdict == verdict)

    @property
    def complete(self) -> bool:
        return bool(self.rows) and not self.missing and not self.problems

    def summary(self) -> str:
        """One line: `4 claims: 2 match, 1 close, 1 mismatch, 0 unverified, 0 not attempted`,
        and the claims edited after phase 1 when there are any."""
        if not self.rows:
            return "no claims to compare yet"
        counts = ", ".join(f"{self.count(v)} {v}" for v in VERDICTS)
        line = f"{len(self.rows)} claim{'s' if len(self.rows) != 1 else ''}: {counts}"
        if self.changed:
            line += (f"; claims.json edited after phase 1 for {', '.join(self.changed)} "
                     "(judged as phase 1 fixed them)")
        return line

    def to_dict(self) -> dict[str, Any]:
        return {"title": self.title, "complete": self.complete, "summary": self.summary(),
                "counts": {v.replace(" ", "_"): self.count(v) for v in VERDICTS},
                "claims": len(self.rows), "missing": self.missing, "problems": self.problems,
                "phase1_copy": self.phase1_copy, "changed_after_phase1": self.changed,
                "stopped": self.stopped, "figure": self.figure,
                "rows": [_row_dict(r) for r in self.rows]}


def _row_dict(row: Row) -> dict[str, Any]:
    proof, run = row.proof, (row.proof.run if row.proof else None) or {}
    return {"id": row.id, "paper": row.paper, "tolerance": row.claim.get("tolerance"),
            "allowed": row.allowed, "reproduced": row.reproduced, "values": row.per_seed,
            "difference": row.difference, "verdict": row.verdict,
            "verified": bool(proof and proof.verified), "why": proof.why if proof else None,
            "command": (row.result or {}).get("command"), "exit_code": run.get("exit_code"),
            "wall_s": run.get("wall_s"), "log": proof.log if proof else None,
            "changed_after_phase1": row.changes}
