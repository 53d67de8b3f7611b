"""Anthropic Messages API adapter: streaming, tool use, prompt caching, through the official SDK."""

from __future__ import annotations

import json
import os
from typing import Any, Iterator

from agentcli.models.base import ModelError, Request, TextCallback
from agentcli.models.errors import classify, stream_error
from agentcli.models.sdk_import import LazyClient, LazyConnection
from agentcli.models.catalog import context_window
from agentcli.models.streaming import Assembly, error_of, sse_events
from agentcli.tokens import estimate
from agentcli.types import Message, Reply, Usage

_CACHE = {"type": "ephemeral"}


class AnthropicModel(LazyConnection):
    """`anthropic/<model>`. Honours ANTHROPIC_API_KEY and ANTHROPIC_BASE_URL through the SDK."""

    lean = False

    def __init__(self, model: str, *, api_key: str | None = None, base_url: str | None = None,
                 context_window_override: int | None = None, max_retries: int = 2,
                 timeout: float = 600.0):
        self.model = model
        self.name = f"anthropic/{model}"
        self.context_window = context_window_override or context_window(model)
        key = api_key or os.environ.get("ANTHROPIC_API_KEY")
        if not key:
            raise ModelError("missing_key", "ANTHROPIC_API_KEY is not set", model=self.name)

        def build(sdk: Any) -> Any:
            client = sdk.Anthropic(api_key=key, base_url=base_url or None, max_retries=max_retries,
                                   timeout=timeout)
            client.messages  # noqa: B018 -- its first use imports the Messages API's types
            return client

        self._connection = LazyClient("anthropic", build)

    def count_tokens(self, text: str) -> int:
        return estimate(text)

    def complete(self, request: Request, on_text: TextCallback | None = None) -> Reply:
        params = self.build_params(request)
        client = self._client
        try:
            with client.messages.with_streaming_response.create(**params, stream=True) as response:
                return self._consume(sse_events(response.iter_bytes()), on_text)
        except ModelError:
            raise
        except Exception as exc:
            raise self._classify(exc) from exc

    def build_params(self, request: Request) -> dict[str, Any]:
        """The wire request. Cache breakpoints sit on the stable prefix and the conversation's end."""
        tools = [{"name": t.name, "description": t.describe(False), "input_schema": t.parameters}
                 for t in request.tools]
        if tools:
            tools[-1]["cache_control"] = _CACHE
        messages = to_wire(request.messages)
        _mark_cache(messages)
        params: dict[str, Any] = {
            "model": self.model,
            "max_tokens": request.max_tokens,
            "system": [{"type": "text", "text": request.system, "cache_control": _CACHE}],
            "messages": messages,
        }
        if tools:
            params["tools"] = tools
        return params

    def _consume(self, events: Iterator[tuple[str | None, str]], on_text: TextCallback | None) -> Reply:
        usage = Usage()
        reply = Assembly()
        stop_reason = "end_turn"
        finished = False
        for name, data in events:
            if name == "error":
                raise stream_error(error_of(data), self.name)
            if name is None or name == "ping" or not data:
                continue
            event = json.loads(data)
            kind = event.get("type")
            if kind == "message_start":
                u = event["message"].get("usage") or {}
                usage.input_tokens = u.get("input_tokens") or 0
                usage.cache_read_input_tokens = u.get("cache_read_input_tokens") or 0
                usage.cache_creation_input_tokens = u.get("cache_creation_input_tokens") or 0
                usage.output_tokens = u.get("output_tokens") or 0
            elif kind == "content_block_start":
                block = event["content_block"]
                if block.get("type") == "tool_use":
                    call = reply.call(event["index"])
                    call.id, call.name = block["id"], block["name"]
                elif block.get("type") == "text":
                    reply.add_text(block.get("text") or "")
            elif kind == "content_block_delta":
                delta = event["delta"]
                if delta.get("type") == "text_delta":
                    text = delta.get("text") or ""
                    reply.add_text(text)
                    if on_text and text:
                        on_text(text)
                elif delta.get("type") == "input_json_delta" and not reply.add_arguments(
                        event["index"], delta.get("partial_json") or ""):
                    stop_reason, finished = "tool_use", True  # a runaway call: refused,
                    break  # the rest of the stream unread (leaving closes the response)
            elif kind == "message_delta":
                stop_reason = (event.get("delta") or {}).get("stop_reason") or stop_reason
                output = (event.get("usage") or {}).get("output_tokens")
                if output is not None:
                    usage.output_tokens = output
            elif kind == "message_stop":
                finished = True
        if not finished:
            raise ModelError("connection", "the stream ended before the message was complete",
                             model=self.name)
        message = Message(role="assistant", content=reply.text, tool_calls=reply.tool_calls("toolu_"))
        return Reply(message=message, usage=usage, stop_reason=stop_reason, model=self.name)

    def _classify(self, exc: Exception) -> ModelError:
        return classify(exc, self._sdk, self.name, str(self._client.base_url))


def to_wire(messages: list[Message]) -> list[dict[str, Any]]:
    """Neutral messages as Anthropic's alternating user/assistant turns of content blocks."""
    out: list[dict[str, Any]] = []

    def push(role: str, block: dict[str, Any]) -> None:
        if out and out[-1]["role"] == role:
            out[-1]["content"].append(block)
        else:
            out.append({"role": role, "content": [block]})

    for m in messages:
        if m.role == "tool":
            push("user", {"type": "tool_result", "tool_use_id": m.tool_call_id,
                          "content": m.content or "(empty)", "is_error": m.is_error})
        elif m.role == "assistant":
            if m.content:
                push("assistant", {"type": "text", "text": m.content})
            for c in m.tool_calls:
                args = c.arguments if isinstance(c.arguments, dict) else {}
                push("assistant", {"type": "tool_use", "id": c.id, "name": c.name, "input": args})
            if not m.content and not m.tool_calls:
                push("assistant", {"type": "text", "text": "(no answer)"})
        else:
            push("user", {"type": "text", "text": m.content or "(empty)"})
    return out


def _mark_cache(messages: list[dict[str, Any]]) -> None:
    """Cache breakpoints on the last block of the last two user turns, so each request reads
    the previous turn's prefix from cache and writes its own."""
    marked = 0
    for msg in reversed(messages):
        if msg["role"] == "user" and marked < 2:
            msg["content"][-1] = {**msg["content"][-1], "cache_control": _CACHE}
            marked += 1
