"""The tools of unattended runs: `progress` updates the ledger, `finish` ends the run.

They reach the run through `ToolContext.services["unattended"]`; outside an unattended run they
are not enabled, and say so if called anyway."""

from __future__ import annotations

from typing import Any

from agentcli.tools.context import ToolContext, ToolError
from agentcli.types import ToolResult


def _run(ctx: ToolContext):
    run = ctx.services.get("unattended")
    if run is None:
        raise ToolError("this tool only works in unattended runs (agentcli run with a budget)")
    return run


def progress(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    update = {k: v for k, v in args.items() if v is not None}
    if not update:
        raise ToolError("nothing to record: give at least one of done, in_progress, next, blockers, "
                        "success_criteria, milestone, note")
    return ToolResult(_run(ctx).record_progress(update))


def finish(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    summary = (args.get("summary") or "").strip()
    if not summary:
        raise ToolError("summary is empty: say what was done, or what blocks you")
    accepted, note = _run(ctx).finish(args["status"], summary, (args.get("evidence") or "").strip())
    return ToolResult(note, is_error=not accepted)


TOOLS = {"progress": progress, "finish": finish}
