"""The progress ledger: PROGRESS.md in the session's folder, and its short form for the model.

Both are rendered from `RunState`, which is folded from the archive. The run rewrites PROGRESS.md
after every change through `Library.write_text` (atomic and redacted), so a reader (or a crash)
never sees half of it.
"""

from __future__ import annotations

from typing import Any

from agentcli.unattended.budgets import used_text
from agentcli.unattended.state import Item, RunState, parse_ts

PROGRESS_NAME = "PROGRESS.md"
# Observations shown in PROGRESS.md; the archive keeps every one.
MAX_OBSERVATIONS = 80


def local_time(ts: str, with_date: bool = True) -> str:
    """An archive timestamp (UTC) as local time, e.g. "2025-03-01 02:14"."""
    when = parse_ts(ts)
    if when is None:
        return ts
    local = when.astimezone()
    return local.strftime("%Y-%m-%d %H:%M:%S" if with_date else "%H:%M:%S")


def _items(items: list[Item], empty: str = "(none)") -> list[str]:
    return [f"- {local_time(i.ts)} — {i.text}" for i in items] or [empty]


def criteria_lines(state: RunState, when: bool = True) -> list[str]:
    lines = [f"- {c}" for c in state.criteria]
    lines += [f"- {c.text} — stated by the agent" + (f" {local_time(c.ts)}" if when else "")
              for c in state.model_criteria]
    return lines


def render(state: RunState, session_id: str, status: str) -> str:
    """The whole PROGRESS.md."""
    out = ["# Progress ledger", ""]
    out.append(f"- Session: `{session_id}` · status: **{status}** · started {local_time(state.started_ts)}"
               f" · updated {local_time(state.updated_ts)}")
    out.append(f"- Budget used: {used_text(state.limits, state.used)}")
    if state.checkpoint:
        last = state.commits[-1]["sha"][:10] if state.commits else "none yet"
        out.append(f"- Checkpoints: branch `{state.checkpoint['branch']}`, {len(state.commits)} "
                   f"commit(s), last {last}; worktree `{state.checkpoint['worktree']}`")
    if state.resumes:
        out.append(f"- Resumed {state.resumes} time(s)")
    out += ["", "## Goal", "", state.goal.strip() or "(none)", ""]
    out += ["## Success criteria", "", *(criteria_lines(state) or ["(none stated yet)"]), ""]
    out += ["## Done", "", *_items(state.done), ""]
    out += ["## In progress", "", *_items(state.lists["in_progress"]), ""]
    out += ["## Next", "", *_items(state.lists["next"]), ""]
    out += ["## Blockers", "", *_items(state.lists["blockers"]), ""]
    if state.notes:
        out += ["## Notes", "", *_items(state.notes), ""]
    out += ["## Observed by the harness", ""]
    shown = state.observations[-MAX_OBSERVATIONS:]
    hidden = len(state.observations) - len(shown)
    if hidden:
        out.append(f"- … {hidden} earlier observation(s) are in the archive")
    out += [f"- {local_time(o.ts)} {o.text}" for o in shown] or ["(nothing yet)"]
    return "\n".join(out) + "\n"


def brief(state: RunState, max_done: int = 12, max_obs: int = 10) -> str:
    """The ledger in a few lines, for the continue and nudge messages."""
    lines = []
    crit = criteria_lines(state, when=False)
    if crit:
        lines += ["Success criteria:", *crit]
    for title, items, limit in (("Done", state.done, max_done),
                                ("In progress", state.lists["in_progress"], 10),
                                ("Next", state.lists["next"], 10),
                                ("Blockers", state.lists["blockers"], 10)):
        shown = items[-limit:]
        more = f" ({len(items) - len(shown)} earlier not shown)" if len(items) > len(shown) else ""
        lines.append(f"{title}{more}:")
        lines += [f"- {i.text}" for i in shown] or ["- (none)"]
    obs = state.observations[-max_obs:]
    if obs:
        lines.append("Recently observed by the harness:")
        lines += [f"- {local_time(o.ts, with_date=False)} {o.text}" for o in obs]
    return "\n".join(lines)


def commit_body(st: RunState, session_id: str) -> str:
    """A checkpoint commit's message body, from the ledger."""
    lines = [f"Goal: {st.goal.strip().splitlines()[0][:200] if st.goal.strip() else '(none)'}"]
    for title, items in (("Done", st.done[-10:]), ("In progress", st.lists["in_progress"]),
                         ("Next", st.lists["next"][:5]), ("Blockers", st.lists["blockers"])):
        if items:
            lines += ["", f"{title}:", *[f"- {i.text}" for i in items]]
    last = last_tests(st)
    if last:
        lines += ["", f"Last test run: `{last['command']}` → {last['summary']}"]
    lines += ["", f"agentcli session: {session_id}"]
    return "\n".join(lines)


def tried(st: RunState, limit: int = 8) -> str:
    """What the run has tried so far, from the archive: its commonest tool calls, its commits and
    the last test run, e.g. "shell `pytest -q` ×3, edit `calc.py`; 1 commit; last test run …"."""
    calls = [f"{name} ×{n}" if n > 1 else name for name, n in st.calls.most_common(limit)]
    others = len(st.calls) - len(calls)
    if others > 0:
        calls.append(f"{others} other call(s)")
    parts = [", ".join(calls)] if calls else []
    if st.commits:
        parts.append(f"{len(st.commits)} commit(s)")
    last = last_tests(st)
    if last:
        parts.append(f"last test run `{last['command']}`: {last['summary']}")
    return "; ".join(parts) or "no tool call at all"


def last_tests(st: RunState) -> dict[str, Any] | None:
    """The latest test run the harness saw: {command, summary, passed, ...}."""
    if not st.tests:
        return None
    command, result = max(st.tests.items(), key=lambda kv: kv[1]["ts"])
    return {"command": command, **result}
