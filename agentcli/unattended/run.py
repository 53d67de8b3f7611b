"""An unattended run: a session that keeps going until the task is declared done (or blocked),
a budget or the time is spent, or it stalls; and leaves a ledger, checkpoints and a report.

`UnattendedRun` plugs into its session (`plug`, through `loop.Host`): its hooks decide at each
turn boundary and at each answer whether the run goes on (the session's own policy is
`OpenEnded`), the `progress` and `finish` tools reach it through
`ToolContext.services["unattended"]`, and every fact it keeps is an archive event folded into
`RunState` (see state.py), so a resumed run continues with the same budgets, ledger and commit
history.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import TYPE_CHECKING, Any

from agentcli import deadline
from agentcli.deadline import StopRun
from agentcli.models.base import TRANSIENT
from agentcli.models.catalog import cost_usd
from agentcli.resources import prompt
from agentcli.types import Outcome, Usage
from agentcli.unattended import budgets, ledger
from agentcli.unattended import tools as unattended_tools
from agentcli.unattended.budgets import Limits, Used
from agentcli.unattended.checks import Criterion
from agentcli.unattended.finish import judge, parse_marker
from agentcli.unattended.gitwork import Checkpoints, GitError, fingerprint, head, subject
from agentcli.unattended.report import render_report
from agentcli.unattended.signals import install_signals, outage_scale
from agentcli.unattended.stall import StallDetector
from agentcli.unattended.state import ArchiveTail, RunState

if TYPE_CHECKING:
    from agentcli.loop import Host
    from agentcli.session import Session

# Seconds to wait out a provider outage before each new try; AGENTCLI_OUTAGE_WAIT_SCALE scales them.
OUTAGE_WAITS = (30, 60, 120, 240, 480, 600, 600, 600)
# Tools that cannot change files: after a turn of only these, the files need no new fingerprint.
_READ_ONLY = {"read", "grep", "glob", "progress", "memory_search", "memory_read"}
PROGRESS_NAME, REPORT_NAME = ledger.PROGRESS_NAME, "REPORT.md"


@dataclass
class RunOptions:
    """What the user asked of an unattended run."""

    limits: Limits = field(default_factory=Limits)
    checks: list[str] = field(default_factory=list)
    checkpoint: str | None = None
    stall_turns: int = 6


def _fill(name: str, **values: str) -> str:
    text = Template(prompt(f"unattended/{name}")).safe_substitute(**values).strip()
    return re.sub(r"\n{3,}", "\n\n", re.sub(r"\n[ \t]*\n", "\n\n", text))


class UnattendedRun:
    """The unattended side of one session."""

    def __init__(self, session: Session, checkpoints: Checkpoints | None):
        self.session = session
        self.checkpoints = checkpoints
        self.state = RunState()
        self.tail = ArchiveTail(session.archive.path)
        self.stall = StallDetector()
        self.segment_started = time.monotonic()
        self.status = "running"
        self.dir: Path = session.dir
        self._calls: dict[str, dict[str, Any]] = {}
        self._turn: list[tuple[dict[str, Any], str]] = []
        self._turn_done = False
        self._files: str | None = None
        self._head: str | None = None
        self.refused: set[str] = set()  # done refused once after these failing test runs
        self._warned_cost = False
        self._last_text = ""
        # Set by the front end that started the run, again on every resume (they are code, not
        # archive events): success criteria checked before done, and how a person goes on.
        self.criteria: list[Criterion] = []
        self.resume_command = f"agentcli run --resume {session.id}"

    # -- starting and resuming ----------------------------------------------------------------

    def begin(self, goal: str, options: RunOptions, criteria: list[str]) -> None:
        """Record the start of a new run and wire it into the session."""
        self.session.archive.append(
            "unattended_start", goal=goal, limits=options.limits.to_dict(), checks=options.checks,
            criteria=criteria, stall_turns=options.stall_turns,
            checkpoint=self.checkpoints.to_dict() if self.checkpoints else None,
            workspace=str(self.session.workspace.root), resume_command=self.resume_command)
        self._attach()

    def resume(self, limits: Limits | None, reason: str | None = None) -> str:
        """Fold the archive, record the resume, commit work left uncommitted; the message to send."""
        self.refresh(track=False)
        if reason is None:
            reason = (f"it had stopped: {self.state.last_stop}" if self.state.last_stop
                      else "the process ended before the run did: killed or crashed")
        merged = self.state.limits.merged(limits) if limits else self.state.limits
        self.session.archive.append("unattended_resume", limits=merged.to_dict(), reason=reason,
                                    checkpoint=self.checkpoints.to_dict() if self.checkpoints else None)
        self._attach()
        committed = ""
        sha = self.commit("work in progress when the run was interrupted", "resume")
        if sha:
            committed = f"; the work left uncommitted was committed as checkpoint {sha[:10]}"
        self.refresh(track=False)
        return _fill("resume.md", reason=reason, committed=committed, budget=self._remaining(),
                     ledger=ledger.brief(self.state))

    def plug(self, host: Host) -> None:
        """Its tools, its note in the system prompt, itself for the tools, and its hooks: at
        each turn boundary (budgets, stalls, a finish) and at each answer (done, or go on)."""
        host.provide("unattended", self)
        host.add_tools(unattended_tools.TOOLS)
        host.add_note(prompt("unattended/system.md").strip())
        host.hooks.on("before_turn", self.before_turn)
        host.hooks.on("after_answer", lambda reply: self.after_answer(reply.message.content))

    def _attach(self) -> None:
        s = self.session
        self.plug(s)
        self.refresh(track=False)
        self.stall = StallDetector(turns=self.state.stall_turns)
        self.segment_started = time.monotonic()
        if self.state.limits.time_s:
            s.set_deadline(self.segment_started + self.state.limits.time_s - self.state.closed_time_s)
        self._files = fingerprint(s.workspace.root, ignore=s.library.root)
        self.stall.baseline(self._files)
        self._head = head(s.workspace.root)
        if self.state.limits.cost_usd and cost_usd(s.model.name, Usage()) is None:
            self._warn_cost(s.model.name)

    def execute(self, message: str) -> Outcome:
        """Run the loop with `message` until it stops; then the final checkpoint and the report.
        A provider outage is waited out (within the time budget) rather than ending the night.
        SIGTERM stops the run cleanly; SIGHUP (a closed terminal) is ignored."""
        deadline.clear()
        restore = install_signals()
        try:
            outcome = self.session.run(message)
            waits = 0
            while outcome.stop_reason == "error" and waits < len(OUTAGE_WAITS) and self._provider_down():
                wait = OUTAGE_WAITS[waits] * outage_scale()
                waits += 1
                self.session.emit("notice", level="warning", text=(
                    f"the model provider is failing; waiting {budgets.format_duration(wait)} before "
                    f"trying again ({waits} of {len(OUTAGE_WAITS)})"))
                try:
                    with deadline.guard(self.session.tool_ctx.deadline):
                        time.sleep(wait)
                except StopRun as stop:
                    outcome = Outcome(stop.stop_reason, stop.message, is_error=True)
                    break
                outcome = self.session.run(_fill("outage.md", error=outcome.result))
        finally:
            restore()
            deadline.clear()
        return self.conclude(outcome)

    def _provider_down(self) -> bool:
        """Whether the run just failed on a fault that may pass (overload, outage, network)."""
        self.refresh(track=False)
        err = self.state.last_error
        return bool(err and err.get("source") == "model" and err.get("kind") in TRANSIENT)

    # -- its hooks ------------------------------------------------------------------------------

    def before_turn(self) -> Outcome | None:
        self.refresh()
        if self.state.finish:
            f = self.state.finish
            return Outcome(f["status"], f.get("summary") or f["status"], is_error=f["status"] != "done")
        stop = deadline.pending()
        if stop is not None and stop.stop_reason != "time":
            return Outcome(stop.stop_reason, stop.message, is_error=True)
        used = self.used()
        spent = budgets.exceeded(self.state.limits, used)
        if spent:
            return Outcome(spent[0], spent[1], is_error=True)
        for budget, percent in budgets.crossed_marks(self.state.limits, used, self.state.marks):
            self.session.archive.append("budget_mark", budget=budget, percent=percent)
            self.commit(f"checkpoint at {percent}% of the {budget} budget", "mark")
            self.session.emit("notice", text=f"{percent}% of the {budget} budget used", level="info")
        verdict = self.stall.verdict()
        if verdict is None:
            return None
        # The calls of this stall episode; when it had none (the model only talked), the run's.
        tried = ", ".join(verdict.tried) if verdict.tried else \
            f"no tool call in those turns; in the whole run: {ledger.tried(self.state)}"
        if verdict.action == "stop":
            return Outcome("stalled", f"stalled: {verdict.detail}, even after a nudge. Tried: {tried}",
                           is_error=True)
        self.session.archive.append("stall_nudge", signal=verdict.signal, detail=verdict.detail)
        self.session.emit("notice", text=f"nudged the model: {verdict.detail}", level="warning")
        self.refresh(track=False)
        self.session.add_user(_fill("nudge.md", detail=verdict.detail, tried=tried,
                                    budget=self._remaining(), ledger=ledger.brief(self.state)))
        return None

    def after_answer(self, text: str) -> Outcome | None:
        """A reply without tool calls: a done/blocked marker ends the run, anything else continues."""
        marker = parse_marker(text)
        if marker is not None:
            status, reason = marker
            accepted, note = self.finish(status, reason or text.strip(), "", via="marker")
            if accepted:
                self.refresh(track=False)
                return Outcome(status, text.strip(), is_error=status != "done")
            self.session.add_user(f"[agentcli: unattended run] {note}")
            return None
        wrap = _fill("wrap_up.md") if budgets.wrap_up(self.state.limits, self.used()) else ""
        self.session.emit("notice", level="info",
                          text=f"no finish yet; continuing ({self._remaining()})")
        self.session.add_user(_fill("continue.md", budget=self._remaining(), wrap_up=wrap,
                                    ledger=ledger.brief(self.state)))
        return None

    # -- what the tools call ------------------------------------------------------------------

    def record_progress(self, update: dict[str, Any]) -> str:
        with deadline.shield():
            self.session.archive.append("ledger", update=update)
            self.refresh(track=False)
            note = "ledger updated"
            if update.get("milestone"):
                sha = self.commit(f"milestone: {update['milestone']}", "milestone")
                note += f"; checkpoint commit {sha[:10]}" if sha else (
                    "; no checkpoint (nothing changed since the last one)" if self.checkpoints else "")
        return note

    def finish(self, status: str, summary: str, evidence: str, via: str = "tool") -> tuple[bool, str]:
        """Accept or refuse the model's declaration; (accepted, what to tell the model)."""
        return judge(self, status, summary, evidence, via)

    # -- bookkeeping ----------------------------------------------------------------------------

    def refresh(self, track: bool = True) -> None:
        """Fold new archive events; after a completed turn, feed the stall detector; rewrite
        PROGRESS.md. `track=False` folds without counting a turn."""
        for event in self.tail.new_events():
            self.state.apply(event)
            kind = event.get("type")
            if kind == "tool_call":
                call = event.get("call") or {}
                self._calls[call.get("id", "")] = call
            elif kind == "tool_result":
                msg = event.get("message") or {}
                call = self._calls.pop(msg.get("tool_call_id") or "", None)
                if call is not None:
                    self._turn.append((call, msg.get("content") or ""))
            elif kind == "assistant":
                self._turn_done = True
            elif kind and kind.startswith("compact"):
                self.stall.forget_results()
        if track and self._turn_done:
            try:
                self._after_turn()
            except GitError as err:  # a slow or broken git must not end the run
                self.session.emit("notice", text=f"could not inspect the files: {err}", level="warning")
        self.write_progress()

    def _after_turn(self) -> None:
        calls, self._turn, self._turn_done = self._turn, [], False
        root = self.session.workspace.root
        if any(c.get("name") not in _READ_ONLY for c, _ in calls):
            self._files = fingerprint(root, ignore=self.session.library.root)
            now = head(root)
            if now and now != self._head and not any(c["sha"] == now for c in self.state.commits):
                self.session.archive.append("observed_commit", sha=now, subject=subject(root, now))
                for event in self.tail.new_events():
                    self.state.apply(event)
            self._head = now
        self.stall.turn(calls, self._files)
        if self.state.limits.cost_usd and self.state.used.cost_usd is None:
            self._warn_cost(", ".join(sorted(self.state.used.unpriced)))

    def commit(self, what: str, reason: str) -> str | None:
        """A checkpoint commit with a message from the ledger; its sha, or None."""
        if self.checkpoints is None:
            return None
        body = ledger.commit_body(self.state, self.session.id)
        try:
            with deadline.shield():
                made = self.checkpoints.commit(f"agentcli: {what}", body)
                if made:
                    sha, files = made
                    self.session.archive.append("checkpoint", sha=sha, reason=reason,
                                                subject=f"agentcli: {what}", files=files[:200])
                    self._head = sha
        except GitError as err:
            self.session.archive.append("error", source="checkpoint", message=str(err))
            self.session.emit("notice", text=f"checkpoint failed: {err}", level="warning")
            return None
        if made:
            self.session.emit("notice", text=f"checkpoint {made[0][:10]}: {what}", level="info")
        return made[0] if made else None

    def used(self) -> Used:
        u = self.state.used
        return Used(time_s=self.state.time_used(time.monotonic() - self.segment_started),
                    cost_usd=u.cost_usd, tokens=u.tokens, turns=u.turns, unpriced=u.unpriced)

    def _remaining(self) -> str:
        return budgets.remaining_text(self.state.limits, self.used())

    def _warn_cost(self, models: str) -> None:
        if not self._warned_cost:
            self._warned_cost = True
            self.session.emit("notice", level="warning", text=budgets.unpriced_notice(
                models, self.state.limits))

    def write_progress(self) -> None:
        self.state.used.time_s = self.used().time_s
        text = ledger.render(self.state, self.session.id, self.status)
        if text != self._last_text:
            try:
                self.session.library.write_text(self.dir / PROGRESS_NAME, text)  # redacted, atomic
            except OSError as err:  # the archive keeps everything; the ledger file can wait
                self.session.emit("notice", level="warning",
                                  text=f"cannot write {PROGRESS_NAME}: {err.strerror or err}")
            self._last_text = text

    # -- the end --------------------------------------------------------------------------------

    def conclude(self, outcome: Outcome) -> Outcome:
        """Final checkpoint, PROGRESS.md with the stop reason, and REPORT.md."""
        self.refresh(track=False)
        spent = budgets.exceeded(self.state.limits, self.used())
        if outcome.stop_reason == "time" and spent and spent[0] == "time" and outcome.result != spent[1]:
            outcome = Outcome("time", f"{spent[1]}; {outcome.result}", is_error=True)
        first = outcome.result.strip().splitlines()[0][:120] if outcome.result.strip() else ""
        self.commit(f"{outcome.stop_reason}: {first}" if first else outcome.stop_reason, "final")
        self.status = outcome.stop_reason
        self.refresh(track=False)
        try:
            self.session.library.write_text(self.dir / REPORT_NAME, render_report(self, outcome))
        except OSError as err:
            self.session.emit("notice", level="warning",
                              text=f"cannot write {REPORT_NAME}: {err.strerror or err}")
        self.session.archive.sync()
        return outcome

    def summary(self) -> dict[str, Any]:
        """The `unattended` object of the JSON result."""
        cp = None
        if self.checkpoints:
            cp = {**self.checkpoints.to_dict(), "commits": [c["sha"] for c in self.state.commits]}
        return {"progress_file": str(self.dir / PROGRESS_NAME), "report_file": str(self.dir / REPORT_NAME),
                "limits": self.state.limits.to_dict(), "used": self.used().to_dict(),
                "checkpoint": cp, "checks": self.state.check_runs, "resumes": self.state.resumes,
                "nudges": len(self.state.nudges)}
