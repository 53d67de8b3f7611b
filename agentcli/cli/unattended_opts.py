"""`agentcli run` flags for unattended runs, and turning them into RunOptions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import typer
from typing_extensions import Annotated

from agentcli.cli.options import fail

MaxTime = Annotated[Optional[str], typer.Option(
    "--max-time", help="Stop after this much working time, e.g. 90s, 30m, 8h (kept across resumes).")]
MaxCost = Annotated[Optional[str], typer.Option(
    "--max-cost", help="Stop once the model calls cost this many US dollars.")]
MaxTokens = Annotated[Optional[str], typer.Option(
    "--max-tokens", help="Stop once this many tokens went to and from the model, e.g. 500k, 2M.")]
Checkpoint = Annotated[Optional[str], typer.Option(
    "--checkpoint", help="git: work on a branch and worktree of the run's own, committing at "
                         "milestones and budget marks. Your branch and files are not touched.")]
Check = Annotated[Optional[list[str]], typer.Option(
    "--check", help="A command that must exit 0 before the run may end as done (repeatable).")]
StallTurns = Annotated[int, typer.Option(
    "--stall-turns", help="Turns without a file change or anything new before a nudge (then a stop).",
    min=1)]
Unattended = Annotated[bool, typer.Option(
    "--unattended", help="Keep going until the task is declared done or blocked. Implied by "
                         "--max-time, --max-cost, --max-tokens, --checkpoint and --check.")]




@dataclass(frozen=True)
class BudgetOptions:
    """The budget and check options of `run` and `reproduce` (an option group: see
    `options.shared_options`)."""

    max_time: MaxTime = None
    max_cost: MaxCost = None
    max_tokens: MaxTokens = None
    check: Check = None


def build(budget: BudgetOptions, *, checkpoint: str | None, stall_turns: int, unattended: bool,
          max_turns: int | None, defaults: dict | None = None):
    """RunOptions when any unattended flag is given, else None. Bad values fail in one line.
    `defaults` are the config files' budgets, for an unattended run whose flags name none."""
    max_time, max_cost, max_tokens, check = (budget.max_time, budget.max_cost, budget.max_tokens,
                                             budget.check)
    if not (unattended or max_time or max_cost or max_tokens or checkpoint or check):
        return None
    defaults = defaults or {}
    max_time = max_time or _text(defaults.get("max_time"))
    max_cost = max_cost or _text(defaults.get("max_cost"))
    max_tokens = max_tokens or _text(defaults.get("max_tokens"))
    from agentcli.unattended.budgets import BudgetError, Limits, parse_cost, parse_duration, parse_tokens
    from agentcli.unattended.run import RunOptions

    try:
        limits = Limits(time_s=parse_duration(max_time) if max_time else None,
                        cost_usd=parse_cost(max_cost) if max_cost else None,
                        tokens=parse_tokens(max_tokens) if max_tokens else None,
                        turns=max_turns)
    except BudgetError as err:
        fail(str(err))
    if checkpoint is not None and checkpoint != "git":
        fail(f"--checkpoint must be 'git', not {checkpoint!r}")
    checks = [c.strip() for c in check or []]
    if any(not c for c in checks):
        fail("--check needs a command")
    return RunOptions(limits=limits, checks=checks, checkpoint=checkpoint, stall_turns=stall_turns)


def _text(value) -> str | None:  # type: ignore[no-untyped-def]
    return None if value is None else str(value)


def open_run(settings, emitter, prompt: str | None, run_options, resume: str | None,
             max_turns: int | None = None):
    """(session, unattended run or None, the message to run with), for a new run or `--resume`.
    Resuming an unattended session continues that run: same goal, budgets (raised by any budget
    flag given), ledger and branch. Raises StartError, ModelError or ArchiveError (one line)."""
    from agentcli.policy import Policy
    from agentcli.session import Session
    from agentcli.unattended import start as unattended

    prompt = prompt if prompt and prompt.strip() else None
    if resume:
        found = unattended.recorded_start(settings, resume)
        if found is not None:
            owner = found[1].get("resume_command") or ""
            if owner and not owner.startswith("agentcli run "):  # e.g. phase 3 of a reproduction
                raise unattended.StartError(f"session {found[0]} is part of another command's work; "
                                            f"go on with: {owner}")
            limits = run_options.limits if run_options is not None else None
            if limits is None and max_turns is not None:
                from agentcli.unattended.budgets import Limits

                limits = Limits(turns=max_turns)
            session, run, message = unattended.resume(settings, emitter, found[0], limits=limits)
            if prompt:
                message += f"\n\nThe person who started the run adds:\n{prompt}"
            return session, run, message
        if run_options is not None:
            raise unattended.StartError(f"session {resume} is not an unattended run; resume it "
                                        "without budget flags, or start a new run")
        session = Session.resume(settings, resume, emitter, policy=Policy.headless(max_turns))
        if prompt is None and not session.unfinished():
            session.close()
            raise unattended.StartError("the prompt is empty (the session ended with an answer: "
                                        "say what to do next)")
        return session, None, prompt  # None: go on with the task where it stopped
    if run_options is not None:
        session, run = unattended.start(settings, emitter, prompt or "", run_options)
        return session, run, prompt or ""
    # A plain run has a turn limit even without --max-turns: nobody may be watching it.
    return Session.create(settings, emitter, policy=Policy.headless(max_turns)), None, prompt or ""
