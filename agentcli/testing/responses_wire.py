"""The OpenAI Responses API (`POST /v1/responses`) as the scripted server writes it: a turn's text
as one message item and its tool calls as `function_call` items, whole or as server-sent events.

agentcli itself does not speak this wire; Codex CLI (`codex exec`) speaks only this one, so the
start-up benchmark serves it to time Codex against the same loopback server."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from agentcli.testing.script import ScriptedRequest, Turn


def _usage(turn: Turn, request: ScriptedRequest) -> dict[str, Any]:
    out = turn.text + "".join(json.dumps(c.get("arguments")) for c in turn.tool_calls)
    given = turn.usage or {}
    inp = given.get("input_tokens", max(1, len(json.dumps(request.body)) // 4))
    outp = given.get("output_tokens", max(1, len(out) // 4))
    return {"input_tokens": inp, "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": outp, "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": inp + outp}


def _items(turn: Turn) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    if turn.text:
        items.append({"id": f"msg_{uuid.uuid4().hex[:24]}", "type": "message", "role": "assistant",
                      "status": "completed",
                      "content": [{"type": "output_text", "text": turn.text, "annotations": []}]})
    for call in turn.tool_calls:
        args = call.get("arguments", {})
        items.append({"id": f"fc_{uuid.uuid4().hex[:24]}", "type": "function_call", "status": "completed",
                      "call_id": call.get("id") or f"call_{uuid.uuid4().hex[:20]}", "name": call["name"],
                      "arguments": args if isinstance(args, str) else json.dumps(args)})
    return items


def full_body(turn: Turn, model: str, request: ScriptedRequest, items: list | None = None) -> dict[str, Any]:
    return {"id": f"resp_{uuid.uuid4().hex[:24]}", "object": "response", "created_at": int(time.time()),
            "status": "completed", "model": model, "output": _items(turn) if items is None else items,
            "usage": _usage(turn, request), "error": None, "incomplete_details": None}


def _event(data: dict[str, Any]) -> bytes:
    return f"event: {data['type']}\ndata: {json.dumps(data)}\n\n".encode()


def sse_events(turn: Turn, model: str, request: ScriptedRequest) -> list[bytes]:
    items = _items(turn)
    done = full_body(turn, model, request, items)
    started = {**done, "status": "in_progress", "output": [], "usage": None}
    out = [_event({"type": "response.created", "response": started}),
           _event({"type": "response.in_progress", "response": started})]
    for index, item in enumerate(items):
        opened = {**item, "status": "in_progress"}
        if item["type"] == "message":
            opened["content"] = []
        else:
            opened["arguments"] = ""
        out.append(_event({"type": "response.output_item.added", "output_index": index, "item": opened}))
        if item["type"] == "message":
            text = item["content"][0]["text"]
            out.append(_event({"type": "response.content_part.added", "item_id": item["id"],
                               "output_index": index, "content_index": 0,
                               "part": {"type": "output_text", "text": "", "annotations": []}}))
            size = turn.piece_chars or 12
            for i in range(0, len(text), size):
                out.append(_event({"type": "response.output_text.delta", "item_id": item["id"],
                                   "output_index": index, "content_index": 0, "delta": text[i:i + size]}))
            out.append(_event({"type": "response.output_text.done", "item_id": item["id"],
                               "output_index": index, "content_index": 0, "text": text}))
            out.append(_event({"type": "response.content_part.done", "item_id": item["id"],
                               "output_index": index, "content_index": 0, "part": item["content"][0]}))
        else:
            out.append(_event({"type": "response.function_call_arguments.delta", "item_id": item["id"],
                               "output_index": index, "delta": item["arguments"]}))
            out.append(_event({"type": "response.function_call_arguments.done", "item_id": item["id"],
                               "output_index": index, "arguments": item["arguments"]}))
        out.append(_event({"type": "response.output_item.done", "output_index": index, "item": item}))
    out.append(_event({"type": "response.completed", "response": done}))
    return out
