"""Tool calls written as markup rather than JSON, as models served by a plain chat endpoint write
them when their template's format is not the one they were tuned on.

Recognised: `<function name="edit" path="a.py" .../>` (arguments as attributes),
`<function name="edit">{"path": …}</function>` (a JSON body), `<function name="edit"><parameter
name="path">a.py</parameter>…</function>` and Qwen3-Coder's `<function=edit><parameter=path>…`;
`invoke` for `function`; inside `<tools>`, `<tool_call>` or `<function_calls>` or bare.
"""

from __future__ import annotations

import html
import json
import re
import uuid
from typing import Any, Callable, Optional

from agentcli.types import ToolCall

_OPEN = re.compile(r"<(function|invoke)\b(?:\s*=\s*([\w.-]+)|\s+name\s*=\s*([\"'])(.*?)\3)?", re.S)
_ATTR = re.compile(r"""\s*([\w-]+)\s*=\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|(?:[^\s"'=<>/]|/(?!>))+)""",
                   re.S)
_PARAM = re.compile(r"<parameter\b(?:\s*=\s*([\w.-]+)|\s+name\s*=\s*([\"'])(.*?)\2)\s*>(.*?)"
                    r"(?:</parameter>|(?=<parameter\b|</function>|</invoke>)|$)", re.S)
# Wrappers left behind once the calls inside are taken out.
_WRAPPERS = re.compile(r"</?(?:tools|tool_call|tool_calls|function_calls)\s*>")

Parse = Callable[[str], tuple[Any, Optional[str]]]


def markup_calls(text: str, parse_json: Parse) -> tuple[str, list[ToolCall]]:
    """(the text with the calls taken out, the calls). `parse_json` reads a JSON body the way
    the caller reads JSON (repairs included); a body that is no object of arguments makes a
    call with a `parse_error`."""
    calls: list[ToolCall] = []
    keep: list[str] = []
    pos = 0
    for m in _OPEN.finditer(text):
        if m.start() < pos:
            continue
        name = m.group(2) or (html.unescape(m.group(4)) if m.group(4) is not None else None)
        attrs, end, closed = _attributes(text, m.end())
        name = name or attrs.pop("name", None)
        if not closed or not name:
            continue  # prose about a tag, or a bare <function> around JSON the caller reads
        body = ""
        if text[end - 2:end] != "/>":
            tag = m.group(1)
            close = text.find(f"</{tag}>", end)
            body = text[end:close if close >= 0 else len(text)]
            end = close + len(f"</{tag}>") if close >= 0 else len(text)
        keep.append(text[pos:m.start()])
        pos = end
        args, problem = _arguments(attrs, body, parse_json)
        call_id = f"call_{uuid.uuid4().hex[:12]}"
        raw = json.dumps(args, ensure_ascii=False) if args is not None else body.strip()
        calls.append(ToolCall(call_id, name.strip(), args, raw, problem))
    keep.append(text[pos:])
    rest = "".join(keep)
    if calls:
        rest = _WRAPPERS.sub("", rest)
    return rest.strip(), calls


def _attributes(text: str, pos: int) -> tuple[dict[str, str], int, bool]:
    """The attributes from `pos` to the end of the opening tag: (attrs, index after the tag, closed)."""
    attrs: dict[str, str] = {}
    while True:
        m = _ATTR.match(text, pos)
        if m is None:
            break
        value = m.group(2)
        if value[:1] in "\"'":
            value = value[1:-1]
        attrs[m.group(1)] = html.unescape(value)
        pos = m.end()
    tail = re.match(r"\s*(/?>)", text[pos:])
    if tail is None:
        return attrs, pos, False
    return attrs, pos + tail.end(), True


def _arguments(attrs: dict[str, str], body: str,
               parse_json: Parse) -> tuple[dict[str, Any] | None, str | None]:
    args: dict[str, Any] = {k: v for k, v in attrs.items() if k != "name"}
    params = list(_PARAM.finditer(body))
    if params:
        for p in params:
            key = p.group(1) or html.unescape(p.group(3))
            args[key] = _param_value(p.group(4))
        return args, None
    if not body.strip():
        return args, None
    value, problem = parse_json(body)
    if isinstance(value, dict) and isinstance(value.get("arguments"), dict):
        value = value["arguments"]  # the whole call object inside the tag
    if not isinstance(value, dict):
        why = problem or f"got {body.strip()[:60]!r}"
        return None, f"the body of the tag is not a JSON object of arguments ({why})"
    return {**args, **value}, None


def _param_value(raw: str) -> Any:
    """A parameter's text, without the newline that follows its tag and the one before its end;
    a JSON list or object stays one (an array argument written out as JSON)."""
    value = raw[1:] if raw.startswith("\n") else raw
    value = value[:-1] if value.endswith("\n") else value
    if value.strip()[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            pass
    return value
