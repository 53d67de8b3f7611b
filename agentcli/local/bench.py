"""Throughput of the local model through agentcli, against raw llama-cpp-python on the same GGUF.

Both sides load the file with the same window, threads and GPU layers, read the same prompt
tokens from a cold cache and decode greedily, so they produce the same tokens. agentcli's side
goes through `LocalModel.complete` (template rendering, streaming, call detection) and the worker
process it decodes in; the raw side is llama-cpp-python's own `generate` loop in this process,
doing nothing but collecting tokens. Runs alternate so
a machine shared with other work slows both alike; the median of each is reported.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Callable

from agentcli.local.runtime import Sampling, cpu_count
from agentcli.local.worker import RemoteEngine
from agentcli.models.base import Request
from agentcli.types import Message

GREEDY = Sampling(temperature=0.0, top_k=1, top_p=1.0, min_p=0.0, repeat_penalty=1.0)
BENCH_PROMPT = ("Write a Python module that implements a small in-memory key-value store with "
                "get, set, delete, expiry times and a command-line interface. Include docstrings "
                "and tests. Here is the style guide to follow:\n\n")
STYLE = ("- Use type hints everywhere and keep functions short.\n"
         "- Prefer pure functions; keep I/O at the edges.\n"
         "- Every public function has a docstring with an example.\n")


@dataclass
class Speed:
    """One side's median figures."""

    prompt_tokens: int
    prompt_tps: float
    decode_tokens: int
    decode_tps: float


@dataclass
class BenchResult:
    agentcli: Speed
    raw: Speed

    @property
    def prompt_ratio(self) -> float:
        return self.agentcli.prompt_tps / self.raw.prompt_tps if self.raw.prompt_tps else 0.0

    @property
    def decode_ratio(self) -> float:
        return self.agentcli.decode_tps / self.raw.decode_tps if self.raw.decode_tps else 0.0


def run(model, *, prompt_tokens: int = 512, decode_tokens: int = 128, runs: int = 3,
        report: Callable[[str], None] | None = None) -> BenchResult:
    """Measure `model` (a LocalModel) and raw llama-cpp-python on its GGUF, `runs` times each."""
    import llama_cpp

    engine: RemoteEngine = model.engine
    user = _prompt_of(engine, prompt_tokens)
    request = Request(system="You are a helpful coding assistant.",
                      messages=[Message(role="user", content=user)], tools=[],
                      max_tokens=decode_tokens)
    info = engine.info
    raw = llama_cpp.Llama(info.path, n_ctx=info.n_ctx, n_batch=512, n_threads=info.n_threads,
                          n_threads_batch=max(info.n_threads, cpu_count()),
                          n_gpu_layers=info.n_gpu_layers, seed=1234, verbose=False)
    prompt_text = model.render_prompt(request)
    raw_tokens = raw.tokenize(prompt_text.encode(), add_bos=False, special=True)
    ours: list[tuple[float, float, int, int]] = []
    theirs: list[tuple[float, float, int, int]] = []
    saved = model.sampling
    model.sampling = GREEDY
    try:
        for i in range(runs):
            engine.reset()
            reply = model.complete(request)
            gen = model.last_generation
            ours.append((gen.prefill_s, gen.decode_s, gen.prompt_tokens, len(gen.tokens)))
            raw.reset()
            theirs.append(_raw_run(raw, raw_tokens, len(gen.tokens), engine.eos_ids))
            if report:
                report(f"run {i + 1}/{runs}: agentcli {_fmt(ours[-1])} · raw {_fmt(theirs[-1])}"
                       f" ({reply.usage.output_tokens} tokens)")
    finally:
        model.sampling = saved
    return BenchResult(_median(ours), _median(theirs))


def _raw_run(llm, tokens: list[int], n_out: int, eos: set[int]) -> tuple[float, float, int, int]:
    """llama-cpp-python alone: the same prompt, the same number of greedy tokens."""
    started = time.monotonic()
    first = None
    out = 0
    for token in llm.generate(tokens, temp=0.0, top_k=1, top_p=1.0, min_p=0.0, repeat_penalty=1.0):
        if first is None:
            first = time.monotonic()
        if token in eos:
            break
        out += 1
        if out >= n_out:
            break
    ended = time.monotonic()
    first = first or ended
    return first - started, ended - first, len(tokens), out


def _prompt_of(engine: RemoteEngine, n_tokens: int) -> str:
    """A realistic prompt of about `n_tokens` tokens."""
    text = BENCH_PROMPT
    while engine.count(text) < n_tokens:
        text += STYLE
    return text


def _median(rows: list[tuple[float, float, int, int]]) -> Speed:
    prefill = statistics.median(r[0] for r in rows)
    decode = statistics.median(r[1] for r in rows)
    n_prompt, n_out = rows[0][2], rows[0][3]
    return Speed(n_prompt, n_prompt / prefill if prefill else 0.0,
                 n_out, (n_out - 1) / decode if decode else 0.0)


def _fmt(row: tuple[float, float, int, int]) -> str:
    prefill, decode, n_prompt, n_out = row
    return (f"prompt {n_prompt / prefill if prefill else 0:.0f} tok/s, "
            f"decode {(n_out - 1) / decode if decode else 0:.1f} tok/s")
