"""The phase driver: each phase runs in its own agent session in the workdir, and its artefacts
are checked before the next phase starts.

Phases 1 (claims) and 2 (plan) are bounded sessions: one artefact each, minutes of work. When
the model answers, the driver checks the artefact; problems go back to the same session (up to
`max_rounds` times) before the phase counts as failed. Phase 3 (build and run) is long and is
left alone overnight, so it is an unattended run (see `overnight.py`): it goes on until the model
declares done (accepted only when results.json and DEVIATIONS.md pass their checks) or blocked,
a budget is spent, or it stalls.

`--max-time`, `--max-cost` and `--max-tokens` cover the whole reproduction (`budget.py`). State
is saved after every step; `--resume` continues the interrupted phase's own conversation
(`Session.resume`, or the unattended run's resume for phase 3) and then the phases after it.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, replace
from pathlib import Path
from string import Template
from typing import TYPE_CHECKING, Any

from agentcli.events import Emitter
from agentcli.library.archive import ARCHIVE_NAME, read_events
from agentcli.reproduce import CLAIMS, STATE_DIR, overnight
from agentcli.reproduce import budget
from agentcli.reproduce.checks import schema_path
from agentcli.reproduce.paper import extract
from agentcli.reproduce.phases import PHASES, Phase
from agentcli.reproduce.report import LOCKED_CLAIMS, Report, build
from agentcli.reproduce.state import State
from agentcli.resources import prompt
from agentcli.unattended.budgets import Limits, Used
from agentcli.unattended.gitwork import Checkpoints, GitError

if TYPE_CHECKING:
    from agentcli.config import Settings
    from agentcli.loop import Host

MAX_ROUNDS = 3
_BUDGET_STOPS = ("budget", "time")


@dataclass
class Result:
    """How a reproduction run ended. stop_reason: done, or the failing phase's reason
    (unfinished, blocked, budget, time, stalled, max_turns, error, interrupted, ...)."""

    state: State
    workdir: Path
    stop_reason: str
    message: str
    report: Report | None = None
    used: Used | None = None
    run: dict[str, Any] | None = None  # phase 3's unattended run: ledger, report, budgets

    @property
    def ok(self) -> bool:
        return self.stop_reason == "done"

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.state.id, "workdir": str(self.workdir), "stop_reason": self.stop_reason,
                "is_error": not self.ok, "message": self.message, "phases": self.state.summary(),
                "limits": self.state.options.get("limits"),
                "used": self.used.to_dict() if self.used else None, "unattended": self.run,
                "report": self.report.to_dict() if self.report else None}


class Driver:
    """Runs the phases of one reproduction in `workdir`. `options` are this invocation's flags:
    limits (a Limits dict), checkpoint, checks, stall_turns; on `resume` those given replace the
    ones the reproduction was started with."""

    def __init__(self, settings: Settings, workdir: Path, emit: Emitter | None = None, *,
                 max_rounds: int = MAX_ROUNDS, options: dict[str, Any] | None = None):
        self.settings = replace(settings, workspace=workdir)
        self.workdir = workdir
        self.emit = emit or Emitter()
        self.max_rounds = max_rounds
        self.given = dict(options or {})
        self.state: State | None = None
        self.run_summary: dict[str, Any] | None = None
        self.checkpoints: Checkpoints | None = None  # phase 3's, when it ran with --checkpoint git
        self.warned: set[str] = set()

    # -- entry points -------------------------------------------------------------------------

    def start(self, paper: Path) -> Result:
        """A new reproduction of `paper`: PAPER.md, then the three phases."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        extracted = extract(paper, self.workdir)
        options = {**self.given, "max_turns": self.settings.max_turns}
        self.state = State.new(paper.resolve(), self.workdir, options)
        self.state.save(self.workdir)
        pages = f"{extracted.pages} pages" if extracted.pages else "no page markers"
        self._notice(f"reproduction {self.state.id} in {self.workdir}: PAPER.md written ({pages})")
        return self._run()

    def resume(self) -> Result:
        """Go on from the first phase whose artefacts are not (or no longer) complete."""
        self.state = State.load(self.workdir)
        kept, given = self.state.options, self.given
        limits = Limits.from_dict(kept.get("limits")).merged(Limits.from_dict(given.get("limits")))
        # Checkpoints, checks and stall turns are fixed when phase 3's run starts.
        started = bool(self.state.phases["build"].sessions)
        fixed = {k: kept.get(k) if started else given.get(k) or kept.get(k)
                 for k in ("checkpoint", "checks", "stall_turns", "verify_timeout")}
        self.state.options = {"limits": limits.to_dict(), **fixed,
                              "max_turns": self.settings.max_turns or kept.get("max_turns")}
        self.state.save(self.workdir)
        self._notice(f"resuming reproduction {self.state.id} in {self.workdir}")
        ignored = [f"--{k.replace('_', '-')}" for k in fixed if started and given.get(k)
                   and given.get(k) != kept.get(k)]
        if ignored:
            self._notice(f"{', '.join(ignored)}: phase 3's run started with its own and keeps them")
        return self._run(resuming=True)

    # -- the phases ---------------------------------------------------------------------------

    def _run(self, resuming: bool = False) -> Result:
        state = self._state
        for phase in PHASES:
            ps = state.phases[phase.name]
            problems = phase.problems(self.workdir)
            if ps.status == "done" and not problems:
                continue
            continuing = self._continuable(phase) if resuming else None
            if resuming and not problems and (phase.name != "build" or not ps.sessions
                                              or self._declared_done(ps.sessions[-1])):
                # Killed after the artefacts were written (and, in phase 3, done was accepted)
                # but before that was recorded here.
                self._finish_phase(phase)
                continue
            over = budget.spent(self._limits(), self._used())
            if over:
                return self._fail(phase, over[0], f"phase {phase.number} ({phase.title}) cannot "
                                  f"start: {over[1]}")
            # Its session is gone (or was not an unattended run): a new one looks at the files.
            lost = resuming and bool(ps.sessions) and ps.status in ("running", "failed") and continuing is None
            outcome = self._build_phase(phase, continuing, lost) if phase.name == "build" \
                else self._bounded_phase(phase, continuing, lost)
            if outcome is not None:
                return outcome
        report = self._report()
        self._notice(f"REPORT.md written: {report.summary()}")
        return self._result("done", report.summary(), report)

    def _bounded_phase(self, phase: Phase, continuing: str | None, lost: bool) -> Result | None:
        """Phase 1 or 2 to completion in one session; a Result when it stopped short, else None."""
        from agentcli.policy import Policy
        from agentcli.session import Session

        ps = self._state.phases[phase.name]
        policy = Policy(self._max_turns() or phase.default_max_turns)
        spent = budget.PhaseBudget(self._limits(), self._used(exclude=continuing), warned=self.warned)
        if continuing:
            session = Session.resume(self.settings, continuing, self.emit, policy=policy)
            spent.earlier_s = budget.session_used(session.archive.path).time_s
            task = self._resume_prompt(phase, ps.status, ps.stop_reason)
        else:
            session = Session.create(self.settings, self.emit, policy=policy)
            task = self._prompt(phase, lost)
        try:
            spent.plug(session)
            self._equip(session, phase)
            self._running(phase, session.id, continuing)
            outcome = session.run(task)
            rounds = 0
            while True:
                if outcome.is_error:
                    return self._fail(phase, outcome.stop_reason, f"phase {phase.number} "
                                      f"({phase.title}) stopped: {outcome.result}")
                problems = phase.problems(self.workdir)
                if not problems:
                    self._finish_phase(phase)
                    return None
                if rounds >= self.max_rounds:
                    ps.problems = problems
                    return self._fail(phase, "unfinished", f"phase {phase.number} ({phase.title}) did "
                                      f"not leave valid artefacts after {rounds} correction round(s): "
                                      f"{problems[0]}")
                rounds += 1
                ps.rounds += 1
                self._state.save(self.workdir)
                self._notice(f"phase {phase.number} not finished ({len(problems)} problem(s)); "
                             "sending them back to the model")
                outcome = session.run(Template(prompt("reproduce/continue.md")).safe_substitute(
                    number=phase.number, phase=phase.title, problems=_listing(problems)))
        finally:
            session.close()

    def _build_phase(self, phase: Phase, continuing: str | None, lost: bool) -> Result | None:
        """Phase 3 as an unattended run, new or continued; a Result when it stopped short."""
        state = self._state
        limits = self._build_limits(phase)
        opened = overnight.resume(self.settings, self.emit, self.workdir, continuing, limits,
                                  state.options.get("verify_timeout")) if continuing else None
        resume_command = f"agentcli reproduce --resume {state.id}"
        if opened is not None:
            session, run, message = opened
        else:
            session, run = overnight.start(self.settings, self.emit, self.workdir, state.paper,
                                           state.options, limits, resume_command)
            message = self._prompt(phase, lost or continuing is not None)
            continuing = None
        run.resume_command = resume_command
        self.checkpoints = run.checkpoints
        try:
            self._equip(session, phase)
            self._running(phase, session.id, continuing)
            outcome = run.execute(message)
            self.run_summary = run.summary()
        finally:
            session.close()
        if outcome.stop_reason != "done":
            return self._fail(phase, outcome.stop_reason,
                              f"phase {phase.number} ({phase.title}) stopped: {outcome.result}")
        problems = phase.problems(self.workdir)
        if problems:  # changed after done was accepted
            self._state.phases[phase.name].problems = problems
            return self._fail(phase, "unfinished", f"phase {phase.number} ({phase.title}): "
                              f"{problems[0]}")
        self._finish_phase(phase)
        return None

    def _running(self, phase: Phase, session_id: str, continuing: str | None) -> None:
        state = self._state
        ps = state.phases[phase.name]
        ps.status, ps.stop_reason, ps.message, ps.problems = "running", None, None, []
        if continuing is None:
            ps.sessions.append(session_id)
        state.save(self.workdir)
        how = "continuing session" if continuing else "session"
        self._notice(f"phase {phase.number}/{len(PHASES)}: {phase.title} ({how} {session_id})")

    def _finish_phase(self, phase: Phase) -> None:
        state = self._state
        ps = state.phases[phase.name]
        ps.status, ps.stop_reason, ps.message, ps.problems = "done", "done", None, []
        if phase.name == "claims":
            # The paper's numbers as phase 1 fixed them; the report flags later edits.
            shutil.copyfile(self.workdir / CLAIMS, self.workdir / STATE_DIR / LOCKED_CLAIMS)
        state.save(self.workdir)
        self._notice(f"phase {phase.number} ({phase.title}) done: {', '.join(phase.artefacts)}")

    def _fail(self, phase: Phase, reason: str, message: str) -> Result:
        state = self._state
        ps = state.phases[phase.name]
        ps.status, ps.stop_reason, ps.message = "failed", reason, message
        state.save(self.workdir)
        report = self._report()  # what there is so far, and what is missing
        more = " with a larger --max-time, --max-cost or --max-tokens" if reason in _BUDGET_STOPS else ""
        hint = f"; to go on: agentcli reproduce --resume {state.id}{more}"
        return self._result(reason, message + hint, report)

    def _report(self) -> Report:
        """REPORT.md, committed beside phase 3's work when that has checkpoints."""
        # No re-run here: phase 3's done was accepted only after one, and a stopped phase's
        # report says which values no re-run backs.
        report = build(self.workdir)
        if self.checkpoints is not None:
            try:
                self.checkpoints.commit(f"agentcli reproduce: REPORT.md: {report.summary()}")
            except GitError as err:
                self.emit("notice", text=f"could not commit REPORT.md: {err}", level="warning")
        return report

    def _result(self, reason: str, message: str, report: Report) -> Result:
        return Result(self._state, self.workdir, reason, message, report, self._used(), self.run_summary)

    # -- sessions -----------------------------------------------------------------------------

    def _equip(self, session: Host, phase: Phase) -> None:
        """The phase's tools beside the session's own, and `.reproduce/` out of the agent's
        reach (it may read agentcli's state, e.g. the phase-1 claims, but not rewrite it)."""
        from agentcli.reproduce.tools import TOOLS

        session.add_tools({name: TOOLS[name] for name in phase.tools})
        session.protect(Path(os.path.realpath(self.workdir / STATE_DIR)))

    def _archive(self, session_id: str) -> Path:
        from agentcli.library import Library

        library = Library.for_workspace(self.settings.workspace, self.settings.library_dir)
        return library.session_dir(session_id) / ARCHIVE_NAME

    def _continuable(self, phase: Phase) -> str | None:
        """The session an interrupted or stopped phase goes on in: its last, if still on disk."""
        ps = self._state.phases[phase.name]
        if ps.status not in ("running", "failed") or not ps.sessions:
            return None
        sid = ps.sessions[-1]
        if self._archive(sid).is_file():
            return sid
        self._notice(f"the session of phase {phase.number} ({sid}) is gone from the library; "
                     "starting a new one that looks at the files")
        return None

    def _declared_done(self, session_id: str) -> bool:
        """Whether phase 3's run in `session_id` ended with done accepted (and not resumed since)."""
        done = False
        for event in read_events(self._archive(session_id)):
            if event.get("type") == "unattended_resume":
                done = False
            elif event.get("type") == "finish" and event.get("accepted"):
                done = event.get("status") == "done"
        return done

    # -- budgets ------------------------------------------------------------------------------

    def _limits(self) -> Limits:
        return Limits.from_dict(self._state.options.get("limits"))

    def _max_turns(self) -> int | None:
        return self._state.options.get("max_turns")

    def _used(self, exclude: str | None = None, phases: tuple[str, ...] | None = None) -> Used:
        """What the reproduction's sessions used (of `phases`, all by default), without `exclude`."""
        return budget.total(budget.session_used(self._archive(sid))
                            for name, ps in self._state.phases.items() if phases is None or name in phases
                            for sid in ps.sessions if sid != exclude)

    def _build_limits(self, phase: Phase) -> Limits:
        """Phase 3's budgets: what phases 1 and 2 left. Its turn limit is --max-turns; with no
        budget at all, the phase's default keeps a run from going on forever."""
        total = self._limits()
        left = budget.left(total, self._used(phases=("claims", "plan")))
        any_budget = total.time_s or total.cost_usd or total.tokens
        return replace(left, turns=self._max_turns() or (None if any_budget else phase.default_max_turns))

    # -- prompts ------------------------------------------------------------------------------

    def _prompt(self, phase: Phase, restart: bool = False) -> str:
        pages = "Each page of the PDF starts with a `## Page N` line." if _has_pages(self.workdir) \
            else "It has no page markers, so the whole paper is page 1: cite `\"page\": 1`."
        values = {"source": Path(self._state.paper).name, "pages_note": pages,
                  "claims_schema": json.dumps(json.loads(schema_path("claims").read_text()), indent=2)}
        task = Template(prompt(phase.prompt)).safe_substitute(values)
        return prompt("reproduce/restart.md").strip() + "\n\n" + task if restart else task

    def _resume_prompt(self, phase: Phase, status: str, stop_reason: str | None) -> str:
        why = (f"it had stopped: {stop_reason}" if status == "failed" and stop_reason
               else "the process ended before the phase did: killed or crashed")
        problems = phase.problems(self.workdir)
        return Template(prompt("reproduce/resume.md")).safe_substitute(
            number=phase.number, phase=phase.title, reason=why, problems=_listing(problems))

    def _notice(self, text: str) -> None:
        self.emit("notice", text=text, level="info")

    @property
    def _state(self) -> State:
        assert self.state is not None, "start() or resume() first"
        return self.state


def _listing(problems: list[str]) -> str:
    return "\n".join(f"- {p}" for p in problems) or "- (nothing found missing: check and confirm)"


def _has_pages(workdir: Path) -> bool:
    from agentcli.reproduce import PAPER_MD
    from agentcli.reproduce.paper import PAGE_MARKER

    try:
        return PAGE_MARKER.search((workdir / PAPER_MD).read_text(encoding="utf-8")) is not None
    except OSError:
        return False
