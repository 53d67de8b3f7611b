"""Connections to MCP servers through the official SDK, for a program that is not async.

The SDK is async and its transports must be entered and left in one task, so every server is
held open by a task of its own on one event loop in a background thread; the agent's thread
submits calls to that loop and waits for them with a timeout. Nothing here raises past a
caller for a server's failure: it is a `state` and an `error` on the connection, or a
`McpCallError` with one line for the model.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import tempfile
import threading
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, AsyncIterator

from agentcli import __version__
from agentcli.mcp.servers import ServerSpec

CLOSE_WAIT_S = 5.0


class McpCallError(Exception):
    """A call that gave no result: the server is gone, timed out, or refused it (one line)."""


@dataclass
class Connection:
    """One server: `state` is starting, running, failed (never started), exited or stopped."""

    spec: ServerSpec
    state: str = "starting"
    error: str = ""
    tools: list[Any] = field(default_factory=list)  # mcp_types.Tool
    client: Any = None
    stderr: IO[bytes] | None = None
    _stop: asyncio.Event | None = None
    _task: asyncio.Task | None = None

    def stderr_tail(self) -> str:
        """The last line the server wrote on stderr, for a one-line error."""
        if self.stderr is None:
            return ""
        try:
            self.stderr.flush()
            self.stderr.seek(max(0, self.stderr.seek(0, 2) - 4096))
            lines = [ln.strip() for ln in self.stderr.read().decode("utf-8", "replace").splitlines()]
        except (OSError, ValueError):
            return ""
        last = next((ln for ln in reversed(lines) if ln), "")
        return last[:200]


class Hub:
    """The servers of one session (or of `agentcli mcp list`), on one background loop."""

    def __init__(self, workspace: Path):
        self.workspace = workspace
        self.connections: dict[str, Connection] = {}
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="agentcli-mcp",
                                         daemon=True)
        self._thread.start()

    def start(self, specs: list[ServerSpec]) -> list[Connection]:
        """Start every server at once and wait until each answered with its tools, failed, or
        ran past its startup timeout."""
        conns = [self.connections.setdefault(s.name, Connection(s)) for s in specs]
        futures = [asyncio.run_coroutine_threadsafe(self._open(c), self._loop) for c in conns]
        wait = max((s.startup_timeout for s in specs), default=0) + CLOSE_WAIT_S
        concurrent.futures.wait(futures, timeout=wait)
        for conn in conns:
            if conn.state == "starting":
                conn.state, conn.error = "failed", "no answer in time"
        return conns

    def call(self, server: str, tool: str, args: dict[str, Any]) -> Any:
        """`tools/call` on `server`: the SDK's CallToolResult. Raises McpCallError."""
        conn = self.connections[server]
        if conn.client is None or conn.state != "running":
            raise McpCallError(f"MCP server {server!r} is not running ({conn.state}"
                               + (f": {conn.error}" if conn.error else "") + ")")
        timeout = conn.spec.tool_timeout
        future = asyncio.run_coroutine_threadsafe(
            conn.client.call_tool(tool, args, read_timeout_seconds=timeout), self._loop)
        try:
            return future.result(timeout + CLOSE_WAIT_S)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise McpCallError(f"MCP server {server!r} gave no answer within {timeout:g}s "
                               "(tool_timeout_sec)") from None
        except BaseException as exc:
            future.cancel()  # an interrupt or a deadline: the server stops waiting too
            if isinstance(exc, Exception):
                raise McpCallError(self._explain(conn, exc, timeout)) from None
            raise

    def _explain(self, conn: Connection, exc: Exception, timeout: float) -> str:
        text = " ".join(str(getattr(exc, "message", "") or exc).split()) or type(exc).__name__
        name = conn.spec.name
        if "timed out" in text.lower():
            return f"MCP server {name!r} gave no answer within {timeout:g}s (tool_timeout_sec)"
        if "connection closed" in text.lower() or conn.client is None:
            conn.state, conn.error = "exited", "the connection closed during a call"
            tail = conn.stderr_tail()
            return (f"MCP server {name!r} closed the connection during the call (it exited or "
                    "crashed)" + (f"; its stderr ends: {tail}" if tail else ""))
        return f"MCP server {name!r}: {text[:300]}"

    def close(self) -> None:
        """Stop every server (stdio processes are ended by the SDK) and the loop."""
        if not self._thread.is_alive():
            return
        future = asyncio.run_coroutine_threadsafe(self._close_all(), self._loop)
        try:
            future.result(CLOSE_WAIT_S + 1)
        except (concurrent.futures.TimeoutError, Exception):  # closing must never fail the caller
            pass
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=2)
        for conn in self.connections.values():
            if conn.stderr is not None:
                conn.stderr.close()

    async def _close_all(self) -> None:
        tasks = []
        for conn in self.connections.values():
            if conn._stop is not None:
                conn._stop.set()
            if conn._task is not None:
                tasks.append(conn._task)
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=CLOSE_WAIT_S)
            for task in pending:
                task.cancel()

    # -- on the loop ------------------------------------------------------------------------

    async def _open(self, conn: Connection) -> None:
        ready: asyncio.Future = self._loop.create_future()
        conn._stop = asyncio.Event()
        conn._task = asyncio.ensure_future(self._hold(conn, ready))
        try:
            await asyncio.wait_for(asyncio.shield(ready), conn.spec.startup_timeout)
        except asyncio.TimeoutError:
            conn.state, conn.error = "failed", (f"no answer within {conn.spec.startup_timeout:g}s "
                                                "(startup_timeout_sec)")
            conn._task.cancel()
        except Exception as exc:
            text = _one_line(exc)
            conn.state, conn.error = "failed", ("it exited before answering"
                                                if text.lower() == "connection closed" else text)
        if conn.state == "failed":
            tail = conn.stderr_tail()
            if tail and tail not in conn.error:
                conn.error += f"; its stderr ends: {tail}"

    async def _hold(self, conn: Connection, ready: asyncio.Future) -> None:
        """Open the connection, list the tools, and keep it open until `close`."""
        from mcp import Client
        from mcp_types import Implementation

        try:
            async with self._transport(conn) as transport:
                async with Client(transport, read_timeout_seconds=conn.spec.startup_timeout,
                                  client_info=Implementation(name="agentcli", version=__version__)
                                  ) as client:
                    conn.tools = await _list_tools(client)
                    conn.client, conn.state = client, "running"
                    ready.set_result(None)
                    await conn._stop.wait()
                    conn.state = "stopped"
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # the server failed; its state says so, the loop goes on
            if not ready.done():
                ready.set_exception(exc if isinstance(exc, Exception) else RuntimeError(str(exc)))
            elif conn.state == "running":
                conn.state, conn.error = "exited", _one_line(exc)
        finally:
            conn.client = None

    @asynccontextmanager
    async def _transport(self, conn: Connection) -> AsyncIterator[Any]:
        spec = conn.spec
        if spec.url:
            import httpx2
            from mcp.client.streamable_http import streamable_http_client

            async with AsyncExitStack() as stack:
                http = await stack.enter_async_context(httpx2.AsyncClient(
                    headers=spec.headers, timeout=httpx2.Timeout(30.0, read=300.0)))
                yield streamable_http_client(spec.url, http_client=http)
            return
        from mcp.client.stdio import StdioServerParameters, stdio_client

        # The server's stderr goes to a file, not over agentcli's output; its last line
        # explains a failed start.
        conn.stderr = tempfile.TemporaryFile(prefix=f"agentcli-mcp-{spec.name}-")
        cwd = Path(spec.cwd).expanduser() if spec.cwd else self.workspace
        params = StdioServerParameters(command=spec.command or "", args=spec.args, env=spec.env,
                                       cwd=str(self.workspace / cwd))
        yield stdio_client(params, errlog=conn.stderr)


async def _list_tools(client: Any) -> list[Any]:
    tools, cursor = [], None
    for _ in range(100):  # a server whose pages never end cannot hang the start
        page = await client.list_tools(cursor=cursor)
        tools.extend(page.tools)
        cursor = page.next_cursor
        if not cursor:
            break
    return tools


def _one_line(exc: BaseException) -> str:
    """An exception (or the first of a group, which anyio raises) in one line."""
    while getattr(exc, "exceptions", None):  # an exception group (no builtin name on 3.10)
        exc = exc.exceptions[0]  # type: ignore[attr-defined]
    text = " ".join(str(getattr(exc, "message", "") or exc).split())
    if isinstance(exc, FileNotFoundError):
        text = f"no such program: {exc.filename or text}"
    return (text or type(exc).__name__)[:300]
