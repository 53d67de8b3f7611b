"""The wire formats the scripted server writes: Anthropic Messages and OpenAI chat-completions,
as whole JSON bodies and as server-sent events."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from agentcli.testing.script import ScriptedRequest, Turn

_ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error",
                500: "api_error", 503: "api_error", 529: "overloaded_error"}


def _tokens(text: str) -> int:
    return max(1, len(text) // 4)


def _usage(turn: Turn, request: ScriptedRequest) -> dict[str, int]:
    if turn.usage:
        return dict(turn.usage)
    out = turn.text + "".join(json.dumps(c.get("arguments")) for c in turn.tool_calls)
    return {"input_tokens": _tokens(json.dumps(request.body)), "output_tokens": _tokens(out)}


def _args_text(call: dict[str, Any]) -> str:
    args = call.get("arguments", {})
    return args if isinstance(args, str) else json.dumps(args)


def _call_id(call: dict[str, Any], prefix: str) -> str:
    return call.get("id") or f"{prefix}{uuid.uuid4().hex[:20]}"


def error_body(provider: str, status: int, message: str) -> dict[str, Any]:
    kind = _ERROR_TYPES.get(status, "api_error")
    if provider == "anthropic":
        return {"type": "error", "error": {"type": kind, "message": message}}
    return {"error": {"message": message, "type": kind, "param": None, "code": kind}}


def full_body(provider: str, turn: Turn, model: str, request: ScriptedRequest) -> dict[str, Any]:
    usage = _usage(turn, request)
    if provider == "anthropic":
        content: list[dict[str, Any]] = [{"type": "text", "text": turn.text}] if turn.text else []
        for call in turn.tool_calls:
            args = call.get("arguments", {})
            content.append({"type": "tool_use", "id": _call_id(call, "toolu_"), "name": call["name"],
                            "input": args if isinstance(args, dict) else {}})
        return {"id": f"msg_{uuid.uuid4().hex[:24]}", "type": "message", "role": "assistant",
                "model": model, "content": content,
                "stop_reason": "tool_use" if turn.tool_calls else "end_turn", "stop_sequence": None,
                "usage": {"cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, **usage}}
    message: dict[str, Any] = {"role": "assistant", "content": turn.text or None}
    if turn.tool_calls:
        message["tool_calls"] = [{"id": _call_id(c, "call_"), "type": "function",
                                  "function": {"name": c["name"], "arguments": _args_text(c)}}
                                 for c in turn.tool_calls]
    return {"id": f"chatcmpl-{uuid.uuid4().hex[:24]}", "object": "chat.completion",
            "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "message": message,
                         "finish_reason": "tool_calls" if turn.tool_calls else "stop"}],
            "usage": {"prompt_tokens": usage["input_tokens"], "completion_tokens": usage["output_tokens"],
                      "total_tokens": usage["input_tokens"] + usage["output_tokens"]}}


def _pieces(text: str, size: int = 12) -> list[str]:
    return [text[i:i + size] for i in range(0, len(text), size)] or []


def sse_events(provider: str, turn: Turn, model: str, request: ScriptedRequest) -> list[bytes]:
    events = _anthropic_sse(turn, model, request) if provider == "anthropic" \
        else _openai_sse(turn, model, request)
    if turn.stream_error:
        cut = max(1, len(events) // 2)
        if provider == "anthropic":
            err = _event("error", {"type": "error", "error": {"type": "overloaded_error",
                                                             "message": turn.stream_error}})
        else:
            err = b"data: " + json.dumps({"error": {"message": turn.stream_error,
                                                    "type": "server_error"}}).encode() + b"\n\n"
        events = events[:cut] + [err]
    if turn.corrupt_event is not None and events:
        i = min(turn.corrupt_event, len(events) - 1)
        events[i] = b"event: content_block_delta\ndata: {\"type\": \"content_block_delta\", \"ind\n\n" \
            if provider == "anthropic" else b"data: {\"id\": \"chatcmpl-cut\", \"choi\n\n"
    return events


def _event(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()


def _anthropic_sse(turn: Turn, model: str, request: ScriptedRequest) -> list[bytes]:
    usage = _usage(turn, request)
    start_usage = {"input_tokens": usage["input_tokens"], "output_tokens": 1,
                   "cache_creation_input_tokens": usage.get("cache_creation_input_tokens", 0),
                   "cache_read_input_tokens": usage.get("cache_read_input_tokens", 0)}
    out = [_event("message_start", {"type": "message_start", "message": {
        "id": f"msg_{uuid.uuid4().hex[:24]}", "type": "message", "role": "assistant", "model": model,
        "content": [], "stop_reason": None, "stop_sequence": None, "usage": start_usage}}),
        _event("ping", {"type": "ping"})]
    index = 0
    if turn.text:
        out.append(_event("content_block_start", {"type": "content_block_start", "index": index,
                                                  "content_block": {"type": "text", "text": ""}}))
        for piece in _pieces(turn.text, turn.piece_chars or 12):
            out.append(_event("content_block_delta", {"type": "content_block_delta", "index": index,
                                                      "delta": {"type": "text_delta", "text": piece}}))
        out.append(_event("content_block_stop", {"type": "content_block_stop", "index": index}))
        index += 1
    for call in turn.tool_calls:
        out.append(_event("content_block_start", {"type": "content_block_start", "index": index,
                                                  "content_block": {"type": "tool_use",
                                                                    "id": _call_id(call, "toolu_"),
                                                                    "name": call["name"], "input": {}}}))
        for piece in _pieces(_args_text(call), turn.piece_chars or 20):
            out.append(_event("content_block_delta", {"type": "content_block_delta", "index": index,
                                                      "delta": {"type": "input_json_delta",
                                                                "partial_json": piece}}))
        out.append(_event("content_block_stop", {"type": "content_block_stop", "index": index}))
        index += 1
    out.append(_event("message_delta", {"type": "message_delta",
                                        "delta": {"stop_reason": "tool_use" if turn.tool_calls
                                                  else "end_turn", "stop_sequence": None},
                                        "usage": {"output_tokens": usage["output_tokens"]}}))
    out.append(_event("message_stop", {"type": "message_stop"}))
    return out


def _openai_sse(turn: Turn, model: str, request: ScriptedRequest) -> list[bytes]:
    cid = f"chatcmpl-{uuid.uuid4().hex[:24]}"
    created = int(time.time())

    def chunk(delta: dict[str, Any], finish: str | None = None, usage: Any = None,
              choices: bool = True) -> bytes:
        obj: dict[str, Any] = {"id": cid, "object": "chat.completion.chunk", "created": created,
                               "model": model,
                               "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]
                               if choices else []}
        if usage is not None:
            obj["usage"] = usage
        return b"data: " + json.dumps(obj).encode() + b"\n\n"

    out = [chunk({"role": "assistant", "content": ""})]
    for piece in _pieces(turn.text, turn.piece_chars or 12):
        out.append(chunk({"content": piece}))
    for i, call in enumerate(turn.tool_calls):
        out.append(chunk({"tool_calls": [{"index": i, "id": _call_id(call, "call_"), "type": "function",
                                          "function": {"name": call["name"], "arguments": ""}}]}))
        for piece in _pieces(_args_text(call), turn.piece_chars or 20):
            out.append(chunk({"tool_calls": [{"index": i, "function": {"arguments": piece}}]}))
    out.append(chunk({}, "tool_calls" if turn.tool_calls else "stop"))
    if (request.body.get("stream_options") or {}).get("include_usage"):
        u = _usage(turn, request)
        out.append(chunk({}, usage={"prompt_tokens": u["input_tokens"],
                                    "completion_tokens": u["output_tokens"],
                                    "total_tokens": u["input_tokens"] + u["output_tokens"]},
                         choices=False))
    out.append(b"data: [DONE]\n\n")
    return out


# -- reading requests --------------------------------------------------------------------------
