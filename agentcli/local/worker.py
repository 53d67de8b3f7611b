"""The bundled model in its own process: a crash of llama.cpp kills the worker, never the agent.

llama.cpp is native code. A build with kernels the CPU cannot run dies with SIGSEGV or SIGILL,
the out-of-memory killer sends SIGKILL, and either would take the whole session down if the
model ran in the agent's process. So `RemoteEngine` runs `runtime.Engine` (weights, KV cache,
grammar, token masks, the on-disk prefix cache) in a child process and speaks to it over a
pipe. The child's death becomes `WorkerDied`, one line naming the signal and what to do, which
the adapter turns into a ModelError the failover chain handles like any other.

Protocol: length-prefixed pickles over the child's stdin/stdout (both ends are ours). During a
generation the child sends each new piece of text and waits for "go" or "stop": the caller's
stop rule and streaming stay in the agent, and one round trip on a pipe costs far less than a
decoded token.
"""

from __future__ import annotations

import atexit
import os
import signal
import subprocess
import sys
import threading
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from agentcli import config
from agentcli.local.pipe import CRASH_HOOK, frame, receive_body, receive_head
from agentcli.local.runtime import Generation, LoadInfo, Sampling
from agentcli.provider_env import is_provider_secret

# What the worker itself reads (runtime.default_threads, default_gpu_layers, the crash hook).
_WORKER_SETTINGS = (config.LOCAL_PREFIX, CRASH_HOOK)
FIX_HINT = ("run 'agentcli local status' to test this build of llama-cpp-python; "
            "'agentcli local build --force' rebuilds it for this CPU")


class WorkerDied(Exception):
    """The worker process ended while the agent needed it. str() is one line for people."""

    def __init__(self, message: str, signum: int | None):
        super().__init__(message)
        self.signum = signum


# Signals whose Python handlers raise (Ctrl-C, the deadline's SIGALRM, SIGTERM): held while a
# frame is half written or half read, so an interrupt never leaves the pipe out of step.
_HELD = {signal.SIGINT, signal.SIGALRM, signal.SIGTERM}


@contextmanager
def _signals_held() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, _HELD)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def describe_death(returncode: int | None, pid: int) -> tuple[str, int | None]:
    """One line for a worker that ended, and the signal that ended it (if one did)."""
    if returncode is not None and returncode < 0:
        signum = -returncode
        try:
            name = signal.Signals(signum).name
        except ValueError:
            name = f"signal {signum}"
        if signum == signal.SIGKILL:
            why = (f"was killed ({name}, signal {signum}; often the out-of-memory killer): free "
                   "memory or use local/qwen2.5-coder-0.5b")
        else:
            why = f"crashed ({name}, signal {signum}): {FIX_HINT}"
        return f"the local model's runtime (llama.cpp, pid {pid}) {why}", signum
    return (f"the local model's runtime (llama.cpp, pid {pid}) exited unexpectedly "
            f"(exit code {returncode}): {FIX_HINT}", None)


