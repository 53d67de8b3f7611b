"""Graded verdicts, judged with the claims as phase 1 fixed them.

match: agentcli's re-run backs the value and it is within tolerance; close: within three times
the tolerance; mismatch: further off; unverified: a value no re-run of agentcli backs (whatever
its size); not attempted: no value (null with a reason, or no entry at all).

Phase 1 ends with a copy of claims.json in `.reproduce/`. A tolerance (or value) edited after
that, once the results are known, does not move the verdict: the copy is what is judged, and the
edit is shown beside it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentcli.reproduce import STATE_DIR
from agentcli.reproduce.verify import Proof

LOCKED_CLAIMS = "claims.phase1.json"
VERDICTS = ("match", "close", "mismatch", "unverified", "not attempted")
CLOSE_FACTOR = 3.0


@dataclass
class Row:
    """One claim (as judged) beside its measurement, its verdict and agentcli's proof."""

    claim: dict[str, Any]
    result: dict[str, Any] | None
    verdict: str
    difference: float | None = None
    allowed: float | None = None
    proof: Proof | None = None
    changes: list[str] = field(default_factory=list)  # edits of claims.json after phase 1

    @property
    def id(self) -> str:
        return self.claim["id"]

    @property
    def paper(self) -> float:
        return float(self.claim["value"])

    @property
    def reproduced(self) -> float | None:
        value = (self.result or {}).get("value")
        return None if value is None else float(value)

    @property
    def per_seed(self) -> list[float]:
        values = (self.result or {}).get("values")
        return [float(v) for v in values] if isinstance(values, list) else []


def allowed_difference(claim: dict[str, Any]) -> float:
    """The largest |reproduced - paper| that still counts: max(absolute, relative * |paper|)."""
    tol = claim.get("tolerance") or {}
    return max(float(tol.get("absolute", 0.0)), float(tol.get("relative", 0.0)) * abs(float(claim["value"])))


def closeness(difference: float, allowed: float) -> str:
    """match, close or mismatch for a difference, by the tolerance alone."""
    # A hair of slack so a value printed to the tolerance's precision is not failed by rounding.
    def within(limit: float) -> bool:
        return abs(difference) <= limit * (1 + 1e-9) + 1e-12

    if within(allowed):
        return "match"
    return "close" if within(CLOSE_FACTOR * allowed) else "mismatch"


def judge(claim: dict[str, Any], result: dict[str, Any] | None, proof: Proof | None) -> Row:
    """One row: the verdict of `result` against `claim`, given agentcli's `proof` of it."""
    if result is None or result.get("value") is None:
        return Row(claim, result, "not attempted", proof=proof)
    difference = float(result["value"]) - float(claim["value"])
    allowed = allowed_difference(claim)
    verdict = closeness(difference, allowed) if proof is not None and proof.verified else "unverified"
    return Row(claim, result, verdict, difference, allowed, proof)


def locked(workdir: Path) -> list[dict[str, Any]] | None:
    """The claims as phase 1 left them, or None when there is no (readable) copy."""
    try:
        doc = json.loads((Path(workdir) / STATE_DIR / LOCKED_CLAIMS).read_text(encoding="utf-8"))
        claims = [c for c in doc["claims"] if isinstance(c, dict) and isinstance(c.get("id"), str)
                  and isinstance(c.get("value"), (int, float)) and isinstance(c.get("tolerance"), dict)]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return claims


def as_judged(workdir: Path, current: list[dict[str, Any]]
              ) -> tuple[list[dict[str, Any]], dict[str, list[str]], bool]:
    """(the claims to judge, the edits after phase 1 by claim id, whether a phase-1 copy exists).
    A claim phase 1 fixed is judged as it fixed it, even if removed since; one added later is
    judged as it is now, and flagged."""
    before = locked(workdir)
    if before is None:
        return list(current), {}, False
    now = {c["id"]: c for c in current}
    changes: dict[str, list[str]] = {}
    for old in before:
        new = now.get(old["id"])
        if new is None:
            changes[old["id"]] = ["removed from claims.json after phase 1"]
            continue
        edits = [f"{key} changed after phase 1: {_j(old.get(key))} → {_j(new.get(key))}"
                 for key in ("value", "tolerance", "metric", "unit", "setup", "source")
                 if old.get(key) != new.get(key)]
        if edits:
            changes[old["id"]] = edits
    fixed = {c["id"] for c in before}
    added = [c for c in current if c["id"] not in fixed]
    for claim in added:
        changes[claim["id"]] = ["added after phase 1"]
    return list(before) + added, changes, True


def _j(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= 80 else text[:79] + "…"
