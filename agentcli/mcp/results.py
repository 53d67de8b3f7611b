"""An MCP `CallToolResult` as a tool result the model reads.

Text stays text; an embedded text resource is its text under its URI; binary content (images,
audio, blobs) is kept in a file of the session (the models here read text) and the result
says where; a resource link is its URI and description; structured content without a text
form is its JSON. A result the server marks as an error is an error result.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import json
import mimetypes
from pathlib import Path
from typing import Any, Callable

from agentcli.types import ToolResult

Saver = Callable[[bytes, str], "str | None"]  # (data, mime type) -> where it was kept, or None
_counter = itertools.count(1)


def to_tool_result(result: Any, save: Saver) -> ToolResult:
    """The model's view of `result` (mcp_types.CallToolResult)."""
    parts = [_block(block, save) for block in result.content or []]
    if not any(parts) and result.structured_content is not None:
        parts = [json.dumps(result.structured_content, ensure_ascii=False, indent=1)]
    text = "\n".join(p for p in parts if p) or "(the tool returned nothing)"
    if result.is_error:
        return ToolResult(f"error: {text}", is_error=True)
    return ToolResult(text)


def _block(block: Any, save: Saver) -> str:
    kind = getattr(block, "type", "")
    if kind == "text":
        return block.text
    if kind in ("image", "audio"):
        return _binary(kind, block.data, block.mime_type, save)
    if kind == "resource":
        res = block.resource
        if hasattr(res, "text"):
            return f"[resource {res.uri}]\n{res.text}"
        return _binary("resource " + res.uri, res.blob, res.mime_type or "application/octet-stream", save)
    if kind == "resource_link":
        about = " — ".join(x for x in (block.name, block.description) if x)
        return f"[resource link {block.uri}" + (f": {about}]" if about else "]")
    return f"[{kind or 'unknown'} content, not shown]"


def _binary(what: str, data_b64: str, mime: str, save: Saver) -> str:
    try:
        data = base64.b64decode(data_b64, validate=True)
    except (binascii.Error, ValueError):
        return f"[{what} ({mime}) that is not valid base64; not kept]"
    where = save(data, mime)
    size = f"{len(data):,} bytes"
    if where is None:
        return f"[{what}: {mime}, {size}; not kept]"
    return f"[{what}: {mime}, {size}, saved to {where}]"


def saver_for(folder: Path | None, display: Callable[[Path], str], stem: str) -> Saver:
    """Keeps binary results in `folder` (the session's mcp/ folder) as `<stem>-<n><ext>`."""

    def save(data: bytes, mime: str) -> str | None:
        if folder is None:
            return None
        ext = mimetypes.guess_extension(mime.split(";")[0].strip()) or ".bin"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{stem}-{next(_counter)}{ext}"
            path.write_bytes(data)
        except OSError:
            return None
        return display(path)

    return save
