"""Tool calls written inside the text of a reply, as small and self-hosted models write them.

Recognised, in order of trust: markup calls (`<function name="edit" …/>`, see `markupcalls`),
Qwen/Hermes `<tool_call>{…}</tool_call>` tags, fenced code blocks holding a call object, and a
bare call object in the text. Near-JSON is repaired (trailing commas, single quotes, Python
literals, braces doubled as in a format string). A block that clearly meant to be a call but
cannot be read is reported, and so is a reply that is nothing but something shaped like a call,
so the model can be told exactly what was wrong instead of it standing as an answer.
"""

from __future__ import annotations

import ast
import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from agentcli.models.markupcalls import markup_calls
from agentcli.types import ToolCall

_TAG = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.S)
_FENCE = re.compile(r"```[ \t]*([A-Za-z_-]*)[ \t]*\n(.*?)(?:```|$)", re.S)
_NAME_KEYS = ("name", "tool", "tool_name", "function")
_ARG_KEYS = ("arguments", "parameters", "args", "input", "params")
_SHAPE = 'expected {"name": "<tool>", "arguments": {...}}'


@dataclass
class Extracted:
    """The reply's text with the calls taken out, the calls, and problems with would-be calls."""

    text: str
    calls: list[ToolCall] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    unread: list[str] = field(default_factory=list)  # what each error's would-be call said


def extract(text: str, tool_names: set[str] | None = None) -> Extracted:
    """Find tool calls in `text`. Bare JSON counts only when it names one of `tool_names`."""
    found = _json_calls(text, tool_names or set())
    if found.calls:
        return found
    # Markup only where no JSON call was found: a file written through a JSON call may hold
    # markup of its own.
    rest, marked = markup_calls(text, parse_loose)
    if marked:
        return Extracted(text=rest, calls=marked)
    if not found.errors:
        unread = _unread_call(text, tool_names or set())
        if unread is not None:
            # The reply is nothing but something shaped like a call that never became one (cut
            # off by the output cap, broken JSON, a form nobody reads): say so, rather than
            # passing it off as an answer.
            lead, body = unread
            value, problem = parse_loose(_unfence(body)) if body.lstrip("`").lstrip().startswith("{") \
                else (None, None)
            call = _as_call(value, tool_names or set(), False) if value is not None else None
            if call is not None:  # a call cut off before its closing braces: mended, it reads
                return Extracted(text=lead, calls=[call])
            why = problem or "it is cut off, or in a form that cannot be read; " + _SHAPE
            return Extracted(text=lead, errors=[f"could not read the tool call {body[:200]!r}: {why}"],
                             unread=[body])
    return found


def _json_calls(text: str, known: set[str]) -> Extracted:
    if "<tool_call>" in text:
        return _from_spans(text, [(m.span(), m.group(1)) for m in _TAG.finditer(text)], known,
                           strict=False)
    fenced = [(m.span(), m.group(2)) for m in _FENCE.finditer(text)
              if m.group(1).lower() in ("", "json", "tool_call", "tool", "javascript", "python")]
    found = _from_spans(text, fenced, known, strict=True)
    if found.calls or found.errors:
        return found
    return _from_spans(text, [(span, text[span[0]:span[1]]) for span in _json_spans(text)], known,
                       strict=True)


# What starts a would-be call: a call object (braces doubled too), a fence around one, a tag.
_CALL_OPENER = re.compile(
    r'(?:^|\n)[ \t]*(?:```[A-Za-z_]*\s*)?(?:\{+\s*["\']?(?:name|tool|function)["\']?\s*:'
    r'|<\|?(?:tool_call|tools|tool_calls|function_calls|function|invoke)\b|\[TOOL_CALLS\])', re.S)
_LEAD_IN = 160  # "Let me look at the file." before a call; more is an answer that quotes one


def _unread_call(text: str, known: set[str]) -> tuple[str, str] | None:
    """(lead-in, call-shaped text) of a reply that holds nothing else but a line of lead-in; None
    for a reply with words of its own, or one whose object is well-formed JSON but no call (an
    answer given as JSON)."""
    m = _CALL_OPENER.search(text)
    if m is None or len(text[:m.start()].strip()) > _LEAD_IN:
        return None
    lead, body = text[:m.start()].strip(), text[m.start():].strip()
    inner = _unfence(body).strip()
    value = parse_loose(inner)[0] if inner.startswith("{") else None
    if isinstance(value, dict) and not ({"arguments", "parameters"} & set(value)
                                        or value.get("name") in known or value.get("tool") in known):
        return None  # an answer given as JSON, not a call
    return lead, body


