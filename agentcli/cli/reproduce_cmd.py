"""`agentcli reproduce PAPER`, `agentcli reproduce report [DIR]`, `agentcli reproduce --resume ID`.

One command with two forms, because `report` is a verb and PAPER a file: a paper literally named
`report` is passed as `./report`. Progress goes to stderr; the outcome (the report's summary, or
JSON) to stdout.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from dataclasses import replace
from pathlib import Path
from typing import Optional

import typer
from typing_extensions import Annotated

from agentcli.cli import options as opt
from agentcli.cli import unattended_opts as uopt
from agentcli.cli.run_cmd import exit_code

FORMATS = ("text", "json")
EXIT_FAILED = 1
# Files that mark a folder as holding a reproduction already.
_OCCUPIED = ("PAPER.md", "claims.json", "PLAN.md", "results.json")
# The workdir is the workspace, and no shell runs outside it: no -C, --add-dir, --sandbox, MCP.
_SESSION_OPTIONS = opt.offering("model", "base_url", "fallback", "context_window", "approval", "library")


@opt.shared_options
def reproduce(
    target: Annotated[Optional[str], typer.Argument(
        metavar="PAPER | report", show_default=False,
        help="The paper to reproduce (.pdf, .md or .txt), or 'report' to write REPORT.md.")] = None,
    folder: Annotated[Optional[Path], typer.Argument(
        metavar="[DIR]", show_default=False,
        help="With 'report': the reproduction's folder (default: the current one).")] = None,
    workdir: Annotated[Optional[Path], typer.Option(
        "--workdir", "-w", help="Folder for the reproduction. Default: ./reproduce-<paper name>.")] = None,
    resume: Annotated[Optional[str], typer.Option(
        "--resume", help="Go on with a reproduction: its id, a session id of it, or its folder.")] = None,
    session: opt.SessionOptions = _SESSION_OPTIONS,
    max_turns: Annotated[Optional[int], typer.Option(
        "--max-turns", min=1,
        help="Turn limit of each phase (default: 60 claims, 40 plan; build: 300 unless a budget "
             "is set).")] = None,
    max_rounds: Annotated[int, typer.Option(
        "--max-rounds", min=0,
        help="Times the problems of phase 1 or 2 go back to the model before it fails.")] = 3,
    budget: uopt.BudgetOptions = opt.ALL,
    checkpoint: Annotated[Optional[str], typer.Option(  # not uopt.Checkpoint: no worktree here
        "--checkpoint", help="git: commit phase 3's work at milestones and budget marks, in the "
                             "workdir's own git repository (made with git init if needed).")] = None,
    stall_turns: uopt.StallTurns = None,  # type: ignore[assignment]  # None: as started (6)
    no_figure: Annotated[bool, typer.Option("--no-figure", help="report: skip the PNG figure.")] = False,
    force: Annotated[bool, typer.Option(
        "--force", help="report: write REPORT.md even over one agentcli did not write.")] = False,
    verify: Annotated[bool, typer.Option(
        "--verify", help="report: re-run each command of results.json first (logs under "
                         "runs/agentcli/, environment.json).")] = False,
    verify_timeout: Annotated[Optional[str], typer.Option(
        "--verify-timeout", help="Time limit of each command agentcli re-runs, e.g. 90s, 30m, 2h "
                                 "(default 1h).")] = None,
    output_format: Annotated[str, typer.Option("--output-format", help="text | json")] = "text",
) -> None:
    """Reproduce a paper in three checked phases (claims, plan, build and run), then write
    REPORT.md with the paper's numbers beside the reproduced ones. Phase 3 runs unattended until
    done; --max-time, --max-cost and --max-tokens bound the whole reproduction."""
    if output_format not in FORMATS:
        opt.fail(f"--output-format must be one of {', '.join(FORMATS)}, not {output_format!r}")
    run_options = uopt.build(budget, checkpoint=checkpoint, stall_turns=stall_turns or 6,
                             unattended=True, max_turns=None)
    if run_options.checkpoint == "git" and shutil.which("git") is None:
        opt.fail("--checkpoint git needs git, and it is not installed")
    timeout = _timeout(verify_timeout)
    options = {"limits": run_options.limits.to_dict(), "checkpoint": run_options.checkpoint,
               "checks": run_options.checks, "stall_turns": stall_turns, "verify_timeout": timeout}
    if target == "report":
        if resume:
            opt.fail("--resume does not go with 'report'")
        _report(folder or workdir or Path.cwd(), output_format, figure=not no_figure, force=force,
                rerun=verify, timeout=timeout)
        return
    if verify:
        opt.fail("--verify goes with 'report' (phase 3 always re-runs the commands before done)")
    if folder is not None:
        opt.fail(f"unexpected argument {str(folder)!r} (only 'report' takes a folder)")
    work, paper, created = _workdir(target, workdir, resume)
    settings = replace(session, directory=work).settings(default_approval="auto", headless=True,
                                                         max_turns=max_turns)
    try:
        _drive(settings, work, paper, output_format, max_rounds, options)
    finally:
        if paper is not None and created and work.is_dir() and not any(work.iterdir()):
            work.rmdir()  # the paper could not be read: leave no empty folder behind


def _workdir(target: str | None, workdir: Path | None, resume: str | None) -> tuple[Path, Path | None, bool]:
    """(the reproduction's folder, the paper for a new one, whether the folder was made now)."""
    if resume and target:
        opt.fail("give either a paper or --resume ID, not both")
    if not resume and not target:
        opt.fail("give a paper (.pdf, .md or .txt), 'report [DIR]', or --resume ID")

    from agentcli.reproduce.state import StateError, find, is_reproduction

    paper: Path | None = None
    created = False
    if resume:
        search = [p for p in [workdir, Path.cwd()] if p is not None]
        try:
            work = find(resume, search)
        except StateError as err:
            opt.fail(str(err), EXIT_FAILED)
    else:
        paper = Path(target).expanduser()
        if not paper.is_file():
            opt.fail(f"no such paper: {target}")
        work = (workdir or Path.cwd() / f"reproduce-{_slug(paper.stem)}").expanduser().resolve()
        if is_reproduction(work):
            opt.fail(f"{work} already holds a reproduction; go on with it: "
                     f"agentcli reproduce --resume {work}")
        taken = [n for n in _OCCUPIED if (work / n).exists()]
        if taken:
            opt.fail(f"{work} already has {', '.join(taken)}; choose another --workdir")
        if work.exists() and not work.is_dir():
            opt.fail(f"--workdir {work} is a file")
        created = not work.exists()
        work.mkdir(parents=True, exist_ok=True)
    return work, paper, created


def _drive(settings, work: Path, paper: Path | None, output_format: str, max_rounds: int,
           options: dict) -> None:
    from agentcli.cli.render import ProgressLines
    from agentcli.events import Emitter
    from agentcli.library.archive import ArchiveError
    from agentcli.models import ModelError
    from agentcli.reproduce.driver import Driver
    from agentcli.reproduce.paper import PaperError
    from agentcli.reproduce.state import StateError
    from agentcli.unattended.start import StartError

    driver = Driver(settings, work, Emitter([ProgressLines()]), max_rounds=max_rounds, options=options)
    try:
        result = driver.start(paper) if paper is not None else driver.resume()
    except (PaperError, StateError) as err:
        opt.fail(str(err), EXIT_FAILED)
    except (ModelError, ArchiveError, StartError) as err:
        hint = f" (fix that, then: agentcli reproduce --resume {driver.state.id})" if driver.state else ""
        opt.fail(f"{err}{hint}", EXIT_FAILED)
    except OSError as err:
        opt.fail(f"{err.filename or work}: {err.strerror or err}", EXIT_FAILED)
    if result.run is not None:
        print(f"agentcli: phase 3 run: ledger {result.run['progress_file']}, report "
              f"{result.run['report_file']}", file=sys.stderr)
    if output_format == "json":
        print(json.dumps(result.to_dict(), ensure_ascii=False))
    elif result.report is not None:
        print(f"{work / 'REPORT.md'}: {result.report.summary()}")
    if not result.ok:
        print(f"agentcli: stopped ({result.stop_reason}): {result.message}", file=sys.stderr)
        raise typer.Exit(exit_code(result.stop_reason, result.message or ""))


def _timeout(text: str | None) -> float | None:
    if text is None:
        return None
    from agentcli.unattended.budgets import BudgetError, parse_duration

    try:
        return parse_duration(text)
    except BudgetError as err:
        opt.fail(f"--verify-timeout: {err}")


def _report(folder: Path, output_format: str, *, figure: bool, force: bool = False,
            rerun: bool = False, timeout: float | None = None) -> None:
    from agentcli.reproduce import REPORT, STATE_DIR
    from agentcli.reproduce.report import HEADER, build
    from agentcli.reproduce.verify import DEFAULT_TIMEOUT

    folder = folder.expanduser()
    if not folder.is_dir():
        opt.fail(f"no such folder: {folder}")
    if not force and not any((folder / name).exists() for name in (*_OCCUPIED, STATE_DIR)):
        opt.fail(f"{folder} is not a reproduction (no {', '.join(_OCCUPIED)}): give its folder, "
                 "e.g. agentcli reproduce report reproduce-<paper>")
    existing = folder / REPORT
    if not force and existing.is_file() and HEADER not in existing.read_text(errors="replace")[:4000]:
        opt.fail(f"{existing} was not written by agentcli; it is left as it is (--force replaces it)")
    try:
        report = build(folder, figure=figure, rerun=rerun, timeout=timeout or DEFAULT_TIMEOUT)
    except OSError as err:
        opt.fail(f"cannot write the report in {folder}: {err.strerror or err}", EXIT_FAILED)
    if output_format == "json":
        print(json.dumps({"report": str(folder / "REPORT.md"), **report.to_dict()}, ensure_ascii=False))
        return
    print(f"{folder / 'REPORT.md'}: {report.summary()}")
    for row in report.rows:
        if row.verdict == "unverified" and row.proof is not None:
            print(f"  unverified: {row.id}: {row.proof.why}", file=sys.stderr)
    for item in report.missing + report.problems:
        print(f"  missing: {item}" if item in report.missing else f"  problem: {item}", file=sys.stderr)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-._").lower()[:60] or "paper"