class RemoteEngine:
    """`runtime.Engine`'s interface, served by a worker process started on first use."""

    def __init__(self, path: Path, n_ctx: int | None, *, log_path: Path | None = None,
                 env: dict[str, str] | None = None):
        self.path, self.requested_ctx = Path(path), n_ctx
        self.log_path, self.env = log_path, env
        self._proc: subprocess.Popen | None = None
        # What the pipe owes after an interrupt: None (in step), "reply" (a message from the
        # worker is due) or "verdict" (the worker waits for our go/stop).
        self._owed: str | None = None
        self._lock = threading.RLock()
        self._starting: dict[str, list[int]] = {}
        self._start()

    # ---- process ----
    def _start(self) -> None:
        stderr: Any = subprocess.DEVNULL
        if self.log_path is not None:
            try:
                self.log_path.parent.mkdir(parents=True, exist_ok=True)
                stderr = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child
            except OSError:
                stderr = subprocess.DEVNULL
        # Never the provider keys: the worker is not sealed like the agent, and the commands
        # the agent runs could read its /proc/PID/environ. Its own settings it keeps.
        env = {k: v for k, v in (os.environ if self.env is None else self.env).items()
               if not is_provider_secret(k) or k.upper().startswith(_WORKER_SETTINGS)}
        self._proc = subprocess.Popen([sys.executable, "-m", "agentcli.local.worker_main"],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
                                      env=env, close_fds=True,
                                      start_new_session=True)
        self._owed = None
        if stderr is not subprocess.DEVNULL:
            stderr.close()
        _LIVE.add(self)
        try:
            loaded = self._call("load", str(self.path), self.requested_ctx)
        except BaseException as exc:
            if not isinstance(exc, WorkerDied):
                self.close()  # half loaded: nothing worth keeping
            raise
        self.info = LoadInfo(**loaded["info"])
        self.n_ctx: int = loaded["n_ctx"]
        self.chat_template: str | None = loaded["chat_template"]
        self.eos_ids: set[int] = set(loaded["eos_ids"])
        self.runtime: dict[str, Any] = loaded["runtime"]

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def close(self) -> None:
        """End the worker (it exits when its input closes); kill it if it does not."""
        proc, self._proc = self._proc, None
        _LIVE.discard(self)
        if proc is None:
            return
        try:
            proc.stdin.close()
            proc.wait(timeout=3)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()
        proc.stdout.close()

    def _died(self) -> WorkerDied:
        proc, self._proc = self._proc, None
        _LIVE.discard(self)
        try:
            code = proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
        proc.stdout.close()
        message, signum = describe_death(code, proc.pid)
        return WorkerDied(message, signum)

    def _ensure(self) -> subprocess.Popen:
        if self._proc is None:  # a worker that died or was stopped is started again when needed
            self._start()
        return self._proc

    def _send(self, message: Any) -> None:
        data = frame(message)
        with _signals_held():
            fd = self._proc.stdin.fileno()
            while data:
                data = data[os.write(fd, data):]
            self._owed = "reply"

    def _receive(self) -> Any:
        # Waiting for the head may be interrupted: nothing of the frame is consumed then.
        size = receive_head(self._proc.stdout)
        with _signals_held():
            message = receive_body(self._proc.stdout, size)
            self._owed = "verdict" if message[0] == "text" else None
        return message

    def _resync(self) -> None:
        """After an interrupt: stop the generation it left running and take the answers that
        are due, so the worker (and its KV cache) is kept."""
        while self._owed is not None:
            if self._owed == "verdict":
                self._send(("stop",))
            else:
                self._receive()

    def _exchange(self, message: Any) -> Any:
        self._ensure()
        try:
            self._resync()
            self._send(message)
            reply = self._receive()
        except (BrokenPipeError, EOFError, ConnectionResetError) as exc:
            raise self._died() from exc
        if reply[0] == "error":
            raise (ValueError if reply[1] == "ValueError" else RuntimeError)(reply[2])
        return reply

    def _call(self, *message: Any) -> Any:
        with self._lock:
            return self._exchange(message)[1]

    # ---- the Engine interface ----
    def tokenize(self, text: str) -> list[int]:
        return self._call("tokenize", text)

    def count(self, text: str) -> int:
        return len(self.tokenize(text)) if text else 0

    def token_id(self, piece: str) -> int | None:
        ids = self.tokenize(piece)
        return ids[0] if len(ids) == 1 else None

    def tokens_starting_with(self, chars: str) -> list[int]:
        if chars not in self._starting:
            self._starting[chars] = self._call("starting", chars)
        return self._starting[chars]

    def cached_tokens(self) -> int:
        """How many tokens the worker's KV cache holds (0 in a fresh worker)."""
        return self._call("n_tokens")

    def reset(self) -> None:
        self._call("reset")

    def warm(self, folder: Path, tokens: list[int]) -> str:
        """Load `tokens`' KV state from the prefix cache in `folder`, or evaluate and save it."""
        return self._call("warm", str(folder), tokens)

    def generate(self, tokens: list[int], *, max_tokens: int, sampling: Sampling,
                 grammar_schema: str | None = None, banned: Sequence[int] = (),
                 first_allowed: Sequence[int] = (), first_banned: Sequence[int] = (),
                 stop: Sequence[str] = (), on_text: Callable[[str], None] | None = None,
                 stop_when: Callable[[str], bool] | None = None) -> Generation:
        """`runtime.Engine.generate` in the worker; `grammar_schema` is a JSON schema."""
        options = dict(max_tokens=max_tokens, sampling=asdict(sampling), grammar_schema=grammar_schema,
                       banned=list(banned), first_allowed=list(first_allowed),
                       first_banned=list(first_banned), stop=list(stop))
        ask = on_text is not None or stop_when is not None
        with self._lock:  # an interrupt leaves `_owed` set; the next call puts the pipe in step
            return self._generate(tokens, options, ask, on_text, stop_when)

    def _generate(self, tokens: list[int], options: dict, ask: bool,
                  on_text: Callable[[str], None] | None,
                  stop_when: Callable[[str], bool] | None) -> Generation:
        reply = self._exchange(("generate", tokens, options, ask))
        text = ""
        try:
            while reply[0] == "text":
                piece = reply[1]
                text += piece
                if piece and on_text is not None:
                    on_text(piece)
                halt = stop_when is not None and stop_when(text)
                self._send(("stop",) if halt else ("go",))
                reply = self._receive()
        except (BrokenPipeError, EOFError, ConnectionResetError) as exc:
            raise self._died() from exc
        if reply[0] == "error":
            raise RuntimeError(reply[2])
        return Generation(**reply[1])


_LIVE: "set[RemoteEngine]" = set()
_ENGINES: dict[tuple[str, int | None], RemoteEngine] = {}
_ENGINES_LOCK = threading.Lock()


def engine(path: Path, n_ctx: int | None, log_path: Path | None = None) -> RemoteEngine:
    """The process-wide worker for `path` at window `n_ctx` (None: the default for the device),
    started on first use: a session that switches away and back, or several models built by a
    benchmark, share the loaded weights. Raises WorkerDied if it dies while loading."""
    key = (str(path), n_ctx)
    with _ENGINES_LOCK:
        if key not in _ENGINES:
            _ENGINES[key] = RemoteEngine(path, n_ctx, log_path=log_path)
        return _ENGINES[key]


@atexit.register
def _close_all() -> None:
    for worker in list(_LIVE):
        worker.close()
