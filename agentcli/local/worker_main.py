"""The worker process behind `worker.RemoteEngine`: `python -m agentcli.local.worker_main`.

It loads one GGUF with `runtime.Engine` and answers requests on stdin/stdout until its input
closes. Everything native (llama.cpp, grammars, the KV cache and its on-disk copy) happens here,
so that whatever kills this process leaves the agent standing.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any, BinaryIO

from agentcli import config
from agentcli.local import runtime
from agentcli.local.pipe import receive, send


class _Server:
    def __init__(self, inp: BinaryIO, out: BinaryIO):
        self.inp, self.out = inp, out
        self.engine: runtime.Engine | None = None
        self.grammars: dict[str, Any] = {}
        self.crash_after = config.env().worker_crash_after

    def handle(self, message: tuple) -> tuple:
        op, args = message[0], message[1:]
        if op == "load":
            return "ok", self.load(*args)
        engine = self.engine
        if engine is None:
            raise RuntimeError("no model loaded")
        if op == "tokenize":
            return "ok", engine.tokenize(args[0])
        if op == "starting":
            return "ok", engine.tokens_starting_with(args[0])
        if op == "n_tokens":
            return "ok", engine.llama.n_tokens
        if op == "reset":
            engine.llama.reset()
            return "ok", None
        if op == "warm":
            return "ok", self.warm(Path(args[0]), args[1])
        if op == "generate":
            return "ok", asdict(self.generate(*args))
        raise ValueError(f"unknown request {op!r}")

    def load(self, path: str, n_ctx: int | None) -> dict:
        layers = runtime.default_gpu_layers()
        window = n_ctx or (runtime.GPU_WINDOW if layers != 0 else runtime.CPU_WINDOW)
        self.engine = runtime.Engine(Path(path), window, n_gpu_layers=layers)
        import llama_cpp

        return {"info": asdict(self.engine.info), "n_ctx": self.engine.n_ctx,
                "chat_template": self.engine.chat_template, "eos_ids": sorted(self.engine.eos_ids),
                "runtime": {"version": getattr(llama_cpp, "__version__", "?"),
                            "gpu_offload": runtime.gpu_offload_supported(),
                            "system_info": runtime.system_info(), "pid": os.getpid()}}

    def warm(self, folder: Path, tokens: list[int]) -> str:
        try:
            return runtime.PrefixCache(folder).restore_or_save(self.engine, tokens)
        except (RuntimeError, ValueError, OSError):
            self.engine.llama.reset()  # the cache is an optimisation; never a failure
            return "failed"

    def generate(self, tokens: list[int], options: dict, ask: bool) -> runtime.Generation:
        schema = options.pop("grammar_schema")
        grammar = self._grammar(schema) if schema else None
        sampling = runtime.Sampling(**options.pop("sampling"))
        sent, decoded = 0, 0

        def each_token(text: str) -> bool:
            nonlocal sent, decoded
            decoded += 1
            if self.crash_after and decoded >= self.crash_after:
                os.kill(os.getpid(), signal.SIGSEGV)
            if not ask:
                return False
            piece, sent = text[sent:], len(text)
            send(self.out, ("text", piece))
            return receive(self.inp)[0] == "stop"

        return self.engine.generate(tokens, sampling=sampling, grammar=grammar, stop_when=each_token,
                                    **options)

    def _grammar(self, schema: str) -> Any:
        if schema not in self.grammars:
            from llama_cpp import LlamaGrammar

            self.grammars[schema] = LlamaGrammar.from_json_schema(schema, verbose=False)
        return self.grammars[schema]


def _die_with_parent() -> None:
    """Linux: end with the agent even when it is killed with SIGKILL (no pipe left to notice)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def main() -> None:
    # The channel is the real stdout; anything native code prints goes to stderr instead.
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    # Ctrl-C is for the agent, which decides what to stop; the terminal's SIGINT must not
    # take the loaded model with it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent()
    inp = sys.stdin.buffer
    server = _Server(inp, out)
    while True:
        try:
            message = receive(inp)
        except EOFError:
            break
        try:
            reply = server.handle(message)
        except (ValueError, RuntimeError, OSError, TypeError) as exc:
            reply = ("error", type(exc).__name__, str(exc))
        try:
            send(out, reply)
        except BrokenPipeError:
            break
    out.flush()
    os._exit(0)  # skip llama_cpp's destructors: the process is ending anyway


if __name__ == "__main__":
    main()
