"""A scripted model server on 127.0.0.1 that speaks the real wire formats.

It answers the Anthropic Messages API (`POST /v1/messages`, JSON or SSE) and OpenAI
chat-completions (`POST /v1/chat/completions`, JSON or SSE), so the official SDKs talk to it
unchanged; and the Responses API (`POST /v1/responses`), for timing Codex CLI beside agentcli. What it answers comes from a responder: a function of the request, or a list of
turns picked by how many assistant turns the request already holds (a retried request gets
the same turn again). Turns can carry faults: an HTTP error status, a delay, a stream cut off
after some events, an error event inside the stream, slow chunks.

Run it alone for demos and benchmarks: `python -m agentcli.testing.scripted_server script.json`.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Union

from agentcli.testing import responses_wire, wire
from agentcli.testing.script import ScriptedRequest, Turn

__all__ = ["Turn", "ScriptedRequest", "ScriptedServer", "Sequence", "Responder"]


Responder = Callable[[ScriptedRequest], Turn]


class Sequence:
    """Turn N answers a request that already holds N assistant turns; past the end, the last."""

    def __init__(self, turns: list[Turn | dict[str, Any]]):
        self.turns = [t if isinstance(t, Turn) else Turn.from_dict(t) for t in turns]
        self._attempts: dict[int, int] = {}
        self._lock = threading.Lock()

    def __call__(self, request: ScriptedRequest) -> Turn:
        index = min(request.assistant_turns, len(self.turns) - 1)
        turn = self.turns[index]
        with self._lock:
            self._attempts[index] = self._attempts.get(index, 0) + 1
            attempt = self._attempts[index]
        if turn.faulty and turn.fail_times is not None and attempt > turn.fail_times:
            return turn.healthy()
        return turn


class ScriptedServer:
    """The server. Use as a context manager; `base_url` for the SDKs; `requests` as received."""

    def __init__(self, responder: Union[Responder, list[Turn | dict[str, Any]]], *,
                 model_name: str = "scripted-model"):
        self.responder: Responder = Sequence(responder) if isinstance(responder, list) else responder
        self.model_name = model_name
        self.requests: list[ScriptedRequest] = []
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        assert self._httpd is not None, "server not started"
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def anthropic_base_url(self) -> str:
        return self.base_url

    @property
    def openai_base_url(self) -> str:
        return self.base_url + "/v1"

    def start(self, port: int = 0) -> ScriptedServer:
        server = self

        class Handler(_Handler):
            owner = server

        self._httpd = _QuietServer(("127.0.0.1", port), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> ScriptedServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def record(self, request: ScriptedRequest) -> None:
        with self._lock:
            self.requests.append(request)


class _QuietServer(ThreadingHTTPServer):
    """Clients that hang up (a timeout, a cut stream) are part of the script, not news."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    owner: ScriptedServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        route = self.path.partition("?")[0].rstrip("/")  # Claude Code asks /v1/messages?beta=true
        if route.endswith("/messages"):
            provider = "anthropic"
        elif route.endswith("/chat/completions"):
            provider = "openai"
        elif route.endswith("/responses"):
            provider = "responses"
        else:
            self._json(404, {"error": {"message": f"no route {self.path}"}})
            return
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            self._json(400, wire.error_body(provider, 400, "request body is not JSON"))
            return
        request = ScriptedRequest(provider, self.path, body, {k.lower(): v for k, v in self.headers.items()})
        self.owner.record(request)
        try:
            turn = self.owner.responder(request)
        except Exception as exc:  # a broken script answers 500 and says why
            self._json(500, wire.error_body(provider, 500, f"responder failed: {exc!r}"))
            return
        if turn.delay:
            time.sleep(turn.delay)
        if turn.status:
            headers = {"retry-after": str(turn.retry_after)} if turn.retry_after is not None else {}
            self._json(turn.status, wire.error_body(provider, turn.status, turn.error_message), headers)
            return
        model = body.get("model") or self.owner.model_name
        if turn.invalid_json:
            self._raw(200, b'{"id": "broken", "choices": [', "application/json")
            return
        if provider == "responses":
            self._answer_responses(request, turn, model)
        elif request.stream:
            self._sse(wire.sse_events(provider, turn, model, request), turn)
        else:
            self._json(200, wire.full_body(provider, turn, model, request))

    def _answer_responses(self, request: ScriptedRequest, turn: Turn, model: str) -> None:
        if request.stream:
            self._sse(responses_wire.sse_events(turn, model, request), turn)
        else:
            self._json(200, responses_wire.full_body(turn, model, request))

    def do_GET(self) -> None:
        if self.path.rstrip("/").endswith("/models"):
            self._json(200, {"object": "list", "data": [{"id": self.owner.model_name,
                                                         "object": "model"}]})
        else:
            self._json(404, {"error": {"message": f"no route {self.path}"}})

    def _json(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        self._raw(status, json.dumps(obj).encode(), "application/json", headers)

    def _raw(self, status: int, data: bytes, ctype: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("content-type", ctype)
        self.send_header("content-length", str(len(data)))
        self.send_header("request-id", f"req_{uuid.uuid4().hex[:16]}")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _sse(self, events: list[bytes], turn: Turn) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        try:
            for i, event in enumerate(events):
                if turn.drop_after is not None and i >= turn.drop_after:
                    self.close_connection = True
                    self.wfile.flush()
                    self.connection.shutdown(2)  # cut off mid-stream, chunked body unfinished
                    return
                if turn.stall_after is not None and i == turn.stall_after:
                    time.sleep(turn.stall_s)
                self.wfile.write(b"%x\r\n%s\r\n" % (len(event), event))
                self.wfile.flush()
                if turn.chunk_delay:
                    time.sleep(turn.chunk_delay)
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True


def main(argv: list[str] | None = None) -> None:
    """Serve a JSON script (a list of turns) until interrupted; print the base URL."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("script", help="JSON file: a list of turns")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    with open(args.script, encoding="utf-8") as f:
        turns = json.load(f)
    server = ScriptedServer(turns).start(args.port)
    print(server.base_url, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
