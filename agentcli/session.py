"""A session: one conversation with its archive, context, model chain, tools and stop policy.

The session owns state and records everything; `loop.run` decides the order of things. Front
ends (headless run, chat) build a session from Settings, add prompts, run the loop, and read
events. Nothing here prints.
"""

from __future__ import annotations

import platform
import time
from datetime import date
from pathlib import Path
from typing import Any, Callable, Mapping

from agentcli import __version__, deadline, loop, modelchoice, sandbox
from agentcli.approval import Approval
from agentcli.config import Settings
from agentcli.events import Emitter
from agentcli.library import Library, manifest
from agentcli.library import resume as resuming
from agentcli.library.archive import ARCHIVE_NAME, Archive, ArchiveError, event_id, read_events
from agentcli.library.compaction import Compactor
from agentcli.library.context import Context
from agentcli.library.index import SessionIndex
from agentcli.tools.spill import NEVER_SPILL, needs_spill, spill, spill_path
from agentcli.library.trim import INTERRUPTED, repair
from agentcli.models import FailoverChain, Model, ModelError, Request
from agentcli.models.catalog import cost_usd
from agentcli.policy import Policy
from agentcli.resources import project_notes, prompt
from agentcli.library import codemap_tool, memory_tools
from agentcli.tools import CORE_TOOLS, ToolBox, ToolContext, Workspace
from agentcli.types import Message, Outcome, Reply, ToolCall, ToolResult, Usage, valid_text

LEAN_MAX_OUTPUT_TOKENS = 1024


