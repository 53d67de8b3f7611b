"""Starting and resuming unattended runs: the git worktree first, then the session, then the run.

Front ends call `start` (a new run) or `resume` (after a crash, a kill or a spent budget); both
return the session and the run, whose `execute(message)` drives it to its end.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any, Sequence

from agentcli.approval import Approval
from agentcli.config import Settings
from agentcli.events import Emitter
from agentcli.library import Library
from agentcli.library.archive import ARCHIVE_NAME, read_events

# The run's machinery is imported where a run starts or resumes: every `agentcli run` imports
# this module (for StartError), and a plain run needs none of it.
if TYPE_CHECKING:
    from agentcli.unattended.budgets import Limits
    from agentcli.unattended.checks import Criterion
    from agentcli.unattended.run import RunOptions


class StartError(Exception):
    """The run could not start; the message is one line for people."""


def criteria_for(options: RunOptions, prompt_checks: list[str]) -> list[str]:
    """The success criteria the harness knows of, as ledger lines."""
    lines = [f"`{c}` exits 0 (--check; the harness runs it before accepting done)" for c in options.checks]
    lines += [f"`{c}` passes (named in the task; the harness runs it before accepting done)"
              for c in prompt_checks if c not in options.checks]
    return lines


def start(settings: Settings, emit: Emitter, goal: str, options: RunOptions, *,
          approval: Approval | None = None, criteria: Sequence[Criterion] = (),
          in_place: bool = False, resume_command: str | None = None):
    """A new unattended session for `goal`: (session, run). Raises StartError, or ModelError when
    no model can be built (the worktree made for it is removed again). `criteria`: success
    criteria the caller checks itself before done is accepted. `in_place`: with --checkpoint git,
    commit in the workspace's own repository (it must be the top of one) instead of a worktree.
    `resume_command`: how a person goes on with this run, when not `agentcli run --resume`."""
    from agentcli.policy import OpenEnded
    from agentcli.session import Session
    from agentcli.unattended.checks import checks_in_prompt
    from agentcli.unattended.gitwork import Checkpoints, GitError
    from agentcli.unattended.run import UnattendedRun

    library = Library.for_workspace(settings.workspace, settings.library_dir)
    session_id = library.new_session_id()
    checkpoints = None
    if options.checkpoint == "git":
        try:
            checkpoints = Checkpoints.here(settings.workspace) if in_place else \
                Checkpoints.create(settings.workspace, session_id)
        except GitError as err:
            raise StartError(str(err)) from None
        settings = replace(settings, workspace=checkpoints.workspace, library_dir=library.root)
    try:
        session = Session.create(settings, emit, approval=approval, policy=OpenEnded(),
                                 session_id=session_id)
    except BaseException:
        if checkpoints is not None:
            checkpoints.discard()
        raise
    run = UnattendedRun(session, checkpoints)
    run.criteria = list(criteria)
    if resume_command:
        run.resume_command = resume_command
    prompt_checks = checks_in_prompt(goal)
    all_checks = list(dict.fromkeys(options.checks + prompt_checks))
    lines = criteria_for(options, prompt_checks)
    lines += [f"{c.name} (the harness checks it before accepting done)" for c in criteria]
    run.begin(goal, replace(options, checks=all_checks), lines)
    if checkpoints is not None:
        emit("notice", level="info", text=f"working on branch {checkpoints.branch} in {checkpoints.worktree}")
    return session, run


def recorded_start(settings: Settings, session_id: str) -> tuple[str, dict[str, Any]] | None:
    """(full session id, its `unattended_start` event), or None when that session is not an
    unattended run. Raises LibraryError (an ArchiveError) when no session matches."""
    library = Library.for_workspace(settings.workspace, settings.library_dir)
    full = library.resolve_session(session_id)
    for event in read_events(library.session_dir(full) / ARCHIVE_NAME):
        if event.get("type") == "unattended_start":
            return full, event
    return None


def resume(settings: Settings, emit: Emitter, session_id: str, *, limits: Limits | None = None,
           approval: Approval | None = None, reason: str | None = None,
           criteria: Sequence[Criterion] = ()):
    """Reopen an unattended session where it stopped: (session, run, message to continue with).
    Same goal, budgets (raised where `limits` sets new ones), ledger, branch and worktree; the
    caller's `criteria` again, as at the start."""
    from agentcli.policy import OpenEnded
    from agentcli.session import Session
    from agentcli.unattended.gitwork import Checkpoints, GitError
    from agentcli.unattended.run import UnattendedRun

    found = recorded_start(settings, session_id)
    if found is None:
        raise StartError(f"session {session_id} is not an unattended run")
    full, start_event = found
    library = Library.for_workspace(settings.workspace, settings.library_dir)
    checkpoints = None
    recorded = start_event.get("checkpoint")
    if recorded:
        checkpoints = Checkpoints.from_dict(recorded)
        try:
            checkpoints.ensure()
        except GitError as err:
            raise StartError(f"cannot restore the run's worktree: {err}") from None
        settings = replace(settings, workspace=checkpoints.workspace, library_dir=library.root)
    session = Session.resume(settings, full, emit, approval=approval, policy=OpenEnded())
    run = UnattendedRun(session, checkpoints)
    run.criteria = list(criteria)
    message = run.resume(limits, reason)
    return session, run, message
