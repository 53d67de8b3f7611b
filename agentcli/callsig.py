"""A tool call's identity and its few-word description, and a result's content ignoring noise.

The plain stop policy (policy.py) and the unattended stall detector both ask "is this the same
call with the same result as before?"; they share these definitions.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

# What differs between two runs of the same command without meaning anything: timings, clock
# times, addresses, process ids and temp folder numbers (3 digits or more).
_NOISE = re.compile(r"\d+\.\d+|0x[0-9a-fA-F]+|\d{4}-\d\d-\d\dT[\d:.]+Z?|\d\d:\d\d:\d\d|\d{3,}")


def signature(call: dict[str, Any]) -> str:
    """A call's identity: its name and its arguments, canonically."""
    args = call.get("arguments")
    return f"{call.get('name')} {json.dumps(args, sort_keys=True, ensure_ascii=False)}"


def describe(call: dict[str, Any]) -> str:
    """A call in a few words for people and the model, e.g. "shell `pytest -q`"."""
    args = call.get("arguments") or {}
    name = call.get("name", "?")
    main = args.get("command") or args.get("path") or args.get("pattern")
    if main is None and args:
        main = json.dumps(args, ensure_ascii=False)
    return f"{name} `{short(str(main), 80)}`" if main is not None else name


def content_hash(text: str) -> str:
    return hashlib.sha1(_NOISE.sub("#", text).encode("utf-8", "replace")).hexdigest()


def short(text: str, limit: int = 120) -> str:
    """One line, cut with an ellipsis."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
