"""Large replies: how long a 2 MiB answer or 2 MiB of tool arguments takes to arrive through
agentcli's model adapters, next to what the scripted server takes to send it, and to what the
SDK's own HTTP stream takes to read it with no parsing. Then 50 MiB of tool arguments, which the
adapters refuse once 8 MiB have arrived.

    python bench/large_reply.py [--mib 2] [--runs 3]

The server runs in its own process and streams token-sized pieces (12 characters of text, 20 of
arguments, one HTTP chunk each: about 175,000 events for 2 MiB), the hardest case for a client.
"Server sends" is a raw socket read of the whole response; "SDK transport" reads the same
response through the SDK's client (`with_streaming_response`), decoding nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from agentcli.modelchoice import resolve
from agentcli.models import ModelOptions, Request
from agentcli.types import Message

MIB = 1024 * 1024
PATHS = {"anthropic": "/v1/messages", "openai": "/v1/chat/completions"}


def serve(turn: dict, tmp: str) -> tuple[subprocess.Popen, str]:
    script = Path(tmp, f"turn-{time.monotonic_ns()}.json")
    script.write_text(json.dumps([turn]))
    proc = subprocess.Popen([sys.executable, "-m", "agentcli.testing.scripted_server", str(script)],
                            stdout=subprocess.PIPE, text=True)
    return proc, proc.stdout.readline().strip()


def body(wire: str) -> bytes:
    return json.dumps({"model": "m", "max_tokens": 99, "stream": True,
                       "messages": [{"role": "user", "content": "go"}],
                       "stream_options": {"include_usage": True}}).encode()


def raw_read(url: str, wire: str) -> float:
    """The whole streamed response off the socket, nothing parsed: the server's sending time."""
    host, port = url.removeprefix("http://").split(":")
    data = body(wire)
    started = time.perf_counter()
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(b"POST %s HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
                     b"content-length: %d\r\n\r\n%s" % (PATHS[wire].encode(), len(data), data))
        tail = b""
        while not tail.endswith(b"\r\n0\r\n\r\n"):
            chunk = sock.recv(1 << 20)
            if not chunk:
                break
            tail = (tail + chunk)[-16:]
    return time.perf_counter() - started


def sdk_transport(url: str, wire: str) -> float:
    """The same response through the SDK's HTTP client, bytes only."""
    from agentcli.models.sdk_import import load

    sdk = load(wire)
    started = time.perf_counter()
    if wire == "anthropic":
        client = sdk.Anthropic(api_key="k", base_url=url)
        opened = client.messages.with_streaming_response.create(
            model="m", max_tokens=99, messages=[{"role": "user", "content": "go"}], stream=True)
    else:
        client = sdk.OpenAI(api_key="k", base_url=url + "/v1")
        opened = client.chat.completions.with_streaming_response.create(
            model="m", messages=[{"role": "user", "content": "go"}], stream=True)
    with opened as response:
        for _ in response.iter_bytes():
            pass
    return time.perf_counter() - started


def adapter(url: str, wire: str) -> tuple[float, Message]:
    """agentcli's model adapter, the SDK's typed stream: (seconds, the reply's message)."""
    os.environ[f"{wire.upper()}_API_KEY"] = "k"
    model = resolve(f"{wire}/m", ModelOptions(base_url=url if wire == "anthropic" else url + "/v1"))
    model.prepare()  # the import is not what is measured here
    started = time.perf_counter()
    reply = model.complete(Request(system="s", messages=[Message(role="user", content="go")], tools=[]))
    return time.perf_counter() - started, reply.message


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=float, default=2.0)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    size = int(args.mib * MIB)
    text = ("0123456789abcdefghijklmnopqrstuvwxyz\n" * (size // 37 + 1))[:size]
    call = {"name": "write", "arguments": {"path": "f", "content": text}}
    shapes = {"text": {"text": text}, "tool arguments": {"tool_calls": [call]}}
    with tempfile.TemporaryDirectory() as tmp:
        for wire in ("anthropic", "openai"):
            for shape, turn in shapes.items():
                proc, url = serve(turn, tmp)
                try:
                    sent = statistics.median(raw_read(url, wire) for _ in range(args.runs))
                    moved = statistics.median(sdk_transport(url, wire) for _ in range(args.runs))
                    runs = [adapter(url, wire) for _ in range(args.runs)]
                finally:
                    proc.terminate()
                took = statistics.median(r[0] for r in runs)
                whole = all(m.content == text or (m.tool_calls and m.tool_calls[0].arguments
                                                  and m.tool_calls[0].arguments["content"] == text)
                            for _, m in runs)
                print(f"{wire:<9} {args.mib:g} MiB {shape:<14} server sends {sent:5.2f} s   SDK transport "
                      f"{moved:5.2f} s ({moved / sent:3.1f}×)   adapter {took:5.2f} s ({took / sent:4.1f}×)"
                      f"   {'whole' if whole else 'WRONG'}")
        for wire in ("anthropic", "openai"):
            huge = "y" * (50 * MIB)
            proc, url = serve({"tool_calls": [{"name": "write", "arguments": {"path": "f", "content": huge}}],
                               "piece_chars": 65536}, tmp)
            try:
                took, message = adapter(url, wire)
            finally:
                proc.terminate()
            print(f"{wire:<9} 50 MiB tool arguments: {took:.2f} s, then: {message.tool_calls[0].parse_error}")


if __name__ == "__main__":
    main()
