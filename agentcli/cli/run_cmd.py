"""`agentcli run PROMPT`: one task, headless. The answer on stdout, progress on stderr."""

from __future__ import annotations

import shlex
import sys
from typing import Optional

import typer
from typing_extensions import Annotated

from agentcli.cli import options as opt
from agentcli.cli import unattended_opts as uopt

FORMATS = ("text", "json", "stream-json")
# Exit codes: 0 a final answer; 1 the run stopped without one; 2 bad usage; 130 interrupted.
EXIT_FAILED, EXIT_INTERRUPTED, EXIT_TERMINATED = 1, 130, 143  # 128 + SIGINT, 128 + SIGTERM


@opt.shared_options
def run(
    prompt: Annotated[Optional[str], typer.Argument(
        help="The task. Use - to read it from standard input. Optional with --resume of an "
             "unattended run.")] = None,
    session_options: opt.SessionOptions = opt.ALL,
    max_turns: Annotated[Optional[int], typer.Option(
        "--max-turns", help="Stop after this many model turns (default for a plain run: 250; "
                            "none with a budget flag). A plain run also stops when the model makes "
                            "the same call with the same result 6 turns in a row.", min=1)] = None,
    output_format: Annotated[str, typer.Option(
        "--output-format", help="text | json | stream-json")] = "text",
    budget: uopt.BudgetOptions = opt.ALL,
    checkpoint: uopt.Checkpoint = None,
    stall_turns: uopt.StallTurns = 6,
    unattended: uopt.Unattended = False,
    resume: Annotated[Optional[str], typer.Option(
        "--resume", help="Continue this session (its id or the start of it; see "
                         "`agentcli sessions`) instead of starting a new one.")] = None,
) -> None:
    if output_format not in FORMATS:
        opt.fail(f"--output-format must be one of {', '.join(FORMATS)}, not {output_format!r}")
    if prompt == "-":
        if sys.stdin.isatty():
            print("agentcli: reading the prompt from the terminal; end it with Ctrl-D", file=sys.stderr)
        prompt = sys.stdin.buffer.read().decode("utf-8", errors="replace")
    if prompt is None and not resume:
        opt.fail("Missing argument 'prompt': agentcli run PROMPT (- reads it from standard input; "
                 "--resume ID continues a session). See 'agentcli run --help'.")
    if not (prompt or "").strip() and not resume:
        opt.fail("the prompt is empty")
    settings = session_options.settings(default_approval="auto", headless=True, max_turns=max_turns)
    run_options = uopt.build(budget, checkpoint=checkpoint, stall_turns=stall_turns,
                             unattended=unattended, max_turns=max_turns, defaults=settings.budgets)

    from agentcli.cli.render import ProgressLines, StreamJson
    from agentcli.events import Emitter
    from agentcli.library.archive import ArchiveError
    from agentcli.models import ModelError
    from agentcli.unattended.start import StartError

    progress = ProgressLines()
    stream = StreamJson() if output_format == "stream-json" else None
    emitter = Emitter([stream] if stream else [progress])
    if stream:  # notices still go to stderr for people watching
        emitter.observers.append(lambda e: progress(e) if e.kind in ("notice", "model_switch") else None)
    try:
        session, unattended_run, message = uopt.open_run(settings, emitter, prompt, run_options, resume,
                                                         max_turns)
    except (ModelError, ArchiveError, StartError) as err:
        bad_flag = getattr(err, "kind", "") == "bad_name"  # a misspelt --model is a usage error
        _early_error(output_format, str(err), getattr(err, "session_id", None),
                     code=2 if bad_flag else EXIT_FAILED)
    if stream:
        stream.write({"type": "system", "session_id": session.id, "model": session.model.name,
                      "workspace": str(settings.workspace)})
    try:
        outcome = unattended_run.execute(message) if unattended_run else session.run(message)
    except (ArchiveError, OSError) as err:  # a full disk mid-run: the session is still named
        _early_error(output_format, str(err), session.id)
    _report(session, unattended_run, outcome, output_format, stream, settings.workspace)


def _report(session, unattended_run, outcome, output_format: str, stream, workspace) -> None:
    """The answer (or the result object) on stdout; a stop in one line on stderr, saying how to
    go on where the session stopped on an error."""
    from agentcli.cli.render import json_line, result_object

    result = result_object(session, outcome)
    if unattended_run is not None:
        result["unattended"] = unattended_run.summary()
        print(f"agentcli: report: {result['unattended']['report_file']}", file=sys.stderr)
    if output_format == "json":
        print(json_line(result))
    elif stream:
        stream.write({"type": "result", **result})
    elif not outcome.is_error:
        print(outcome.result)
    if outcome.is_error:
        hint = ""
        if outcome.stop_reason == "error" and unattended_run is None:
            hint = f"; to go on: agentcli run --resume {session.id} -C {shlex.quote(str(workspace))}"
        print(f"agentcli: stopped ({outcome.stop_reason}): {outcome.result}{hint}", file=sys.stderr)
        raise typer.Exit(exit_code(outcome.stop_reason, outcome.result))


def exit_code(stop_reason: str, message: str) -> int:
    """1 for a failure; for a stop from outside, what a shell shows for the signal: 130 for
    Ctrl-C, 143 for SIGTERM (the clean stop still wrote its records)."""
    if stop_reason != "interrupted":
        return EXIT_FAILED
    return EXIT_TERMINATED if "SIGTERM" in message else EXIT_INTERRUPTED


def _early_error(output_format: str, message: str, session_id: str | None = None,
                 code: int = EXIT_FAILED) -> None:
    """A failure before or outside the loop: one line on stderr, and the JSON shape if asked."""
    if output_format in ("json", "stream-json"):
        obj = {"session_id": session_id, "result": message, "is_error": True, "stop_reason": "error",
               "num_turns": 0, "usage": None, "cost_usd": None, "duration_s": 0, "model": None}
        if output_format == "stream-json":
            obj = {"type": "result", **obj}
        from agentcli.cli.render import json_line

        print(json_line(obj))
    opt.fail(message, code)
