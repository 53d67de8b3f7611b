"""`local/<model>`: the bundled GGUF (or any GGUF file) through llama-cpp-python.

llama.cpp runs in a worker process (`agentcli.local.worker`): if it crashes, this adapter raises
ModelError("crashed") and the session fails over or stops with a resume command; the agent's
own process never runs native decoding code.

The prompt is written with the GGUF's own chat template (tools included); tool calls are read
back out of the text by `textcalls`, in whatever form the model wrote them. `agentcli.local.reply`
decides how each reply is decoded and what each decode comes to (the rules of
`agentcli.local.rules`); this adapter only decodes under the constraints it asks for
(`Steering.ask`) and hands each decode back (up to `reply.MAX_ATTEMPTS`). Only the settled reply
reaches the conversation; its usage counts every decode.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from agentcli import config
from agentcli.local import assets, chat, harness, lean, reply
from agentcli.local.runtime import Generation, Sampling
from agentcli.local.worker import RemoteEngine, WorkerDied, engine
from agentcli.models.base import ModelError, Request, TextCallback
from agentcli.models.textcalls import stop_after_call
from agentcli.types import Message, Reply, ToolSpec, Usage

MIN_ROOM = 64  # tokens left for the reply below which a prompt counts as too long
RETRY_SAMPLING = Sampling(temperature=0.7)
# Told to answer in words, a call object in the text is where its words end.
WORDS_STOP = {"words": ('{"name"', '{ "name"')}


class LocalModel:
    """A GGUF model run in this process. `lean`: short prompts, one call per turn, steering."""

    lean = True

    def __init__(self, model: str, *, context_window_override: int | None = None,
                 ground_first: bool = True):
        if not assets.runtime_available():
            raise ModelError("not_installed", "llama-cpp-python is not installed; run: "
                             "pip install 'agentcli[llama]'", model=f"local/{model}")
        path, self.name = _locate(model)
        window = context_window_override or config.env().local_context
        try:  # None: the worker picks the window for the device it finds
            self.engine: RemoteEngine = engine(path, window, assets.cache_dir().parent / "worker.log")
        except WorkerDied as exc:
            raise ModelError("crashed", str(exc), model=self.name) from exc
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelError("not_installed", f"cannot load {path}: {exc}", model=self.name) from exc
        self.context_window = self.engine.n_ctx
        self.ground_first = ground_first
        self.sampling = Sampling()
        self._renderer = chat.Renderer(self.engine.chat_template)
        self._call_token = self.engine.token_id(chat.CALL_OPEN.strip())
        self.prefix_cache: Path | None = (assets.cache_dir().parent / "kv"
                                          if config.env().local_prefix_cache else None)
        self.last_generation: Generation | None = None

    def render_prompt(self, request: Request) -> str:
        """The prompt text for `request` as the model reads it (for benchmarks and debugging)."""
        return self._renderer.render(request.system, request.messages,
                                     lean.order_tools(request.tools), lean=True)

    def count_tokens(self, text: str) -> int:
        """Tokens by the GGUF's own tokenizer (an estimate if the worker just died: the next
        model call starts a new one, or reports the crash)."""
        try:
            return self.engine.count(text)
        except WorkerDied:
            return len(text) // 3 + 1 if text else 0

    def complete(self, request: Request, on_text: TextCallback | None = None) -> Reply:
        tools = lean.order_tools(request.tools)
        names = {t.name for t in tools}
        own = harness.own_calls(request.messages, request.system, names, pack_code=self.ground_first)
        if own:
            return Reply(message=Message(role="assistant", content="", tool_calls=own),
                         usage=Usage(), stop_reason="tool_use", model=self.name)
        steering = reply.begin(request, names, ground_first=self.ground_first and bool(tools))
        usage = Usage()
        window = 0
        for attempt in range(reply.MAX_ATTEMPTS):
            ask = steering.ask
            prompt = self._renderer.render(request.system, request.messages, tools, lean=True,
                                           extra_user=ask.note)
            gen = self._decode(prompt, ask.prefix, request.max_tokens, tools, ask.mode, attempt,
                               on_text if ask.mode == "free" and attempt == 0 else None, ask.only)
            window = window or gen.prompt_tokens  # the conversation as sent, before any note
            usage.add(Usage(input_tokens=gen.prompt_tokens - gen.reused_tokens,
                            output_tokens=len(gen.tokens), cache_read_input_tokens=gen.reused_tokens))
            if steering.judge(gen.text, gen.finish, attempt):
                break
        calls = steering.calls
        stop = "tool_use" if calls else ("max_tokens" if gen.finish == "length" else "end_turn")
        message = Message(role="assistant", content=steering.text.strip(), tool_calls=calls)
        return Reply(message=message, usage=usage, stop_reason=stop, model=self.name,
                     window_tokens=window or None)

    def _decode(self, prompt: str, prefix: str, max_tokens: int, tools: list[ToolSpec], mode: str,
                attempt: int, on_text: TextCallback | None, only: tuple[str, ...] = ()) -> Generation:
        """Continue `prompt` + `prefix` (the start of the reply written for the model); in
        "call" mode the call may only name a tool in `only` (empty: any)."""
        try:
            return self._decode_in_worker(prompt, prefix, max_tokens, tools, mode, attempt, on_text, only)
        except WorkerDied as exc:  # the worker is gone; the agent is not
            raise ModelError("crashed", str(exc), model=self.name) from exc

    def _decode_in_worker(self, prompt: str, prefix: str, max_tokens: int, tools: list[ToolSpec],
                          mode: str, attempt: int, on_text: TextCallback | None,
                          only: tuple[str, ...]) -> Generation:
        source = chat.instructions(prompt)
        tokens = self.engine.tokenize(prompt + prefix)
        room = self.context_window - len(tokens)
        if self.prefix_cache is not None and room >= MIN_ROOM:
            self._warm(prompt + prefix, tokens)
        if room < MIN_ROOM:
            raise ModelError("context_length", f"the prompt is {len(tokens):,} tokens and the "
                             f"window is {self.context_window:,}", model=self.name)
        masks: dict[str, Any] = {}
        if mode == "grammar":
            masks["grammar_schema"] = json.dumps(lean.call_schema(tools, True))
        elif mode == "call":
            masks["first_allowed"] = self._name_starts([t for t in tools if t.name in only] or tools)
        elif mode == "words":
            masks["first_banned"] = self.engine.tokens_starting_with("{<`[")
            masks["banned"] = [self._call_token] if self._call_token is not None else []
        try:
            gen = self.engine.generate(
                tokens, max_tokens=min(max_tokens, room),
                sampling=self.sampling if attempt == 0 else RETRY_SAMPLING,
                stop=(chat.CALL_CLOSE, "\n" + chat.RESULT_OPEN, chat.RESULT_CLOSE) + WORDS_STOP.get(mode, ()),
                stop_when=lambda text: stop_after_call(prefix + text) or chat.echoes(text, source),
                on_text=_HoldBackCalls(on_text) if on_text else None, **masks)
        except (RuntimeError, ValueError) as exc:  # llama.cpp failed to decode
            raise ModelError("server", f"llama.cpp failed: {exc}", model=self.name) from exc
        if chat.echoes(gen.text, source):
            gen.text = ""  # it was reciting its instructions: no answer, and no call in it
        self.last_generation = gen
        return gen

    def _warm(self, prompt: str, tokens: list[int]) -> None:
        """On the first call of a process, load the system turn's KV cache from disk (or save it)."""
        end = prompt.find(chat.TURN_END)
        if end < 0 or self.engine.cached_tokens() > 0:
            return
        prefix = self.engine.tokenize(prompt[: end + len(chat.TURN_END)])
        if tokens[: len(prefix)] == prefix:
            self.engine.warm(self.prefix_cache, prefix)  # a cache that fails only costs time

    def _name_starts(self, tools: list[ToolSpec]) -> list[int]:
        """The first token of each tool's name, right after the forced opener."""
        base = self.engine.tokenize(chat.CALL_PREFIX)
        starts = set()
        for t in tools:
            full = self.engine.tokenize(chat.CALL_PREFIX + t.name + '"')
            if full[: len(base)] == base and len(full) > len(base):
                starts.add(full[len(base)])
        return sorted(starts)