def _unfence(text: str) -> str:
    return re.sub(r"^\s*```[A-Za-z_]*\s*|```\s*$", "", text)


def _from_spans(text: str, spans: list[tuple[tuple[int, int], str]], known: set[str],
                strict: bool) -> Extracted:
    calls: list[ToolCall] = []
    errors: list[str] = []
    unread: list[str] = []
    keep: list[str] = []
    pos = 0
    for (start, end), body in spans:
        value, problem = parse_loose(body)
        objs = value if isinstance(value, list) else [value]
        got = [c for c in (_as_call(o, known, strict) for o in objs if value is not None) if c]
        if got:
            calls.extend(got)
        elif not strict:
            errors.append(f"could not read the tool call {body[:200]!r}: {problem or _SHAPE}")
            unread.append(text[start:end].strip())
        else:
            continue  # not a call: leave the text as it was
        keep.append(text[pos:start])
        pos = end
    keep.append(text[pos:])
    rest = "".join(keep).strip()
    if calls and re.fullmatch(r"[\s\[\]{}()`,;:]*", rest):
        rest = ""  # only the stray brackets or fences a call left behind: not words for anyone
    return Extracted(text=rest, calls=calls, errors=errors, unread=unread)


def _as_call(obj: Any, known: set[str], strict: bool) -> ToolCall | None:
    if not isinstance(obj, dict):
        return None
    if isinstance(obj.get("function"), dict):  # OpenAI's {"type": "function", "function": {...}}
        obj = obj["function"]
    name = next((obj[k] for k in _NAME_KEYS if isinstance(obj.get(k), str)), None)
    if name is None:
        return None
    if strict and name not in known and not (set(obj) == {"name", "arguments"}):
        return None  # a JSON value in prose; but {"name", "arguments"} is a call, if a wrong one
    raw = next((obj[k] for k in _ARG_KEYS if k in obj), {})
    call_id = f"call_{uuid.uuid4().hex[:12]}"
    if isinstance(raw, str):
        args, problem = parse_loose(raw) if raw.strip() else ({}, None)
        if not isinstance(args, dict):
            return ToolCall(call_id, name, None, raw, f"arguments are not a JSON object: got the "
                            f"string {raw[:80]!r}" + (f" ({problem})" if problem else ""))
        raw_text = raw
    elif isinstance(raw, dict):
        args, raw_text = raw, json.dumps(raw, ensure_ascii=False)
    else:
        return ToolCall(call_id, name, None, json.dumps(raw), "arguments are not a JSON object")
    return ToolCall(call_id, name, args, raw_text)


def parse_loose(body: str) -> tuple[Any, str | None]:
    """JSON, else repaired near-JSON. Returns (value, None) or (None, what was wrong)."""
    body = body.strip()
    if not body:
        return None, "empty"
    try:
        return json.loads(body, strict=False), None  # strict=False: raw newlines in strings
    except ValueError as exc:
        first_error = f"invalid JSON: {exc}"
    candidates = [_strip_trailing_commas(body)]
    if "\\'" in body:  # \' is no JSON escape, but models write it inside "..." strings
        candidates.append(_strip_trailing_commas(body.replace("\\'", "'")))
    spans = _json_spans(body)
    if spans and spans[0] != (0, len(body)):  # text around the object, or a missing tail
        candidates.append(_strip_trailing_commas(body[spans[0][0]:spans[0][1]]))
    candidates.append(_close_brackets(candidates[0]))
    if '"' in body:  # last: quotes inside strings left unescaped ("""docstrings""" in code)
        escaped = _escape_inner_quotes(candidates[0])
        candidates += [escaped, _close_brackets(escaped)]
    if body.startswith("{{"):  # {{"name": …}}: braces escaped as in a format string it was shown
        candidates.append(_strip_trailing_commas(body.replace("{{", "{").replace("}}", "}")))
    for cand in candidates:
        try:
            return json.loads(cand, strict=False), None
        except ValueError:
            pass
        try:
            value = ast.literal_eval(cand)
            if isinstance(value, (dict, list)):
                return _jsonable(value), None
        except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError):
            pass
        try:
            return json.loads(_python_literals(cand), strict=False), None
        except ValueError:
            pass
    return None, first_error


