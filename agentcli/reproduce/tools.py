"""The tools a reproduction session adds to the core ones: check_claims and check_results.

Both check files in the session's workspace (the workdir) and answer with the precise problems,
so the model fixes the file instead of guessing. Specs are in the top-level `tools/` folder.
"""

from __future__ import annotations

from pathlib import Path

from agentcli.reproduce import CLAIMS, RESULTS
from agentcli.reproduce.checks import check_claims as _check_claims
from agentcli.reproduce.checks import check_results as _check_results
from agentcli.reproduce.markdown import num
from agentcli.reproduce.verdicts import allowed_difference, as_judged, closeness
from agentcli.tools.context import ToolContext
from agentcli.types import ToolResult


def _relative(args: dict, ctx: ToolContext, default: str) -> tuple[Path, str]:
    root = ctx.workspace.root
    real = ctx.workspace.resolve(args.get("path") or default)
    try:
        return root, str(real.relative_to(root))
    except ValueError:  # an added folder outside the workspace: check it where it is
        return real.parent, real.name


def check_claims(args: dict, ctx: ToolContext) -> ToolResult:
    """Validate claims.json; the result lists every problem with its JSON path."""
    root, name = _relative(args, ctx, CLAIMS)
    check = _check_claims(root, name)
    if not check.ok:
        return ToolResult(check.message(), is_error=True, meta={"valid": False})
    text = f"{name} is valid: {len(check.claims)} claim(s): {', '.join(check.ids)}"
    if check.warnings:
        text += "\n" + check.message()
    return ToolResult(text, meta={"valid": True, "claims": len(check.claims)})


def check_results(args: dict, ctx: ToolContext) -> ToolResult:
    """Validate results.json against claims.json; when valid, preview the comparison."""
    root, name = _relative(args, ctx, RESULTS)
    claims = _check_claims(root)
    if not claims.ok:
        return ToolResult(f"{CLAIMS} must be valid before results can be checked:\n{claims.message()}",
                          is_error=True, meta={"valid": False})
    check = _check_results(root, claims.ids, name=name)
    if not check.ok:
        return ToolResult(check.message(), is_error=True, meta={"valid": False})
    judged = {c["id"]: c for c in as_judged(root, claims.claims)[0]}
    lines = [f"{name} is valid: results for all {len(claims.claims)} claim(s). Judged with the "
             "tolerances phase 1 fixed; not yet verified (agentcli re-runs every command when you "
             "call finish, and a value its re-run does not print counts as unverified):"]
    for cid, claim in judged.items():
        entry = check.entries.get(cid) or {}
        if entry.get("value") is None:
            lines.append(f"- {cid}: paper {num(claim['value'])}, not measured")
            continue
        verdict = closeness(float(entry["value"]) - float(claim["value"]), allowed_difference(claim))
        lines.append(f"- {cid}: paper {num(claim['value'])}, reproduced {num(entry['value'])}: "
                     f"{verdict.upper() if verdict == 'mismatch' else verdict}")
    lines.append("A number outside tolerance is a finding to report, not a reason to change the "
                 "method toward the paper's number. Every departure from the paper goes in DEVIATIONS.md.")
    if check.warnings:
        lines.append(check.message())
    return ToolResult("\n".join(lines), meta={"valid": True})


TOOLS = {"check_claims": check_claims, "check_results": check_results}
