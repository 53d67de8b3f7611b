"""REPORT.md at the end of an unattended run: what was asked, what was done, the evidence
(checks, tests, commits, files), what remains, and how to go on. Written from the folded archive
and git, never from the model's say-so alone."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from agentcli.types import Outcome
from agentcli.unattended.budgets import Used, used_text
from agentcli.unattended.gitwork import Checkpoints
from agentcli.unattended.ledger import local_time
from agentcli.unattended.state import RunState

if TYPE_CHECKING:
    from agentcli.session import Session


class Reported(Protocol):
    """What the report reads of the run (run.UnattendedRun is the one)."""

    session: Session
    state: RunState
    checkpoints: Checkpoints | None
    dir: Path
    resume_command: str

    def used(self) -> Used: ...

_HEADLINES = {
    "done": "Done", "blocked": "Blocked", "budget": "Stopped: budget spent",
    "time": "Stopped: time is up", "stalled": "Stopped: stalled", "error": "Stopped: error",
    "max_turns": "Stopped: turn limit", "interrupted": "Stopped: interrupted",
}


def render_report(run: Reported, outcome: Outcome) -> str:
    st = run.state
    session = run.session
    goal_line = st.goal.strip().splitlines()[0] if st.goal.strip() else "(no goal)"
    out = [f"# Report: {goal_line[:100]}", ""]
    out.append(f"**{_HEADLINES.get(outcome.stop_reason, outcome.stop_reason)}** "
               f"(stop_reason `{outcome.stop_reason}`)")
    out += ["", _quote(outcome.result or "(no message)"), ""]
    out.append(f"- Session `{session.id}` · model {session.model.name} · started "
               f"{local_time(st.started_ts)} · ended {local_time(st.updated_ts)}")
    out.append(f"- Used: {used_text(st.limits, run.used())}")
    if st.resumes:
        out.append(f"- Resumed {st.resumes} time(s) after an interruption")
    if st.nudges:
        out.append(f"- Nudged {len(st.nudges)} time(s) for stalling: "
                   + "; ".join(n["detail"] for n in st.nudges[-3:]))
    out += ["", "## What was asked", "", _quote(st.goal.strip() or "(none)"), ""]

    out += ["## What was done", ""]
    out += [f"- {local_time(i.ts)} — {i.text}" for i in st.done] or [
        "The agent recorded no completed steps in the ledger."]
    if st.finish:
        out += ["", f"Declared **{st.finish['status']}**: {st.finish.get('summary') or ''}"]
        if st.finish.get("evidence"):
            out += ["", "Evidence given by the agent:", "", _quote(st.finish["evidence"])]
    out.append("")

    out += ["## Evidence", ""]
    out += ["### Checks run by the harness", ""]
    out += [f"- {local_time(c['ts'])} `{c['command']}` — {'passed' if c['passed'] else 'FAILED'}"
            f" ({c.get('summary') or 'exit ' + str(c.get('exit_code'))})" for c in st.check_runs] or [
        "None were run (no --check, and no test command named in the task)."
        if not st.checks else "None were run: the agent did not declare done."]
    out += ["", "### Tests observed", ""]
    out += [f"- `{cmd}` — {t['summary']} (last run {local_time(t['ts'])})"
            for cmd, t in st.tests.items()] or ["No test runs were seen."]
    out += ["", "### Commits", ""]
    if run.checkpoints:
        cp = run.checkpoints
        where = f"in `{cp.worktree}`" if cp.in_place else f"in the worktree `{cp.worktree}`"
        out.append(f"On branch `{cp.branch}` from `{cp.base[:10]}`, {where}:")
        out.append("")
        out += [f"- `{c['sha'][:10]}` {c.get('subject') or ''} ({local_time(c['ts'])})"
                for c in st.commits] or ["- none: no file changed"]
    else:
        out += [f"- `{c['sha'][:10]}` {c.get('subject') or ''}" for c in st.commits] or [
            "No checkpoints (run with --checkpoint git to get them); the files were changed in place."]
    out += _git_changed(st.git_changed)
    out += ["", "### Files changed", ""]
    stat = run.checkpoints.diff_stat() if run.checkpoints else ""
    if stat:
        out += ["```", stat, "```"]
    else:
        out += [f"- {f}" for f in st.files_changed] or ["None."]
    out.append("")

    out += ["## What remains", ""]
    remains = []
    for title, key in (("In progress", "in_progress"), ("Next", "next"), ("Blockers", "blockers")):
        remains += [f"- {title}: {i.text}" for i in st.lists[key]]
    if outcome.stop_reason != "done" and not remains:
        remains.append("- The ledger lists nothing; see the last observations in PROGRESS.md.")
    out += remains or ["Nothing: the task was declared done."]
    out.append("")

    return "\n".join(out + _how_to_go_on(run, outcome)) + "\n"


def _how_to_go_on(run: Reported, outcome: Outcome) -> list[str]:
    out = ["## How to go on", ""]
    out.append(f"- The ledger: `{run.dir / 'PROGRESS.md'}`; the full record: `{run.session.archive.path}`")
    if outcome.stop_reason != "done":
        out.append(f"- Continue this run: `{run.resume_command}` (add --max-time etc. to give it more)")
    if run.checkpoints:
        cp = run.checkpoints
        repo = shlex.quote(str(cp.repo))
        out.append(f"- Review: `git -C {repo} log {cp.base[:10]}..{cp.branch}` and "
                   f"`git -C {repo} diff {cp.base[:10]} {cp.branch}`")
        if cp.in_place:
            out.append(f"- The commits are on branch `{cp.branch}` of `{cp.repo}` itself, where the work is.")
        elif cp.snapshot:
            out.append(f"- The branch starts from a snapshot of your uncommitted work (`{cp.base[:10]}`). "
                       f"To apply only the agent's changes to your working tree: "
                       f"`git -C {repo} diff {cp.base[:10]} {cp.branch} | git -C {repo} apply`")
        else:
            out.append(f"- Take the work: `git -C {repo} merge {cp.branch}`")
        if not cp.in_place:
            out.append(f"- Clean up: `git -C {repo} worktree remove --force "
                       f"{shlex.quote(str(cp.worktree))} && git -C {repo} branch -D {cp.branch}`")
    return out


def _git_changed(changes: list[dict]) -> list[str]:
    """Commands that changed a git config or hook: the user's next git command would run it."""
    if not changes:
        return []
    out = ["", "### Git settings changed", "",
           "Commands changed what makes git start programs. Check these before running git in "
           "this repository:", ""]
    return out + [f"- {local_time(g['ts'])} `{g['command']}` changed "
                  + ", ".join(f"`{p}`" for p in g["paths"]) for g in changes]


def _quote(text: str) -> str:
    return "\n".join("> " + line if line.strip() else ">" for line in text.strip().splitlines())
