"""An MCP server written with the official SDK, for agentcli's tests.

`python probe.py` serves over stdio; `python probe.py --http PORT` over streamable HTTP on
127.0.0.1. With `--started FILE` it appends a line to FILE as it starts (proof that it ran).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from mcp.server.mcpserver import Image, MCPServer
from mcp_types import EmbeddedResource, TextResourceContents, ToolAnnotations

app = MCPServer("probe")


@app.tool(description="Reverse a piece of text. Returns the characters in the opposite order.")
def reverse(text: str) -> str:
    return "reversed: " + text[::-1]


@app.tool(description="Read the probe's notes (read-only).",
          annotations=ToolAnnotations(read_only_hint=True))
def notes() -> EmbeddedResource:
    return EmbeddedResource(resource=TextResourceContents(uri="probe://notes", text="the note says 42"))


@app.tool(description="The value of one of the server's environment variables.")
def env(name: str) -> str:
    return f"{name}={os.environ.get(name, '')}"


@app.tool(description="A tiny PNG image.")
def picture() -> Image:
    return Image(data=b"\x89PNG\r\n\x1a\n" + b"\x00" * 16, format="png")


@app.tool(description="Fail on purpose.")
def fail() -> str:
    raise ValueError("the probe failed on purpose")


@app.tool(description="Exit the server process in the middle of the call.")
def crash() -> str:
    os.write(2, b"probe: crashing now\n")
    os._exit(3)


@app.tool(description="Never answer.")
def hang() -> str:
    time.sleep(3600)
    return "too late"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--http", type=int)
    parser.add_argument("--started")
    args = parser.parse_args()
    if args.started:
        with Path(args.started).open("a") as f:
            f.write(f"started {os.getpid()}\n")
    if args.http:
        app.run("streamable-http", host="127.0.0.1", port=args.http)
    else:
        app.run()


if __name__ == "__main__":
    main()
