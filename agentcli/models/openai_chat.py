"""OpenAI chat-completions adapter, for OpenAI and any OpenAI-compatible server.

Ollama, llama.cpp's server, vLLM and LM Studio speak this wire through `--base-url` or
OPENAI_BASE_URL. Servers that leave tool calls inside the text get them parsed out.
"""

from __future__ import annotations

import json
import os
import uuid
from typing import Any, Iterator

from agentcli.models.base import ModelError, ReplySteering, Request, Steering, TextCallback
from agentcli.models.errors import classify, stream_error
from agentcli.models.sdk_import import LazyClient, LazyConnection
from agentcli.models.catalog import context_window
from agentcli.models.openai_wire import raw_text, steered_params, to_wire
from agentcli.models.streaming import Assembly, error_of, sse_events
from agentcli.models.textcalls import extract
from agentcli.tokens import estimate
from agentcli.types import REFUSED, Message, Reply, ToolCall, Usage

OFFICIAL_HOST = "api.openai.com"


class OpenAIModel(LazyConnection):
    """`openai/<model>`. Honours OPENAI_API_KEY and OPENAI_BASE_URL through the SDK."""

    def __init__(self, model: str, *, api_key: str | None = None, base_url: str | None = None,
                 context_window_override: int | None = None, max_retries: int = 2,
                 timeout: float = 600.0, lean: bool = False, steering: Steering | None = None):
        self.model = model
        self.steering = steering
        self.name = f"openai/{model}"
        self.context_window = context_window_override or context_window(model)
        self.lean = lean
        base_url = base_url or os.environ.get("OPENAI_BASE_URL") or None
        self.official = base_url is None or OFFICIAL_HOST in base_url
        key = api_key or os.environ.get("OPENAI_API_KEY")
        if not key:
            if self.official:
                raise ModelError("missing_key", "OPENAI_API_KEY is not set", model=self.name)
            key = "not-needed"  # local OpenAI-compatible servers accept any key
        self._stream_usage = True
        self._tool_choice = True  # False once the server refused a forced tool choice

        def build(sdk: Any) -> Any:
            client = sdk.OpenAI(api_key=key, base_url=base_url, max_retries=max_retries, timeout=timeout)
            client.chat.completions  # noqa: B018 -- its first use imports the chat API's types
            return client

        self._connection = LazyClient("openai", build)

    def count_tokens(self, text: str) -> int:
        return estimate(text)

    def complete(self, request: Request, on_text: TextCallback | None = None) -> Reply:
        names = {t.name for t in request.tools}
        steering = self.steering
        if steering is None:
            return self._ask(self.build_params(request), on_text, names)
        own = steering.own_calls(request.messages, request.system, names)
        if own:  # a small model: the harness's own steps first
            message = Message(role="assistant", content="", tool_calls=own)
            return Reply(message=message, usage=Usage(), stop_reason="tool_use", model=self.name)
        return self._steered(request, steering.begin(request, names), on_text)

    def _steered(self, request: Request, steering: ReplySteering, on_text: TextCallback | None) -> Reply:
        """One reply under the small-model rules: each request asks for what the rules' mode
        comes to on this wire (`steered_params`), and what it came to goes back to them as text,
        calls written out, until they settle it. Only a first request in free mode streams to
        the user, as for the bundled model; usage counts every request."""
        base = self.build_params(request)
        usage = Usage()
        finish, window = "stop", 0
        for attempt in range(steering.max_attempts):
            mode, note, only = steering.ask()
            if not self._stream_usage:  # refused by an earlier request of this reply
                base.pop("stream_options", None)
            params = steered_params(base, mode, note, only, tool_choice=self._tool_choice)
            got = self._ask(params, on_text if mode == "free" and attempt == 0 else None, None)
            usage.add(got.usage)
            window = window or got.usage.prompt_tokens  # the conversation as sent, not the sum
            if any((c.parse_error or "").startswith(REFUSED) for c in got.tool_calls):
                got.usage = usage  # a runaway call, cut off: refused as it is, nothing to steer
                return got
            finish = "length" if got.stop_reason == "max_tokens" else "stop"
            if steering.judge(raw_text(got.message), finish, attempt):
                break
        calls = steering.calls
        stop = "tool_use" if calls else ("max_tokens" if finish == "length" else "end_turn")
        message = Message(role="assistant", content=steering.text.strip(), tool_calls=calls)
        return Reply(message=message, usage=usage, stop_reason=stop, model=self.name,
                     window_tokens=window or None)

    def _ask(self, params: dict[str, Any], on_text: TextCallback | None, names: set[str] | None) -> Reply:
        """One request; `names` None: calls written in the text stay text (the steering reads
        them)."""
        client = self._client
        try:
            return self._ask_with_fallbacks(client, params, on_text, names)
        except ModelError:
            raise
        except Exception as exc:
            raise self._classify(exc) from exc

    def _ask_with_fallbacks(self, client: Any, params: dict[str, Any], on_text: TextCallback | None,
                            names: set[str] | None) -> Reply:
        """Compatible servers that refuse a parameter (HTTP 400 or 422) are asked again without
        it, and not sent it again this session: `stream_options` (older servers), `tool_choice`
        (servers without forced calls: the rules' note alone asks for the call). A request that
        fails without `tool_choice` too failed for another reason, and keeps it."""
        refused = (self._sdk.BadRequestError, self._sdk.UnprocessableEntityError)
        try:
            return self._stream(client, params, on_text, names)
        except refused as exc:
            if "stream_options" in str(exc) and "stream_options" in params:
                self._stream_usage = False
                params.pop("stream_options")
                return self._ask_with_fallbacks(client, params, on_text, names)
            if "tool_choice" not in params:
                raise
            params.pop("tool_choice")
            reply = self._ask_with_fallbacks(client, params, on_text, names)
            self._tool_choice = False
            return reply

    def _stream(self, client: Any, params: dict[str, Any], on_text: TextCallback | None,
                tool_names: set[str] | None) -> Reply:
        with client.chat.completions.with_streaming_response.create(**params) as response:
            return self._consume(sse_events(response.iter_bytes()), on_text, tool_names)

    def build_params(self, request: Request) -> dict[str, Any]:
        messages: list[dict[str, Any]] = [{"role": "system", "content": request.system}]
        messages += to_wire(request.messages)
        params: dict[str, Any] = {"model": self.model, "messages": messages, "stream": True}
        if self._stream_usage:
            params["stream_options"] = {"include_usage": True}
        if request.tools:
            params["tools"] = [{"type": "function", "function": {
                "name": t.name, "description": t.describe(self.lean), "parameters": t.schema(self.lean)}}
                for t in request.tools]
        # Newer OpenAI models accept only max_completion_tokens; compatible servers know max_tokens.
        params["max_completion_tokens" if self.official else "max_tokens"] = request.max_tokens
        return params

    def _consume(self, events: Iterator[tuple[str | None, str]], on_text: TextCallback | None,
                 tool_names: set[str] | None) -> Reply:
        reply = Assembly()
        usage = Usage()
        finish = None
        for _, data in events:
            if data.startswith("[DONE]"):
                break
            chunk = json.loads(data)
            if not isinstance(chunk, dict):
                continue
            if chunk.get("error"):
                raise stream_error(error_of(data), self.name)
            if chunk.get("usage"):
                usage = _usage(chunk["usage"])
            for choice in chunk.get("choices") or []:
                delta = choice.get("delta")
                if delta and not _take(reply, delta, on_text):
                    # A runaway call: refused, the rest unread (leaving closes the response).
                    return self._reply(reply, "tool_calls", usage, tool_names)
                if choice.get("finish_reason"):
                    finish = choice["finish_reason"]
        if finish is None:
            raise ModelError("connection", "the stream ended before a finish reason",
                             model=self.name)
        return self._reply(reply, finish, usage, tool_names)

    def _reply(self, reply: Assembly, finish: str, usage: Usage, tool_names: set[str] | None) -> Reply:
        text = reply.text
        # Ids the server gave are kept; made up where it gave none, unique across the session,
        # since results are matched to calls by id.
        turn = uuid.uuid4().hex[:8]
        tool_calls = reply.tool_calls(id_prefix=f"call_{turn}_")
        if not tool_calls and not self.official and tool_names is not None:
            found = extract(text, tool_names)
            if found.calls or found.errors:
                text, tool_calls = found.text, found.calls
                tool_calls += [ToolCall(f"call_bad_{turn}_{i}", "(unparsed)", None, raw, e)
                               for i, (e, raw) in enumerate(zip(found.errors, found.unread))]
        stop = {"stop": "end_turn", "tool_calls": "tool_use", "length": "max_tokens"}.get(finish, finish)
        if tool_calls:
            stop = "tool_use"
        message = Message(role="assistant", content=text, tool_calls=tool_calls)
        return Reply(message=message, usage=usage, stop_reason=stop, model=self.name)

    def _classify(self, exc: Exception) -> ModelError:
        return classify(exc, self._sdk, self.name, str(self._client.base_url))


def _usage(u: dict[str, Any]) -> Usage:
    prompt = u.get("prompt_tokens") or 0
    details = u.get("prompt_tokens_details")
    cached = (details.get("cached_tokens") or 0) if isinstance(details, dict) else 0
    return Usage(input_tokens=prompt - cached, output_tokens=u.get("completion_tokens") or 0,
                 cache_read_input_tokens=cached)


def _take(reply: Assembly, delta: dict[str, Any], on_text: TextCallback | None) -> bool:
    """Add one delta's text and tool-call pieces; False when a call's arguments passed the cap."""
    content = delta.get("content")
    if content:
        reply.add_text(content)
        if on_text:
            on_text(content)
    for tc in delta.get("tool_calls") or []:
        index = tc.get("index")
        index = index if index is not None else reply.call_count
        slot = reply.call(index)
        slot.id = tc.get("id") or slot.id
        function = tc.get("function")
        if function:
            slot.name += function.get("name") or ""
            if function.get("arguments") and not reply.add_arguments(index, function["arguments"]):
                return False
    return True
