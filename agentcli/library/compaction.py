"""Compaction: keep a session inside its current model's window without losing anything.

When the next request would pass the budget's limit (or the user asks with /compact):
  1. cheap first: tool results older than the recent turns become one-line placeholders that
     point at their event ids; if that is enough, stop here;
  2. the current model writes a summary from prompts/compact.md, updating the previous one,
     saved as summaries/NNN.md; if the call fails, is cut off or overflows, the index's
     deterministic digest stands in and the failure is recorded (a small "lean" model is not
     asked at all: the digest is instant and invents nothing);
  3. the window becomes: system prompt (AGENTS.md re-read) + summary + head of INDEX.md +
     the most recent turns verbatim, trimmed deterministically until it fits (as a last
     resort a message too large on its own is cut in the window: step "trim").
A compaction never grows the window: when what would leave it is too little for a summary
(plus the index head) to be smaller, no summary is asked for (a notice says so and nothing
changes, unless the window must be trimmed to fit), and a summary that comes back longer than
what it replaces is not kept.
Each compaction appends a `compaction` boundary to the archive that is enough to rebuild the
window on resume. Between compactions nothing in the window changes, so the request prefix
stays byte-identical for prompt caches.
"""

from __future__ import annotations

from typing import Any

from agentcli.library.budget import Budget, TokenMeter
from agentcli.library.context import Entry
from agentcli.library.index import oneline
from agentcli.library.trim import clip, elide, group_starts, recent_start, repair, transcript
from agentcli.models.base import ModelError, Request
from agentcli.models.catalog import cost_usd
from agentcli.resources import prompt
from agentcli.tokens import estimate
from agentcli.types import Message

# Words of prompts/compact.md that tell a summary request apart (scripted servers use it too).
SUMMARY_MARKER = "continuation summary of an agentcli session"
SUMMARIES_DIR = "summaries"
CHARS_PER_TOKEN = 3.0  # conservative: planning must not overflow
SMALL_MODEL_DIGEST = "small models are not asked for a summary"