class Session:
    """State of one conversation. Build with `Session.create`; drive with `run(prompt)`."""

    def __init__(self, settings: Settings, emit: Emitter, *, session_id: str, library: Library,
                 chain: FailoverChain, approval: Approval, policy: Policy):
        self.settings = settings
        self.emit = emit
        self.id = session_id
        self.library = library
        self.dir = library.session_dir(session_id)
        library.lock_session(session_id)  # one process appends to a session at a time
        self.archive = Archive(self.dir / ARCHIVE_NAME, redact=library.clean)
        self.index = SessionIndex(library, session_id)
        self.archive.observers.append(self.index.observe)
        self.chain = chain
        self.policy = policy
        self.context = Context()
        self.usage = Usage()
        self.cost: float | None = 0.0
        self.turns = 0
        self.started = time.monotonic()
        self.workspace = Workspace(settings.workspace, extra_roots=settings.extra_dirs,
                                   allow_outside=settings.allow_outside, protected=[library.root],
                                   ask_outside=lambda verb, real: approval.outside(verb, str(real)))
        self.tool_ctx = ToolContext(self.workspace, approve=approval, library=self)
        library_tools = {**memory_tools.TOOLS, **(codemap_tool.TOOLS if settings.code_map else {})}
        self.toolbox = ToolBox(CORE_TOOLS, self.tool_ctx).adding(library_tools)
        self.compactor = Compactor(self)
        self._partial: list[str] = []
        self._system: str | None = None
        self.system_notes: list[str] = []  # sections features add (`add_note`)
        self.hooks = loop.Hooks()  # the stop policy and compaction first, then features' hooks
        self.hooks.on("before_turn", lambda: self.policy.before_turn(self))
        self.hooks.on("before_request", self.fit_context)
        self.hooks.on("after_answer", lambda reply: self.policy.after_answer(self, reply))

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def create(cls, settings: Settings, emit: Emitter | None = None, *,
               approval: Approval | None = None, policy: Policy | None = None,
               session_id: str | None = None) -> Session:
        """A new session (with `session_id` when the caller needs it in advance, e.g. to name a
        git worktree after it). Raises ModelError (one line) when no model can be built,
        SandboxError when `--sandbox on` cannot be had."""
        library = Library.for_workspace(settings.workspace, settings.library_dir)
        manifest.check(library.root)  # a newer library, or no usable folder: one line, nothing written
        primary, why = modelchoice.primary_for_new(settings)
        session = cls._open(settings, emit, library, session_id or library.new_session_id(), primary,
                            why, approval, policy)
        try:
            session.archive.append("session_start", format=1, version=__version__,
                                   model=session.model.name, chain=session.chain.names,
                                   workspace=str(session.workspace.root),
                                   sandbox="bwrap" if "sandbox" in session.tool_ctx.services else None)
            session.index.flush()
            session.index.publish()
        except ArchiveError as err:  # e.g. a full disk: the session's folder is there all the same
            err.session_id = session.id
            raise
        return session

    @classmethod
    def resume(cls, settings: Settings, session_id: str, emit: Emitter | None = None, *,
               approval: Approval | None = None, policy: Policy | None = None) -> Session:
        """Continue session `session_id` (or the newest whose id starts with it): the window is
        rebuilt from its last compaction boundary plus the events after it, and a tool call
        that never got its result is recorded as interrupted, not run again. Raises
        LibraryError (unknown or busy session), ArchiveError or ModelError, in one line."""
        library = Library.for_workspace(settings.workspace, settings.library_dir)
        manifest.check(library.root)
        sid = library.resolve_session(session_id)
        library.lock_session(sid)
        rebuilt = resuming.rebuild(library.session_dir(sid) / ARCHIVE_NAME)
        primary, why = modelchoice.primary_for_resume(settings, rebuilt.model)
        session = cls._open(settings, emit, library, sid, primary, why, approval, policy)
        session.context = rebuilt.context
        session.usage, session.cost, session.turns = rebuilt.usage, rebuilt.cost, rebuilt.turns
        session.compactor.n, session.compactor.summary = rebuilt.compactions, rebuilt.summary
        session.index.rebuild(read_events(session.archive.path))
        session.archive.append("session_resume", model=session.model.name,
                               events=rebuilt.events, interrupted=len(rebuilt.missing))
        for _, call in rebuilt.missing:
            session._add_tool_message(call, ToolResult(INTERRUPTED, is_error=True,
                                                       meta={"interrupted": True}), 0.0)
        session.context.replace(repair(session.context.entries)[0], session.context.summary)
        session.archive.sync()
        session.index.flush()
        emit = session.emit
        emit("notice", level="info", text=f"resumed session {sid} on {session.model.name}: "
             f"{rebuilt.events} events, {rebuilt.compactions} compactions, "
             f"{session.context_tokens():,} tokens in the window"
             + (f", {len(rebuilt.missing)} interrupted tool call(s)" if rebuilt.missing else ""))
        return session

    @classmethod
    def _open(cls, settings: Settings, emit: Emitter | None, library: Library, session_id: str,
              primary: str, why: str, approval: Approval | None, policy: Policy | None) -> Session:
        emit = emit or Emitter()
        box, notice = sandbox.choose(settings.sandbox, headless=settings.headless)
        chain = modelchoice.chain_for(settings, primary)
        approval = approval or Approval(settings.approval, allow_outside=settings.allow_outside,
                                        roots=[settings.workspace, *settings.extra_dirs])
        session = cls(settings, emit, session_id=session_id, library=library, chain=chain,
                      approval=approval,
                      policy=policy or Policy(settings.max_turns))
        try:
            model = chain.switch_to(primary)  # the model asked for must work: fail now, in one line
        except BaseException:
            library.discard_session(session_id)  # a failed start leaves no empty session folder
            raise
        if why:
            emit("notice", text=f"model: {model.name} ({why})", level="info")
        session.tool_ctx.lean = model.lean
        for opener in settings.toolsets:  # tools of features (MCP servers), once the model works
            toolset = opener(settings, emit)
            if toolset is not None:
                session.tool_ctx.toolsets.append(toolset)
        if session.tool_ctx.toolsets:
            session.toolbox = session.toolbox.adding({})
        if box is not None:
            session.tool_ctx.services["sandbox"] = box
        approval.sealable = box is not None  # readonly runs commands only in a read-only sandbox
        if not settings.headless:  # a chat without a sandbox: `auto` refuses commands naming
            approval.sandboxed = box is not None  # paths outside (headless auto runs them all)
        if notice:
            emit("notice", text=notice, level="warning")
        return session

    # -- what the loop calls ------------------------------------------------------------------

    @property
    def model(self) -> Model:
        return self.chain.current

    def run(self, prompt_text: str | None) -> Outcome:
        """Add a user prompt (None: go on with the task the session stopped in) and run the
        loop until it stops."""
        if prompt_text is not None:
            self.add_user(prompt_text)
        self.policy.reset()
        self._restore_preferred()
        outcome = loop.run(self)
        self.archive.append("run_end", stop_reason=outcome.stop_reason, is_error=outcome.is_error,
                            result=outcome.result[:2000], turns=self.turns, usage=self.usage.to_dict())
        self.archive.sync()
        self.index.flush()
        self.index.publish()
        self.emit("final", outcome=outcome)
        return outcome

    def unfinished(self) -> bool:
        """Whether the conversation stopped before the model answered (a crash, a provider
        error, a stop from outside): then it can go on without a new prompt."""
        entries = self.context.entries
        if not entries:
            return False
        last = entries[-1].message
        return last.role != "assistant" or bool(last.tool_calls)

    def add_user(self, text: str) -> None:
        message = Message(role="user", content=valid_text(text))
        eid = self.archive.append("user", message=message.to_dict())
        self.context.add(eid, message)

    def system_prompt(self) -> str:
        """Built once and kept, so the request prefix stays byte-identical for prompt caches;
        rebuilt (re-reading AGENTS.md) after a model switch or a compaction."""
        if self._system is None:
            self._system = self._build_system_prompt()
        return self._system

    def _build_system_prompt(self) -> str:
        lean = self.model.lean
        parts = [prompt("system_lean.md" if lean else "system.md").strip()]
        parts.append(f"# Environment\nWorkspace: {self.workspace.root}\nDate: {date.today()}\n"
                     f"Platform: {platform.system()} {platform.machine()}")
        if lean:  # small models guess paths; show them the files
            from agentcli.local.lean import outline

            parts.append(outline(self.workspace.root) or "")
        if self.settings.code_map:  # where things are defined and used, within a token budget
            from agentcli.library.codemap import prompt_section

            parts.append(prompt_section(self.library, self.workspace.root, lean) or "")
        notes = project_notes(self.workspace.root)
        if notes:
            parts.append(notes)
        parts.extend(self.system_notes)
        return "\n\n".join(p for p in parts if p)

    def request(self) -> Request:
        model = self.model
        max_tokens = min(self.settings.max_output_tokens,
                         LEAN_MAX_OUTPUT_TOKENS if model.lean else self.settings.max_output_tokens,
                         max(256, model.context_window // 4))  # leave the window to the input
        return Request(system=self.system_prompt(), messages=self.context.messages,
                       tools=self.toolbox.specs, max_tokens=max_tokens)

    def fit_context(self) -> None:
        """Before a model call: compact if the request would not fit the current model's window
        (after a failover to a smaller model too). Emits `compaction` when it does."""
        self.compactor.fit()

    def compact(self, instructions: str | None = None) -> dict[str, Any] | None:
        """Compact now (`/compact`); `instructions` steer the summary. Returns the boundary
        record, or None when there was nothing to compact."""
        return self.compactor.compact("manual", instructions)

    def context_tokens(self) -> int:
        """Tokens the next request will hold: the provider's last count plus what came since."""
        return self.compactor.tokens()

    def context_breakdown(self) -> dict[str, int]:
        """Estimated tokens by part: system, tools, summary, messages, tool_results."""
        return self.compactor.breakdown()

    def call_model(self) -> Reply:
        self._partial = []
        model = self.model

        def on_text(text: str) -> None:
            self._partial.append(text)
            self.emit("text", text=text)

        self.compactor.before_call()
        with deadline.guard(self.tool_ctx.deadline):
            reply = model.complete(self.request(), on_text)
        self.compactor.after_call(reply.window_tokens or reply.usage.prompt_tokens)
        self.chain.on_success()
        return reply

    def recover(self, err: ModelError) -> str:
        """After a failed model call: "retry" (same or next model) or "give_up"."""
        failed = self.model.name
        if err.kind == "context_length" and self.compactor.on_overflow():
            self.archive.append("error", source="model", model=failed, kind=err.kind,
                                message=str(err), action="compacted")
            return "retry"
        action = self.chain.on_error(err)
        self.archive.append("error", source="model", model=failed, kind=err.kind, message=str(err),
                            action=action)
        if action == "retry":
            self.emit("notice", text=f"{err} — retrying", level="warning")
        elif action == "switched":
            self._switched(failed, str(err))
        return "give_up" if action == "give_up" else "retry"

    def record_reply(self, reply: Reply) -> None:
        # A model can send text no file or request can hold; it would poison every later turn.
        reply.message = Message.from_dict(valid_text(reply.message.to_dict()))
        self.turns += 1
        self.usage.add(reply.usage)
        cost = cost_usd(reply.model, reply.usage)
        self.cost = None if cost is None or self.cost is None else round(self.cost + cost, 6)
        eid = self.archive.append("assistant", message=reply.message.to_dict(), model=reply.model,
                                  usage=reply.usage.to_dict(), stop_reason=reply.stop_reason)
        self.context.add(eid, reply.message)
        self.emit("assistant", message=reply.message, usage=reply.usage, model=reply.model)

    def run_tool(self, call: ToolCall) -> ToolResult:
        self.archive.append("tool_call", call=call.to_dict())
        self.emit("tool_call", call=call)
        started = time.monotonic()
        with deadline.guard(self.tool_ctx.deadline):
            result = self.toolbox.dispatch(call)
        # Secrets the tool printed (an env dump, a key file) reach neither the model nor reports.
        result.content = self.library.redact(result.content)
        elapsed = round(time.monotonic() - started, 3)
        self._add_tool_message(call, result, elapsed)
        self.emit("tool_result", call=call, result=result, elapsed_s=elapsed)
        return result

    def end_turn(self) -> None:
        self.archive.sync_soon()
        self.index.flush(force=False)
        self._restore_preferred()

    def _restore_preferred(self) -> None:
        """After a failover, go back to the preferred model once its cool-down is over."""
        old = self.chain.current_name
        if self.chain.maybe_restore():
            self._switched(old, "back to the preferred model after its cool-down")

    def record_interrupted_reply(self, why: str = "interrupted by the user") -> None:
        partial = "".join(self._partial)
        message = Message(role="assistant", content=(partial + f"\n[{why}]").strip())
        eid = self.archive.append("assistant", message=message.to_dict(), model=self.model.name,
                                  usage=Usage().to_dict(), stop_reason="interrupted")
        self.context.add(eid, message)
        self.archive.sync()

    def record_interrupted_tools(self, calls: list[ToolCall], why: str = "interrupted by the user") -> None:
        for call in calls:
            self._add_tool_message(call, ToolResult(f"{why} before it finished", is_error=True), 0.0)
        self.archive.sync()

    def switch_model(self, name: str) -> Model:
        """Continue this session on `name` (the user asked). Raises ModelError if unusable."""
        old = self.chain.current_name
        model = self.chain.switch_to(name)
        self._switched(old, "switched by the user")
        return model

    def close(self) -> None:
        """Make the archive durable and release the session, so it can be resumed elsewhere."""
        self.archive.close()
        self.index.flush()
        self.library.close_indexes()
        self.library.unlock_session(self.id)
        for toolset in self.tool_ctx.toolsets:
            toolset.close()

    # -- what a feature changes (loop.Host) ------------------------------------------------------

    def add_tools(self, tools: Mapping[str, Callable[..., Any]]) -> None:
        self.toolbox = self.toolbox.adding(dict(tools))

    def add_note(self, text: str) -> None:
        self.system_notes.append(text)
        self._system = None

    def provide(self, name: str, service: Any) -> None:
        self.tool_ctx.services[name] = service

    def protect(self, path: Path) -> None:
        self.workspace.protected.append(path)

    def set_deadline(self, at: float | None) -> None:
        self.tool_ctx.deadline = at

    # -- internals ----------------------------------------------------------------------------

    def _add_tool_message(self, call: ToolCall, result: ToolResult, elapsed: float) -> None:
        message = Message(role="tool", content=result.content, tool_call_id=call.id, name=call.name,
                          is_error=result.is_error)
        shown, extra = message, {}
        window = self.model.context_window
        if call.name not in NEVER_SPILL and needs_spill(result.content, window):
            # The archive keeps it whole; the window gets a preview pointing at it.
            next_id = event_id(self.archive.count + 1)
            spilled = spill(self.library, self.dir, next_id, result.content, window,
                            display=self.workspace.display(spill_path(self.dir, next_id)))
            shown = Message(role="tool", content=spilled.shown, tool_call_id=call.id,
                            name=call.name, is_error=result.is_error)
            extra = {"shown": spilled.shown, "spill": spilled.path.relative_to(self.dir).as_posix()}
        eid = self.archive.append("tool_result", message=message.to_dict(), meta=result.meta,
                                  elapsed_s=elapsed, **extra)
        self.context.add(eid, shown)

    def _switched(self, old: str, reason: str) -> None:
        new = self.model
        self.tool_ctx.lean = new.lean
        self._system = None
        self.archive.append("model_switch", old=old, new=new.name, reason=reason)
        self.emit("model_switch", old=old, new=new.name, reason=reason)

