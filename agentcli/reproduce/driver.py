"""The phase driver: each phase runs as its own agent session in the workdir, and its artefacts
are checked before the next phase starts.

A phase's session gets the phase prompt as its task and the core tools plus the phase's checks.
When the model answers, the driver checks the artefacts; problems go back to the same session
(up to `max_rounds` times) before the phase counts as failed. State is saved after every step,
so `--resume` goes on from the first phase that is not done.

Phase 3 runs under the same plain Session/Policy API as the others for now: its budget is a
turn limit per session. When the overnight runs' unattended policy lands, it plugs in at
`_policy` (budgets, ledger, checkpoints).
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
from agentcli.reproduce import CLAIMS, STATE_DIR
from agentcli.reproduce.checks import schema_path
from agentcli.reproduce.paper import extract
from agentcli.reproduce.phases import PHASES, Phase
from agentcli.reproduce.report import LOCKED_CLAIMS, Report, build
from agentcli.reproduce.state import State
from agentcli.resources import prompt

if TYPE_CHECKING:
    from agentcli.config import Settings
    from agentcli.session import Session

MAX_ROUNDS = 3


@dataclass
class Result:
    """How a reproduction run ended. stop_reason: done, or the failing phase's reason
    (unfinished, max_turns, error, interrupted, ...)."""

    state: State
    workdir: Path
    stop_reason: str
    message: str
    report: Report | None = None

    @property
    def ok(self) -> bool:
        return self.stop_reason == "done"

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.state.id, "workdir": str(self.workdir), "stop_reason": self.stop_reason,
                "is_error": not self.ok, "message": self.message, "phases": self.state.summary(),
                "report": self.report.to_dict() if self.report else None}


class Driver:
    """Runs the phases of one reproduction in `workdir` with the given settings."""

    def __init__(self, settings: Settings, workdir: Path, emit: Emitter | None = None, *,
                 max_rounds: int = MAX_ROUNDS):
        self.settings = replace(settings, workspace=workdir)
        self.workdir = workdir
        self.emit = emit or Emitter()
        self.max_rounds = max_rounds
        self.state: State | None = None

    # -- entry points -------------------------------------------------------------------------

    def start(self, paper: Path) -> Result:
        """A new reproduction of `paper`: PAPER.md, then the three phases."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        extracted = extract(paper, self.workdir)
        self.state = State.new(paper.resolve(), self.workdir)
        self.state.save(self.workdir)
        pages = f"{extracted.pages} pages" if extracted.pages else "no page markers"
        self._notice(f"reproduction {self.state.id} in {self.workdir}: PAPER.md written ({pages})")
        return self._run()

    def resume(self) -> Result:
        """Go on from the first phase whose artefacts are not (or no longer) complete."""
        self.state = State.load(self.workdir)
        self._notice(f"resuming reproduction {self.state.id} in {self.workdir}")
        return self._run(resuming=True)

    # -- the phases ---------------------------------------------------------------------------

    def _run(self, resuming: bool = False) -> Result:
        state = self.state
        assert state is not None
        for phase in PHASES:
            ps = state.phases[phase.name]
            problems = phase.problems(self.workdir)
            if ps.status == "done" and not problems:
                continue
            if not problems and resuming:
                # Killed after the artefacts were written but before they were recorded.
                self._finish_phase(phase)
                continue
            interrupted = resuming and ps.status in ("running", "failed")
            outcome = self._run_phase(phase, interrupted)
            if outcome is not None:
                return outcome
        report = build(self.workdir)
        self._notice(f"REPORT.md written: {report.summary()}")
        return Result(state, self.workdir, "done", report.summary(), report)

    def _run_phase(self, phase: Phase, interrupted: bool) -> Result | None:
        """Run one phase to completion; a Result when it stopped short, else None."""
        state = self.state
        assert state is not None
        ps = state.phases[phase.name]
        session = self._session(phase)
        ps.status, ps.stop_reason, ps.problems = "running", None, []
        ps.sessions.append(session.id)
        state.save(self.workdir)
        self._notice(f"phase {phase.number}/{len(PHASES)}: {phase.title} (session {session.id})")
        task = self._prompt(phase)
        if interrupted:
            task = prompt("reproduce/resume.md").strip() + "\n\n" + task
        outcome = session.run(task)
        rounds = 0
        while True:
            if outcome.is_error:
                return self._fail(phase, outcome.stop_reason,
                                  f"phase {phase.number} ({phase.title}) stopped: {outcome.result}")
            problems = phase.problems(self.workdir)
            if not problems:
                self._finish_phase(phase)
                return None
            if rounds >= self.max_rounds:
                ps.problems = problems
                return self._fail(phase, "unfinished",
                                  f"phase {phase.number} ({phase.title}) did not leave valid artefacts "
                                  f"after {rounds} correction round(s): {problems[0]}")
            rounds += 1
            ps.rounds += 1
            state.save(self.workdir)
            self._notice(f"phase {phase.number} not finished ({len(problems)} problem(s)); "
                         "sending them back to the model")
            listing = "\n".join(f"- {p}" for p in problems)
            outcome = session.run(Template(prompt("reproduce/continue.md")).safe_substitute(
                number=phase.number, phase=phase.title, problems=listing))

    def _finish_phase(self, phase: Phase) -> None:
        state = self.state
        assert state is not None
        ps = state.phases[phase.name]
        ps.status, ps.stop_reason, ps.problems = "done", "done", []
        if phase.name == "claims":
            # The paper's numbers as phase 1 fixed them; the report flags later edits.
            shutil.copyfile(self.workdir / CLAIMS, self.workdir / STATE_DIR / LOCKED_CLAIMS)
        state.save(self.workdir)
        self._notice(f"phase {phase.number} ({phase.title}) done: {', '.join(phase.artefacts)}")

    def _fail(self, phase: Phase, reason: str, message: str) -> Result:
        state = self.state
        assert state is not None
        ps = state.phases[phase.name]
        ps.status, ps.stop_reason = "failed", reason
        state.save(self.workdir)
        report = build(self.workdir)  # what there is so far, and what is missing
        hint = f"; fix it and run: agentcli reproduce --resume {state.id}"
        return Result(state, self.workdir, reason, message + hint, report)

    # -- sessions -----------------------------------------------------------------------------

    def _session(self, phase: Phase) -> Session:
        from agentcli.session import Session
        from agentcli.tools import CORE_TOOLS, ToolBox

        session = Session.create(self.settings, self.emit, policy=self._policy(phase))
        session.toolbox = ToolBox(CORE_TOOLS + list(phase.tools), session.tool_ctx)
        # The agent may read agentcli's state but not rewrite it (e.g. the phase-1 claims).
        session.workspace.protected.append(Path(os.path.realpath(self.workdir / STATE_DIR)))
        return session

    def _policy(self, phase: Phase):
        """Every phase: the plain policy with a per-session turn limit (see the module doc)."""
        from agentcli.policy import Policy

        return Policy(self.settings.max_turns or phase.default_max_turns)

    def _prompt(self, phase: Phase) -> str:
        state = self.state
        assert state is not None
        pages = "Each page of the PDF starts with a `## Page N` line." if _has_pages(self.workdir) \
            else "It has no page markers; cite sections instead of pages."
        budget = ""
        if self.settings.max_turns or phase.default_max_turns:
            turns = self.settings.max_turns or phase.default_max_turns
            budget = (f"- You have at most {turns} turns in this session: write results.json early "
                      "and update it as runs finish.\n")
        values = {"source": Path(state.paper).name, "pages_note": pages, "budget_note": budget,
                  "claims_schema": json.dumps(json.loads(schema_path("claims").read_text()), indent=2)}
        return Template(prompt(phase.prompt)).safe_substitute(values)

    def _notice(self, text: str) -> None:
        self.emit("notice", text=text, level="info")


def _has_pages(workdir: Path) -> bool:
    from agentcli.reproduce import PAPER_MD
    from agentcli.reproduce.paper import PAGE_MARKER

    try:
        return PAGE_MARKER.search((workdir / PAPER_MD).read_text(encoding="utf-8")) is not None
    except OSError:
        return False
