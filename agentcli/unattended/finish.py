"""How an unattended run ends on the model's word: the `finish` tool (or a DONE / BLOCKED last
line) is judged here. Blocked is recorded as said; done is accepted only once the checks the user
named (and the caller's success criteria) pass, and not straight after a failing test run."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Protocol

from agentcli import deadline
from agentcli.unattended import ledger
from agentcli.unattended.checks import CheckResult, Criterion, run_check, run_criterion
from agentcli.unattended.state import RunState

if TYPE_CHECKING:
    from agentcli.session import Session


class Judged(Protocol):
    """What judging a finish reads and records of the run (run.UnattendedRun is the one)."""

    session: Session
    state: RunState
    criteria: list[Criterion]
    refused: set[str]  # failing test runs done was refused after once

_MARKER = re.compile(r"^[\W_]*(?:(done|task (?:is )?(?:done|complete|completed))|blocked\s*[:\-—]\s*(.+?))"
                     r"[\W_]*$", re.IGNORECASE)


def parse_marker(text: str) -> tuple[str, str] | None:
    """("done", "") or ("blocked", reason) from the last line of a reply, else None."""
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    if not lines:
        return None
    m = _MARKER.match(lines[-1].strip())
    if not m:
        return None
    return ("blocked", m.group(2).strip()) if m.group(2) else ("done", "")


def judge(run: Judged, status: str, summary: str, evidence: str, via: str) -> tuple[bool, str]:
    """Accept or refuse the model's declaration; (accepted, what to tell the model). Every check
    run and the verdict are archive events."""
    archive = run.session.archive
    if status == "blocked":
        with deadline.shield():
            archive.append("finish", status=status, summary=summary, evidence=evidence,
                           accepted=True, via=via)
        return True, "Recorded: blocked. The run ends after this turn."
    results: list[CheckResult] = []
    for command in run.state.all_checks():
        result = run_check(command, run.session.tool_ctx)
        with deadline.shield():
            archive.append("check", **result.to_event())
        results.append(result)
    for criterion in run.criteria:
        result = run_criterion(criterion)
        with deadline.shield():
            archive.append("check", **result.to_event())
        results.append(result)
    failed = [r for r in results if not r.passed]
    why = note = ""
    if failed:
        why = "; ".join(f"`{r.command}` did not pass ({r.summary})" for r in failed)
        tail = failed[0].output[-2500:]
        what = "Output" if failed[0].exit_code is not None else "What is wrong"
        note = (f"finish refused: {why}. {what} of `{failed[0].command}` (end):\n{tail}\n"
                "Fix the cause and call finish again, or call finish with status \"blocked\" "
                "if you cannot.")
    else:
        last = ledger.last_tests(run.state)
        key = f"{last['command']}\0{last['summary']}" if last and not last["passed"] else ""
        if key and key not in run.refused and not results:
            run.refused.add(key)  # refused once: said again with a reason, done is accepted
            why = f"the last test run, `{last['command']}`, failed ({last['summary']})"
            note = (f"finish refused: {why}. Run the tests again to show they pass; if that "
                    "failure is expected, call finish again and say why in `evidence`.")
    with deadline.shield():
        archive.append("finish", status=status, summary=summary, evidence=evidence,
                       accepted=not why, why=why or None, via=via,
                       checks=[r.to_event() for r in results])
    if why:
        return False, note
    passed = f" Checks passed: {', '.join(f'`{r.command}`' for r in results)}." if results else ""
    return True, f"Recorded: done.{passed} The run ends after this turn."