class _HoldBackCalls:
    """Streams text to the user until a tool call (or an imagined tool result) starts: neither is
    prose. A tail that may be the start of such a tag waits for the next piece."""

    TAGS = (chat.CALL_OPEN.strip(), chat.RESULT_OPEN)

    def __init__(self, on_text: TextCallback):
        self.on_text = on_text
        self.open = True
        self.pending = ""

    def __call__(self, piece: str) -> None:
        if not self.open:
            return
        self.pending += piece
        hits = [self.pending.index(t) for t in self.TAGS if t in self.pending]
        if hits:
            emit, self.pending, self.open = self.pending[:min(hits)], "", False
        else:
            cut = self.pending.rfind("<")
            hold = cut >= 0 and any(t.startswith(self.pending[cut:]) for t in self.TAGS)
            emit, self.pending = (self.pending[:cut], self.pending[cut:]) if hold else (self.pending, "")
        if emit:
            self.on_text(emit)


def _locate(model: str) -> tuple[Path, str]:
    """The GGUF for `model` (a bundled name, or a path to a .gguf) and the model's full name."""
    if model.endswith(".gguf") or os.sep in model:
        path = Path(model).expanduser()
        if not path.is_file():
            raise ModelError("not_installed", f"no GGUF file at {path}", model=f"local/{model}")
        return path.resolve(), f"local/{model}"
    try:
        spec = assets.lookup(model)
        return assets.ensure(spec), spec.name
    except assets.AssetError as exc:
        raise ModelError("not_installed", str(exc), model=f"local/{model}") from exc
