"""Phase 3 (build and run) as an unattended run: the overnight machinery of `agentcli run` with
the reproduction's own success criteria.

The run keeps going until the model calls `finish`: answers without it are continued with the
ledger and what is left of the budgets. `finish` with status done is accepted only when
results.json is valid and covers every claim (a value, or null with a reason), DEVIATIONS.md is
written, and agentcli's own re-run of each command of results.json printed the value reported
(`verify.py`); otherwise the model is told what is still wrong. Budgets, stall detection,
PROGRESS.md, the run's REPORT.md and `--checkpoint git` come from `agentcli.unattended`.

With `--checkpoint git` the commits go on the workdir's own repository (made with `git init`
when the workdir is not the top of one), on the branch it has checked out: the reproduction is
one folder with its history, not a worktree elsewhere.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentcli.reproduce import DEVIATIONS, RESULTS, STATE_DIR, verify
from agentcli.reproduce.phases import build_problems
from agentcli.unattended.checks import Criterion
from agentcli.unattended.gitwork import GitError, git, repo_root
from agentcli.unattended.run import RunOptions

if TYPE_CHECKING:
    from agentcli.config import Settings
    from agentcli.events import Emitter
    from agentcli.session import Session
    from agentcli.unattended.budgets import Limits
    from agentcli.unattended.run import UnattendedRun

CRITERION = f"{RESULTS} covers every claim and {DEVIATIONS} is written"
RERUN = f"agentcli's own re-run of each command of {RESULTS} prints the value reported"
# Kept out of the reproduction's commits: agentcli's own session library and bookkeeping.
_EXCLUDE = ("/.agentcli/", f"/{STATE_DIR}/state.json", f"/{STATE_DIR}/state.json.tmp", "__pycache__/")


def criteria(workdir: Path, timeout: float | None = None,
             session: dict[str, Session] | None = None) -> list[Criterion]:
    """The phase's success criteria, checked by the harness before `finish` done is accepted:
    the files, then (only when they are right: a re-run can take long) agentcli's re-run, inside
    the sandbox of `session["run"]` when it has one, as the agent's own commands were."""
    def rerun() -> list[str]:
        if build_problems(workdir):
            return [f"agentcli re-runs the commands once {CRITERION}"]
        wrap = _sandboxed((session or {}).get("run"))
        return verify.problems(workdir, timeout or verify.DEFAULT_TIMEOUT, wrap)

    return [Criterion(CRITERION, lambda: build_problems(workdir)), Criterion(RERUN, rerun)]


def _sandboxed(session: Session | None):
    box = session.tool_ctx.services.get("sandbox") if session is not None else None
    return None if box is None else (lambda argv: box.wrap(argv, session.workspace))


def goal(paper: str) -> str:
    """The run's goal as the ledger and its report show it (the full instructions are the first
    message)."""
    return (f"Reproduce {Path(paper).name}, phase 3 of 3 (build and run): implement what PLAN.md "
            f"lists, run it, and write {RESULTS} and {DEVIATIONS}.")


def own_repository(workdir: Path) -> None:
    """Make `workdir` the top of a git repository of its own (unless it already is), with
    agentcli's bookkeeping excluded. Raises GitError."""
    workdir = workdir.resolve()
    root = repo_root(workdir)
    if root is None or root.resolve() != workdir:
        git(["init", "-q"], workdir)
    exclude = Path(git(["rev-parse", "--git-path", "info/exclude"], workdir).strip())
    exclude = exclude if exclude.is_absolute() else workdir / exclude
    try:
        existing = exclude.read_text(encoding="utf-8") if exclude.exists() else ""
        missing = [line for line in _EXCLUDE if line not in existing.splitlines()]
        if missing:
            exclude.parent.mkdir(parents=True, exist_ok=True)
            sep = "" if not existing or existing.endswith("\n") else "\n"
            exclude.write_text(existing + sep + "\n".join(missing) + "\n", encoding="utf-8")
    except OSError as err:
        raise GitError(f"cannot write {exclude}: {err.strerror or err}") from None


def start(settings: Settings, emit: Emitter, workdir: Path, paper: str, options: dict[str, Any],
          limits: Limits, resume_command: str) -> tuple[Session, UnattendedRun]:
    """A new unattended run for phase 3 in `workdir`. Raises StartError or ModelError."""
    from agentcli.unattended import start as unattended

    checkpoint = options.get("checkpoint")
    if checkpoint == "git":
        try:
            own_repository(workdir)
        except GitError as err:
            raise unattended.StartError(f"--checkpoint git: {err}") from None
    run_options = RunOptions(limits=limits, checks=list(options.get("checks") or []),
                             checkpoint=checkpoint, stall_turns=int(options.get("stall_turns") or 6))
    holder: dict[str, Session] = {}
    session, run = unattended.start(settings, emit, goal(paper), run_options,
                                    criteria=criteria(workdir, options.get("verify_timeout"), holder),
                                    in_place=True, resume_command=resume_command)
    holder["run"] = session
    return session, run


def resume(settings: Settings, emit: Emitter, workdir: Path, session_id: str,
           limits: Limits, timeout: float | None = None) -> tuple[Session, UnattendedRun, str] | None:
    """Continue phase 3's run in session `session_id`: (session, run, message), or None when that
    session is not an unattended run (it cannot be continued as one). Raises StartError,
    ArchiveError or ModelError."""
    from agentcli.unattended import start as unattended

    found = unattended.recorded_start(settings, session_id)
    if found is None:
        return None
    holder: dict[str, Session] = {}
    opened = unattended.resume(settings, emit, found[0], limits=limits,
                               criteria=criteria(workdir, timeout, holder))
    holder["run"] = opened[0]
    return opened