class Compactor:
    """Token accounting and compaction for one session.

    The host is the session; it provides `model`, `system_prompt()`, `_system` (reset to
    re-read AGENTS.md), `toolbox.specs`, `context`, `archive`, `index`, `library`, `dir`, `id`,
    `settings.compact_threshold`, `request()`, `usage`, `cost` and `emit`.
    """

    def __init__(self, host: Any):
        self.host = host
        self.meter = TokenMeter()
        self.n = 0
        self.summary: str | None = None
        self._window_seen: int | None = None
        self._overflow_retried = False
        self._too_small_warned = False
        self.covered_to: str | None = None

    # -- accounting ---------------------------------------------------------------------------

    def budget(self) -> Budget:
        h = self.host
        return Budget(h.model.context_window, h.request().max_tokens, h.settings.compact_threshold)

    def tokens(self) -> int:
        h, model = self.host, self.host.model
        return self.meter.total(h.context, model.name, h.system_prompt(), h.toolbox.specs, model.lean)

    def breakdown(self) -> dict[str, int]:
        h, model = self.host, self.host.model
        return self.meter.breakdown(h.context, h.system_prompt(), h.toolbox.specs, model.lean)

    def before_call(self) -> None:
        h = self.host
        self.meter.sent(h.context, h.model.name, h.system_prompt())

    def after_call(self, prompt_tokens: int) -> None:
        self.meter.received(prompt_tokens)
        self._overflow_retried = False

    # -- when to compact ----------------------------------------------------------------------

    def fit(self) -> dict[str, Any] | None:
        """Compact if the next request would pass the limit of the current model's window."""
        window = self.host.model.context_window
        smaller = self._window_seen is not None and window < self._window_seen
        self._window_seen = window
        budget = self.budget()
        h = self.host
        bound = self.meter.upper_bound(h.context, h.system_prompt(), h.toolbox.specs, h.model.lean)
        if bound <= budget.limit or self.tokens() <= budget.limit:  # the bound needs no tokenizer
            return None
        parts = self.breakdown()
        if parts["system"] + parts["tools"] >= budget.limit:
            # Compacting cannot help when the fixed part alone fills the budget; say so once.
            if not self._too_small_warned:
                self._too_small_warned = True
                self.host.emit("notice", level="warning", text=(
                    f"the context window ({window:,} tokens) is too small for the system prompt "
                    f"and tools ({parts['system'] + parts['tools']:,} tokens); use a larger model"))
            return None
        return self.compact(reason="smaller window" if smaller else "window")

    def on_overflow(self) -> bool:
        """The provider said the request was too long: compact hard, once per turn."""
        if self._overflow_retried:
            return False
        self._overflow_retried = True
        return self.compact(reason="overflow") is not None

    # -- compaction ---------------------------------------------------------------------------

    def compact(self, reason: str = "manual", instructions: str | None = None) -> dict[str, Any] | None:
        """Run the steps above; return the boundary record, or None if there was nothing to do."""
        h = self.host
        ctx = h.context
        budget = self.budget()
        before = self.tokens()
        entries, _ = repair(ctx.entries)
        recent = budget.recent if reason in ("window", "smaller window") else budget.recent // 3
        keep = recent_start(entries, recent)

        # 1. placeholders for old tool results
        trimmed = [elide(e) for e in entries[:keep]] + entries[keep:]
        changed = any(a is not b for a, b in zip(trimmed, entries))
        if len(trimmed) != len(ctx.entries) or any(a is not b for a, b in zip(trimmed, ctx.entries)):
            ctx.replace(trimmed, ctx.summary)
        version = ctx.version  # the provider's count of this window stays good while it is kept
        if reason in ("window", "smaller window") and changed and self.tokens() <= budget.target:
            return self._finish("placeholders", reason, budget, before, dropped=[])

        # 2. a summary of what leaves the window
        dropped, kept = trimmed[:keep], trimmed[keep:]
        if not dropped:
            starts = group_starts(trimmed)
            if len(starts) < 2:
                if self.tokens() > budget.limit:  # the current turn alone is too large
                    self._squeeze(budget, [])
                    return self._finish("trim", reason, budget, before, dropped=[])
                if changed:
                    return self._finish("placeholders", reason, budget, before, dropped=[])
                h.emit("notice", text="nothing to compact: the window holds only the current turn",
                       level="info")
                return None
            dropped, kept = trimmed[:starts[-1]], trimmed[starts[-1]:]
        # A summary, the index head and the latest request replace what leaves the window: when
        # that is more than what leaves, compacting would grow the window (and cost a call).
        trimmed_tokens = self.tokens()
        if self._gain(dropped, kept, budget) <= max(200, trimmed_tokens // 50):
            return self._too_little(reason, budget, before, changed)
        saved = (ctx.summary, self.summary, self.n, self.covered_to)
        step, failure = "digest", None
        if getattr(h.model, "lean", False) and not instructions:
            # A small model writes a summary slowly (minutes on a CPU) and fills it with guesses;
            # the index's digest is instant and only says what happened.
            text = self._digest(SMALL_MODEL_DIGEST, budget)
        else:
            text, failure = self._summarize(dropped, instructions, budget)
            step = "summary" if failure is None else "digest"
            if failure is not None:
                text = self._digest(f"the summary call failed: {oneline(failure, 200)}", budget)
        self.summary = text
        self.n += 1
        h._system = None  # the next request re-reads AGENTS.md from disk
        ctx.replace(kept, self._head(text, dropped, kept, budget.index_chars))
        if self.tokens() > budget.limit:
            self._squeeze(budget, dropped)
        if self.tokens() >= trimmed_tokens:  # the summary came out long: never grow the window
            ctx.replace(trimmed, saved[0])
            ctx.version = version  # the same window as before the attempt
            self.summary, self.n, self.covered_to = saved[1:]
            return self._too_little(reason, budget, before, changed)
        return self._finish(step, reason, budget, before, dropped=dropped, failure=failure)

    def _gain(self, dropped: list[Entry], kept: list[Entry], budget: Budget) -> int:
        """Tokens a summary of `dropped` would save, guessed before asking for it: what leaves
        (and the old summary head) less the new head with a summary as long as the last one."""
        ctx = self.host.context
        covered = self.covered_to
        allowance = min(budget.summary, max(200, estimate(self.summary or "")))
        head = estimate(self._head("", dropped, kept, budget.index_chars)) + allowance
        self.covered_to = covered  # _head records the span; this was only a guess
        leaving = sum(e.tokens for e in dropped) + (estimate(ctx.summary) if ctx.summary else 0)
        return leaving - head

    def _too_little(self, reason: str, budget: Budget, before: int, changed: bool) -> dict[str, Any] | None:
        """Too little leaves the window for a summary to make it smaller: trim if it must fit,
        keep the placeholders if they saved something, else say so and change nothing."""
        if self.tokens() > budget.limit:
            self._squeeze(budget, [])
            return self._finish("trim", reason, budget, before, dropped=[])
        if changed:
            return self._finish("placeholders", reason, budget, before, dropped=[])
        self.host.emit("notice", level="info", text=(
            f"nothing to compact: too little would leave the window ({self.tokens():,} tokens) "
            "for a summary to make it smaller"))
        return None

    def _summarize(self, dropped: list[Entry], instructions: str | None,
                   budget: Budget) -> tuple[str, str | None]:
        """(summary, None) from the current model, or ("", why it failed)."""
        h = self.host
        model = h.model
        system = prompt("compact.md").strip()
        previous = self.summary or "(none: this is the first compaction)"
        requests = "\n".join(f"{e} {t}" for e, t in h.index.requests[-40:]) or "(none)"
        fixed = estimate(system) + estimate(previous) + estimate(requests) + 300
        room = model.context_window - budget.summary - fixed - int(0.05 * model.context_window)
        events = transcript(dropped, max(2000, int(room * CHARS_PER_TOKEN)))
        body = (f"<previous-summary>\n{previous}\n</previous-summary>\n\n"
                f"<user-requests verbatim, with event ids>\n{requests}\n</user-requests>\n\n"
                f"<events leaving the window>\n{events}\n</events>\n")
        if instructions:
            body += f"\n<user-instructions for this summary>\n{instructions}\n</user-instructions>\n"
        body += "\nWrite the updated summary now."
        request = Request(system=system, messages=[Message(role="user", content=body)], tools=[],
                          max_tokens=budget.summary)
        try:
            reply = model.complete(request, None)
        except ModelError as err:
            return "", f"{err.kind}: {err}"
        h.usage.add(reply.usage)
        cost = cost_usd(reply.model, reply.usage)
        h.cost = None if cost is None or h.cost is None else round(h.cost + cost, 6)
        text = reply.message.content.strip()
        if reply.stop_reason == "max_tokens":
            return "", f"the summary was cut at its length limit ({budget.summary} tokens)"
        if len(text) < 40:
            return "", "the model returned an empty summary"
        return text, None

    def _digest(self, why: str, budget: Budget) -> str:
        """The deterministic stand-in for a model summary: the previous one plus the index."""
        room = int(budget.summary * CHARS_PER_TOKEN)
        digest = f"## Digest (written by agentcli without a model; {why})\n{self.host.index.digest(room // 2)}"
        previous = self.summary or ""
        keep = max(0, room - len(digest) - 2)
        if len(previous) > keep:
            previous = previous[: keep // 2] + "\n[…]\n" + previous[len(previous) - keep // 2:] if keep else ""
        return (previous + "\n\n" + digest).strip()

    def _head(self, summary: str, dropped: list[Entry], kept: list[Entry], index_chars: int) -> str:
        """The first message of the new window: the summary, the index head, the open request."""
        h = self.host
        first, last = self._covers(dropped)
        parts = [f"[Context summary #{self.n}. It stands for events {first}–{last} of session "
                 f"{h.id}, which are no longer in this window but are all kept in the session's "
                 "library: find details with memory_search and read any event in full with "
                 "memory_read. The most recent turns follow verbatim.]", "", summary]
        head = h.index.head(index_chars)
        if head:
            parts += ["", "## Library index (head of INDEX.md)", head]
        if h.index.requests:
            eid, _ = h.index.requests[-1]
            if all(e.event_id != eid for e in kept):
                text = next((e.original.content for e in dropped if e.event_id == eid), None)
                if text is None:
                    text = h.index.requests[-1][1]
                parts += ["", f"## The user's latest request (verbatim, {eid})", text]
        return "\n".join(parts)

    def _covers(self, dropped: list[Entry]) -> tuple[str, str]:
        """The span of events the summary stands for: from the start to the last one dropped."""
        if dropped:
            self.covered_to = dropped[-1].event_id
        return "e000001", self.covered_to or "e000001"

    def _squeeze(self, budget: Budget, dropped: list[Entry]) -> None:
        """Deterministic trimming until the window fits: elide, drop old turns, cut the summary."""
        ctx = self.host.context
        starts = group_starts(ctx.entries)
        last = starts[-1] if starts else len(ctx.entries)
        ctx.replace([elide(e) if i < last else e for i, e in enumerate(ctx.entries)], ctx.summary)
        while self.tokens() > budget.limit and len(group_starts(ctx.entries)) > 1:
            cut = group_starts(ctx.entries)[1]
            dropped = dropped + ctx.entries[:cut]
            ctx.replace(ctx.entries[cut:], ctx.summary)
        if self.tokens() > budget.limit:
            ctx.replace([elide(e) for e in ctx.entries], ctx.summary)
        summary = self.summary or ""
        while self.tokens() > budget.limit and len(summary) > 200:
            summary = summary[: len(summary) // 2] + "\n[… summary cut to fit the window …]"
            ctx.replace(ctx.entries, self._head(summary, dropped, ctx.entries, budget.index_chars // 2))
        # Last resort: one message alone is too large (a huge paste): cut it in the window only.
        for _ in range(len(ctx.entries)):
            over = self.tokens() - budget.limit
            if over <= 0:
                break
            i = max(range(len(ctx.entries)), key=lambda k: ctx.entries[k].tokens)
            entry = ctx.entries[i]
            keep = max(200, int((entry.tokens - over) * CHARS_PER_TOKEN))
            if len(entry.message.content) <= keep:
                break
            entries = list(ctx.entries)
            entries[i] = Entry(entry.event_id, clip(entry.message, entry.event_id, keep),
                               full=entry.original)
            ctx.replace(entries, ctx.summary)

    def _finish(self, step: str, reason: str, budget: Budget, before: int, *,
                dropped: list[Entry], failure: str | None = None) -> dict[str, Any]:
        h = self.host
        ctx = h.context
        if step in ("placeholders", "trim"):
            self.n += 1
        summary_file = None
        if step in ("summary", "digest"):
            # Summaries are numbered on their own: 001.md, 002.md, ... (placeholder-only
            # compactions write none).
            number = len(list((h.dir / SUMMARIES_DIR).glob("[0-9]*.md"))) + 1
            summary_file = f"{SUMMARIES_DIR}/{number:03d}.md"
            first, last = self._covers(dropped)
            note = f"; the model summary failed ({failure}), so this is the index digest" if failure else ""
            h.library.write_text(h.dir / summary_file,
                                 f"# Compaction {self.n} of session {h.id}\n"
                                 f"Covers events {first}–{last}; model {h.model.name}{note}.\n\n"
                                 f"{self.summary}\n")
        after = self.tokens()
        record = {"n": self.n, "step": step, "reason": reason, "model": h.model.name,
                  "window": budget.window, "limit": budget.limit, "tokens_before": before,
                  "tokens_after": after,
                  "kept_from": ctx.entries[0].event_id if ctx.entries else None,
                  "elided": [e.event_id for e in ctx.entries if e.elided],
                  "dropped": [dropped[0].event_id, dropped[-1].event_id] if dropped else None,
                  "summary_file": summary_file, "failure": failure, "summary": self.summary,
                  "head": ctx.summary}
        eid = h.archive.append("compaction", **record)
        h.index.flush()
        what = {"placeholders": "old tool results replaced by placeholders",
                "trim": "the current turn cut to fit (the archive keeps it whole)",
                "summary": f"summary in {summary_file}",
                "digest": (f"summary call failed ({oneline(failure, 120)}); " if failure else
                           "no model summary for a small model; ") + f"index digest in {summary_file}"}[step]
        h.emit("compaction", summary=f"#{self.n}, {before:,} → {after:,} tokens of "
               f"{budget.window:,}; {what}", event_id=eid, **{k: record[k] for k in (
                   "n", "step", "reason", "tokens_before", "tokens_after", "window",
                   "summary_file", "failure")})
        return {"id": eid, **record}