def _escape_inner_quotes(s: str) -> str:
    """Escape each `"` inside a string that is not followed by what may follow a string's end
    (`,` `:` `}` `]` or the end): models write code with bare quotes into JSON strings."""
    out: list[str] = []
    in_string = False
    i = 0
    while i < len(s):
        ch = s[i]
        if in_string and ch == "\\":
            out.append(s[i:i + 2])
            i += 2
            continue
        if ch == '"':
            if not in_string:
                in_string = True
            else:
                rest = s[i + 1:].lstrip(" \t\r\n")
                if not rest or rest[0] in ",:}]":
                    in_string = False
                else:
                    ch = '\\"'
        out.append(ch)
        i += 1
    return "".join(out)


def _strip_trailing_commas(s: str) -> str:
    return re.sub(r",\s*([}\]])", r"\1", s)


def _python_literals(s: str) -> str:
    """True/False/None as JSON, outside strings only (code inside an argument keeps its None)."""
    words = {"True": "true", "False": "false", "None": "null"}
    out: list[str] = []
    quote: str | None = None
    i = 0
    while i < len(s):
        ch = s[i]
        if quote:
            out.append(ch)
            if ch == "\\" and i + 1 < len(s):
                out.append(s[i + 1])
                i += 1
            elif ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
            out.append(ch)
        else:
            m = re.match(r"(True|False|None)\b", s[i:])
            if m and (i == 0 or not (s[i - 1].isalnum() or s[i - 1] == "_")):
                out.append(words[m.group(1)])
                i += len(m.group(1))
                continue
            out.append(ch)
        i += 1
    return "".join(out)


def _close_brackets(s: str) -> str:
    """Append the closers a cut-off object is missing, only where what is there ends in a whole
    value. Cut inside a string or a number, the last value may have lost its end, and running
    a call with `rm -rf build/cache` cut to `rm -rf build` runs what nobody wrote."""
    stack: list[str] = []
    quote: str | None = None
    escaped = False
    for ch in s:
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch in "{[":
            stack.append("}" if ch == "{" else "]")
        elif ch in "}]" and stack:
            stack.pop()
    tail = s.rstrip()
    if quote or not stack or not re.search(r"""(["'}\]]|\btrue|\bfalse|\bnull|True|False|None)$""", tail):
        return s
    return s + "".join(reversed(stack))


def _json_spans(text: str) -> list[tuple[int, int]]:
    """Spans of balanced top-level {...} objects, skipping braces inside strings."""
    spans: list[tuple[int, int]] = []
    depth = 0
    start = -1
    quote: str | None = None
    escaped = False
    for i, ch in enumerate(text):
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = None
            continue
        if ch == '"' and depth:
            quote = ch
        elif ch == "{":
            if depth == 0:
                start = i
            depth += 1
        elif ch == "}" and depth:
            depth -= 1
            if depth == 0:
                spans.append((start, i + 1))
    return spans


def _jsonable(value: Any) -> Any:
    """A Python literal as JSON, or ValueError: a set (`{""}` from a cut-off object) or bytes
    would otherwise turn into a string nobody wrote."""
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise ValueError("keys must be strings")
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    raise ValueError(f"{type(value).__name__} is not JSON")


def stop_after_call(text: str) -> bool:
    """Whether a reply being generated already holds one complete call, so decoding can stop:
    what a small model writes after its call is mostly it imagining the result."""
    if not text or text[-1] not in "}`\n ":
        return False
    s = text.lstrip()
    if s.startswith("<tool_call>"):
        s = s[len("<tool_call>"):].lstrip()
    if s.startswith("{"):
        spans = _json_spans(s)
        return bool(spans) and spans[0][0] == 0
    for m in _FENCE.finditer(text):
        if not m.group(0).endswith("```"):
            continue
        value, _ = parse_loose(m.group(2))
        if isinstance(value, dict) and any(k in value for k in _NAME_KEYS) \
                and any(k in value for k in _ARG_KEYS):
            return True
    return False
