"""The state of an unattended run, folded out of the session's archive.

Everything an unattended run must remember (its options, budgets used, the ledger, checkpoints,
marks, nudges, how it finished) is an archive event. `RunState.apply(event)` folds one event in;
`ArchiveTail` feeds it the events written since it last looked. A resumed run folds the whole
archive and stands exactly where the crashed one stood; the ledger cannot drift from the archive
because it is made from it.

Event types written by the unattended run:
  unattended_start  {goal, limits, checks, criteria, checkpoint, stall_turns, workspace}
  unattended_resume {limits, reason}
  ledger            {update: the `progress` tool's arguments}
  check             {command, exit_code, passed, summary, elapsed_s}
  finish            {status, summary, evidence, accepted, why}
  checkpoint        {sha, reason, subject, files}
  observed_commit   {sha, subject}
  budget_mark       {budget, percent}
  stall_nudge       {signal, detail}
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator

from agentcli.callsig import describe
from agentcli.models.catalog import cost_usd
from agentcli.types import Usage
from agentcli.unattended.budgets import Limits, Used
from agentcli.unattended.observe import observe

LEDGER_LISTS = ("in_progress", "next", "blockers")


def parse_ts(ts: str) -> datetime | None:
    try:
        return datetime.fromisoformat(ts.replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        return None


@dataclass
class Item:
    """One ledger line: when and what."""

    ts: str
    text: str


@dataclass
class RunState:
    """Everything known about the run, from the archive."""

    goal: str = ""
    limits: Limits = field(default_factory=Limits)
    checks: list[str] = field(default_factory=list)
    criteria: list[str] = field(default_factory=list)          # stated by the user (harness)
    model_criteria: list[Item] = field(default_factory=list)   # stated by the model
    checkpoint: dict[str, Any] | None = None
    stall_turns: int = 6
    started_ts: str = ""
    updated_ts: str = ""
    done: list[Item] = field(default_factory=list)
    lists: dict[str, list[Item]] = field(default_factory=lambda: {k: [] for k in LEDGER_LISTS})
    notes: list[Item] = field(default_factory=list)
    observations: list[Item] = field(default_factory=list)
    files_changed: list[str] = field(default_factory=list)
    git_changed: list[dict[str, Any]] = field(default_factory=list)  # {ts, command, paths}
    tests: dict[str, dict[str, Any]] = field(default_factory=dict)  # command -> last result
    commits: list[dict[str, Any]] = field(default_factory=list)
    check_runs: list[dict[str, Any]] = field(default_factory=list)
    finish: dict[str, Any] | None = None
    marks: set[str] = field(default_factory=set)
    nudges: list[dict[str, Any]] = field(default_factory=list)
    resumes: int = 0
    used: Used = field(default_factory=Used)
    closed_time_s: float = 0.0  # time of segments before the current one
    last_event_id: str = ""
    last_error: dict[str, Any] | None = None
    last_stop: str | None = None  # stop_reason of the last run_end; None while a segment runs
    compactions: int = 0
    calls: Counter[str] = field(default_factory=Counter)  # every tool call of the run, in a few words
    _segment_start: datetime | None = None
    _segment_last: datetime | None = None
    _resuming: bool = False  # a session_resume opened the current stretch; its unattended_resume is due
    _calls: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def started(self) -> bool:
        return bool(self.started_ts)

    # -- the fold -----------------------------------------------------------------------------

    def apply(self, event: dict[str, Any]) -> None:
        """Fold one archive event into the state."""
        kind = event.get("type", "")
        ts = event.get("ts", "")
        self.last_event_id = event.get("id", self.last_event_id)
        when = parse_ts(ts)
        self._time(kind, when)
        if ts:
            self.updated_ts = ts
        handler = getattr(self, f"_on_{kind}", None)
        if handler is not None:
            handler(event, ts)
        elif kind.startswith("compact"):
            self.compactions += 1

    def _time(self, kind: str, when: datetime | None) -> None:
        """Working time, stretch by stretch. A stretch runs from a start or a resume to its last
        event before the next resume, so the idle time between a stop (or a crash) and a resume
        never counts. The session layer writes `session_resume` (and the results of calls the
        crash interrupted) before `unattended_resume`: all of them are written at resume time,
        so the first of them opens the new stretch and `unattended_resume` joins it."""
        if kind == "session_resume" or (kind in ("unattended_start", "unattended_resume")
                                        and not self._resuming):
            self._close_segment()
            self._segment_start = when
        if kind in ("unattended_start", "unattended_resume"):
            self.last_stop = None
        self._resuming = kind == "session_resume" or (self._resuming and kind not in (
            "unattended_start", "unattended_resume", "assistant", "run_end"))
        if when is not None and self._segment_start is not None:
            self._segment_last = when

    def _close_segment(self) -> None:
        if self._segment_start is not None and self._segment_last is not None:
            self.closed_time_s += max(0.0, (self._segment_last - self._segment_start).total_seconds())
        self._segment_start = self._segment_last = None

    def _on_unattended_start(self, e: dict[str, Any], ts: str) -> None:
        self.goal = e.get("goal", "")
        self.limits = Limits.from_dict(e.get("limits"))
        self.checks = list(e.get("checks") or [])
        self.criteria = list(e.get("criteria") or [])
        self.checkpoint = e.get("checkpoint")
        self.stall_turns = int(e.get("stall_turns") or self.stall_turns)
        self.started_ts = ts

    def _on_unattended_resume(self, e: dict[str, Any], ts: str) -> None:
        self.resumes += 1
        self.finish = None  # a finished run resumed with a new request goes on
        if e.get("limits"):
            self.limits = Limits.from_dict(e["limits"])
        if e.get("checkpoint"):
            self.checkpoint = e["checkpoint"]
        self._observe(ts, f"resumed ({e.get('reason', 'after an interruption')})")

    def _on_assistant(self, e: dict[str, Any], ts: str) -> None:
        usage = Usage.from_dict(e.get("usage") or {})
        self.used.turns += 1
        self.used.tokens += usage.prompt_tokens + usage.output_tokens
        price = cost_usd(e.get("model") or "", usage)
        if price is None:
            self.used.unpriced.add(e.get("model") or "?")
            self.used.cost_usd = None
        elif self.used.cost_usd is not None:
            self.used.cost_usd = round(self.used.cost_usd + price, 6)

    def _on_tool_call(self, e: dict[str, Any], ts: str) -> None:
        call = e.get("call") or {}
        if call.get("id"):
            self._calls[call["id"]] = call
        if call.get("name") not in ("progress", "finish"):  # the ledger says those itself
            self.calls[describe(call)] += 1

    def _on_tool_result(self, e: dict[str, Any], ts: str) -> None:
        call_id = (e.get("message") or {}).get("tool_call_id")
        call = self._calls.pop(call_id, None) if call_id else None
        if call is None:
            return
        obs = observe(call, e)
        if obs is None:
            return
        self._observe(ts, obs["text"])
        if obs["kind"] == "file" and obs["path"] and obs["path"] not in self.files_changed:
            self.files_changed.append(obs["path"])
        if obs.get("git_changed"):
            self.git_changed.append({"ts": ts, "command": obs["command"], "paths": obs["git_changed"]})
        if obs["kind"] == "tests":
            self.tests[obs["command"]] = {"ts": ts, "summary": obs["summary"], "passed": obs["passed"],
                                          "exit_code": obs["exit_code"]}

    def _on_ledger(self, e: dict[str, Any], ts: str) -> None:
        """The latest report wins: `done` items leave the lists they were on (in progress, next,
        blockers), and a list the update gives replaces the old one."""
        update = e.get("update") or {}
        finished = [str(t) for t in update.get("done") or []]
        if update.get("milestone"):
            finished.append(str(update["milestone"]))
        for text in update.get("done") or []:
            self.done.append(Item(ts, text))
        if update.get("milestone"):
            self.done.append(Item(ts, f"milestone: {update['milestone']}"))
        for key in LEDGER_LISTS:
            self.lists[key] = [i for i in self.lists[key] if not any(same_step(i.text, d) for d in finished)]
        for key in LEDGER_LISTS:
            if key in update and update[key] is not None:
                self.lists[key] = [Item(ts, t) for t in update[key]]
        if update.get("success_criteria") is not None:
            self.model_criteria = [Item(ts, t) for t in update["success_criteria"]]
        if update.get("note"):
            self.notes.append(Item(ts, update["note"]))

    def _on_check(self, e: dict[str, Any], ts: str) -> None:
        self.check_runs.append({**{k: e.get(k) for k in ("command", "exit_code", "passed", "summary")},
                                "ts": ts})
        verdict = "passed" if e.get("passed") else "FAILED"
        detail = f" ({e['summary']})" if e.get("summary") else ""
        code = f": exit {e.get('exit_code')}" if e.get("exit_code") is not None else ""
        self._observe(ts, f"check `{e.get('command')}` {verdict}{code}{detail}")

    def _on_finish(self, e: dict[str, Any], ts: str) -> None:
        if e.get("accepted"):
            self.finish = {k: e.get(k) for k in ("status", "summary", "evidence")} | {"ts": ts}
            if e.get("status") == "done":  # nothing is in progress once the task is done
                self.lists["in_progress"] = []
            self._observe(ts, f"finish: {e.get('status')} accepted")
        else:
            self._observe(ts, f"finish: {e.get('status')} refused: {e.get('why')}")

    def _on_checkpoint(self, e: dict[str, Any], ts: str) -> None:
        self.commits.append({k: e.get(k) for k in ("sha", "reason", "subject")} | {"ts": ts})
        self._observe(ts, f"commit {str(e.get('sha'))[:10]} {e.get('subject')}")

    def _on_observed_commit(self, e: dict[str, Any], ts: str) -> None:
        self.commits.append({"sha": e.get("sha"), "reason": "by the model", "subject": e.get("subject"),
                             "ts": ts})
        self._observe(ts, f"commit {str(e.get('sha'))[:10]} (made by the model) {e.get('subject')}")

    def _on_budget_mark(self, e: dict[str, Any], ts: str) -> None:
        self.marks.add(f"{e.get('budget')}:{e.get('percent')}")
        self._observe(ts, f"{e.get('percent')}% of the {e.get('budget')} budget used")

    def _on_stall_nudge(self, e: dict[str, Any], ts: str) -> None:
        self.nudges.append({"ts": ts, "signal": e.get("signal"), "detail": e.get("detail")})
        self._observe(ts, f"nudged: {e.get('detail')}")

    def _on_error(self, e: dict[str, Any], ts: str) -> None:
        self.last_error = {k: e.get(k) for k in ("source", "kind", "message", "action")} | {"ts": ts}
        if e.get("source") == "model" and e.get("action") == "give_up":
            self._observe(ts, f"model call failed: {e.get('message')}")

    def _on_run_end(self, e: dict[str, Any], ts: str) -> None:
        self.last_stop = e.get("stop_reason")
        self._observe(ts, f"run ended: {e.get('stop_reason')}")

    def _observe(self, ts: str, text: str) -> None:
        self.observations.append(Item(ts, text))

    # -- questions ----------------------------------------------------------------------------

    def time_used(self, segment_s: float) -> float:
        """Time of closed segments plus `segment_s` of the current one."""
        return self.closed_time_s + segment_s

    def all_checks(self) -> list[str]:
        return list(dict.fromkeys(self.checks))


# Words that say little about which step an item is ("fix the parser" / "fixed parser": same step).
_FILLER = frozenset("a an the to of in on for and or with by from at is are was be it its this that "
                    "now all fix fixed make made run ran add added do did done get got write wrote "
                    "written update updated step".split())


def _words(text: str) -> frozenset[str]:
    out = set()
    for word in re.findall(r"[a-z0-9_]+", text.lower()):
        if word in _FILLER:
            continue
        for suffix in ("ing", "ed", "es", "s"):
            if word.endswith(suffix) and not word.endswith("ss") and len(word) - len(suffix) >= 3:
                word = word[: -len(suffix)]
                break
        if word not in _FILLER:
            out.add(word)
    return frozenset(out)


def same_step(a: str, b: str) -> bool:
    """Whether two ledger items name the same step, loosely: the same words once tense, plurals
    and filler words are set aside, or most of them."""
    wa, wb = _words(a), _words(b)
    if not wa or not wb:
        return a.strip().lower() == b.strip().lower()
    small, big = sorted((wa, wb), key=len)
    return small <= big and len(small) >= 2 or len(wa & wb) / len(wa | wb) > 0.5


class ArchiveTail:
    """Reads the events appended to an archive since the last read (by byte offset: the file is
    append-only, so a long run never re-reads it from the start)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.offset = 0

    def new_events(self) -> Iterator[dict[str, Any]]:
        try:
            f = open(self.path, "rb")
        except FileNotFoundError:
            return
        with f:
            f.seek(self.offset)
            for raw in f:
                if not raw.endswith(b"\n"):
                    break  # a line still being written (or torn by a crash): read it next time
                self.offset += len(raw)
                try:
                    event = json.loads(raw)
                except ValueError:
                    continue
                if isinstance(event, dict) and "type" in event:
                    yield event
