"""Success criteria the harness can verify: commands that must exit 0 before "done" is accepted.

They come from `--check CMD` and from test commands the user wrote in backticks in the task
("make `pytest tests/test_api.py` pass"). The harness runs them itself, so "done" rests on
evidence it saw, not on what the model says. A front end that knows its own criteria (e.g.
`agentcli reproduce`: results.json covers every claim) supplies them as `Criterion`s.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any, Callable

from agentcli.callsig import short
from agentcli.tools import shell
from agentcli.tools.context import ToolContext, ToolError, approve_all
from agentcli.unattended.observe import is_test_command, summarize_tests

CHECK_TIMEOUT = 1800
_FENCE = re.compile(r"```[^\n]*\n(.*?)```", re.DOTALL)
_TICKS = re.compile(r"`([^`\n]+)`")


def checks_in_prompt(prompt: str) -> list[str]:
    """Test commands the task names in backticks or code fences, in order, without repeats."""
    found: list[str] = []
    for block in _FENCE.findall(prompt):
        for line in block.splitlines():
            line = line.strip().lstrip("$ ").strip()
            if line and is_test_command(line):
                found.append(line)
    for span in _TICKS.findall(_FENCE.sub("", prompt)):
        span = span.strip().lstrip("$ ").strip()
        if span and is_test_command(span):
            found.append(span)
    return list(dict.fromkeys(found))


@dataclass
class CheckResult:
    command: str
    exit_code: int | None
    passed: bool
    summary: str
    output: str
    elapsed_s: float

    def to_event(self) -> dict[str, Any]:
        return {"command": self.command, "exit_code": self.exit_code, "passed": self.passed,
                "summary": self.summary, "elapsed_s": self.elapsed_s}


def run_check(command: str, ctx: ToolContext) -> CheckResult:
    """Run one check in the workspace (the user's own command: no approval asked), bounded by
    the run's deadline."""
    started = time.monotonic()
    # No library: a check's output is no tool result of the archive, so a long one is capped
    # inline rather than spilled under an event id that is not its own.
    own = ToolContext(ctx.workspace, approve=approve_all, deadline=ctx.deadline, lean=ctx.lean,
                      library=None, services=ctx.services)
    try:
        result = shell.run({"command": command, "timeout": CHECK_TIMEOUT}, own)
    except ToolError as exc:
        return CheckResult(command, None, False, str(exc), str(exc), 0.0)
    code = result.meta.get("exit_code")
    passed = code == 0 and not result.meta.get("timed_out")
    summary = summarize_tests(result.content) or ("timed out" if result.meta.get("timed_out")
                                               else f"exit {code}")
    return CheckResult(command, code, passed, short(summary, 160), result.content,
                       round(time.monotonic() - started, 2))


@dataclass(frozen=True)
class Criterion:
    """A success criterion checked in Python by the front end that started the run: `problems()`
    returns what is still wrong, [] when it holds. `name` is how the ledger and report show it."""

    name: str
    problems: Callable[[], list[str]]


def run_criterion(criterion: Criterion) -> CheckResult:
    """Check one criterion; a criterion that raises counts as failed, with the error as output."""
    started = time.monotonic()
    try:
        problems = [str(p) for p in criterion.problems()]
    except Exception as exc:  # a broken check must refuse done, not end the run
        problems = [f"the check itself failed: {type(exc).__name__}: {exc}"]
    summary = "holds" if not problems else f"{len(problems)} problem(s): {problems[0]}"
    return CheckResult(criterion.name, None, not problems, short(summary, 160),
                       "\n".join(f"- {p}" for p in problems), round(time.monotonic() - started, 2))
