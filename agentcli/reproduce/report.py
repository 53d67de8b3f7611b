"""REPORT.md from a workdir: graded verdicts, how each value was checked, the environment, the
deviations and a figure.

Deterministic and model-free: the same files give the same bytes (no dates, no absolute paths),
so a report can be committed and checked. It runs nothing unless asked to (`rerun`): what
agentcli's last re-run of the commands found is read from environment.json and the logs it
hashed. A half-finished workdir gets a report that says what is missing instead of an error.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agentcli.reproduce import CLAIMS, DEVIATIONS, FIGURE, PAPER_MD, PLAN, REPORT, RESULTS, STATE_DIR
from agentcli.reproduce import verify
from agentcli.reproduce.checks import check_claims, check_results
from agentcli.reproduce.reportdata import HEADER, Report
from agentcli.reproduce.verdicts import LOCKED_CLAIMS, Row, allowed_difference, as_judged, judge
from agentcli.secrets import redact

__all__ = ["HEADER", "LOCKED_CLAIMS", "Report", "Row", "allowed_difference", "build"]

def build(workdir: Path, *, figure: bool = True, rerun: bool = False,
          timeout: float = verify.DEFAULT_TIMEOUT) -> Report:
    """Read the workdir (after re-running its commands, with `rerun`), write REPORT.md and the
    figure, and return what was found."""
    workdir = Path(workdir)
    if rerun and (workdir / RESULTS).is_file():
        verify.verify(workdir, timeout)
    claims = check_claims(workdir)
    report = Report(_title(claims.doc))
    if not (workdir / PAPER_MD).is_file():
        report.missing.append(f"{PAPER_MD}: the paper has not been extracted")
    if not claims.exists:
        report.missing.append(f"{CLAIMS}: phase 1 (claims) has not written it")
    elif claims.errors:
        report.problems += [f"{CLAIMS}: {e}" for e in claims.errors]
    if not (workdir / PLAN).is_file():
        report.missing.append(f"{PLAN}: phase 2 (plan) has not written it")
    judged, report.changed, report.phase1_copy = as_judged(workdir, claims.claims)
    if judged:
        _judge(workdir, judged, report)
    if not (workdir / DEVIATIONS).is_file():
        report.missing.append(f"{DEVIATIONS}: phase 3 has not written it (every departure from the "
                              "paper goes there; write 'None.' if there were none)")
    report.environment = verify.load(workdir)
    report.stopped = _stopped(workdir)
    if figure and report.rows:
        _draw(workdir, report)
    from agentcli.reproduce.markdown import render

    # Commands and notes come from the agent; a token in one must not land in a shared report.
    (workdir / REPORT).write_text(redact(render(workdir, report)), encoding="utf-8")
    return report


def _judge(workdir: Path, judged: list[dict[str, Any]], report: Report) -> None:
    results = check_results(workdir, [c["id"] for c in judged], require_all=False)
    if not results.exists:
        report.missing.append(f"{RESULTS}: phase 3 (build and run) has not written it")
    else:
        report.problems += [f"{RESULTS}: {e}" for e in results.errors]
    record = verify.load(workdir)
    for claim in judged:
        entry = results.entries.get(claim["id"])
        proof = verify.prove(workdir, entry, claim["id"], record) if entry else None
        row = judge(claim, entry, proof)
        row.changes = report.changed.get(claim["id"], [])
        report.rows.append(row)
    absent = [r.id for r in report.rows if r.result is None]
    if absent and results.exists:
        report.missing.append(f"{RESULTS}: no valid result for {', '.join(absent)}")


def _draw(workdir: Path, report: Report) -> None:
    try:
        from agentcli.reproduce.figure import draw
    except ImportError:
        report.figure_note = ("figure not drawn: matplotlib is not installed "
                              "(pip install 'agentcli[reproduce]')")
        return
    draw(report.rows, workdir / FIGURE, title=report.title)
    report.figure = FIGURE


def _title(doc: Any) -> str:
    if isinstance(doc, dict) and isinstance(doc.get("paper"), dict):
        title = doc["paper"].get("title")
        if isinstance(title, str) and title.strip():
            return title.strip()
    return "(untitled paper)"


def _stopped(workdir: Path) -> str | None:
    """From .reproduce/state.json: the phase that stopped short, why, and the command to go on."""
    try:
        state = json.loads((workdir / STATE_DIR / "state.json").read_text(encoding="utf-8"))
        phases = state["phases"]
        for number, name in enumerate(("claims", "plan", "build"), 1):
            ps = phases.get(name) or {}
            if ps.get("status") == "failed":
                why = ps.get("message") or f"phase {number} stopped"
                return (f"The reproduction stopped in phase {number} (`{ps.get('stop_reason')}`): {why}. "
                        f"Go on with `agentcli reproduce --resume {state['id']}`.")
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return None
