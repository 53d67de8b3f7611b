"""The llama.cpp runtime: load a GGUF once, generate with the KV cache kept warm.

This runs inside the worker process (`worker_main`); the agent talks to it through
`worker.RemoteEngine`. Between turns the engine keeps what it evaluated; `generate` re-reads
only the part of the prompt that differs from the last one (llama-cpp-python's prefix match),
so turn 2 does not re-read turn 1.
"""

from __future__ import annotations

import atexit
import codecs
import ctypes
import os
import re
import time
import weakref
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from agentcli import config

SEED = 1234
# Windows: a full window on a CPU takes minutes to read (≈100 tokens/s on two cores); the
# library compacts to whatever the model reports, so a CPU gets a window it can afford.
CPU_WINDOW, GPU_WINDOW = 8192, 32768


def gpu_offload_supported() -> bool:
    """Whether this llama-cpp-python build can put layers on a GPU (CUDA, Metal, Vulkan…)."""
    import llama_cpp

    try:
        return bool(llama_cpp.llama_supports_gpu_offload())
    except (AttributeError, OSError):
        return False


def system_info() -> str:
    """llama.cpp's one-line description of the CPU features and backends it was built with."""
    import llama_cpp

    try:
        return llama_cpp.llama_print_system_info().decode(errors="replace").strip(" |")
    except (AttributeError, OSError):
        return "unknown"


def default_threads() -> int:
    """Threads for decoding: one per core this process may use (AGENTCLI_LOCAL_THREADS wins).

    Decoding is memory-bound, so more threads than physical cores only adds contention; on
    machines large enough to have SMT, half the logical CPUs is a good guess at the cores.
    """
    own = config.env().local_threads
    if own is not None:
        return own
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:
        n = os.cpu_count() or 1
    return max(1, n // 2 if n >= 8 else n)


def default_gpu_layers() -> int:
    """All layers (-1) when the build can offload, else none; AGENTCLI_LOCAL_GPU_LAYERS wins."""
    own = config.env().local_gpu_layers
    if own is not None:
        return own
    return -1 if gpu_offload_supported() else 0


@dataclass
class Generation:
    """What one `generate` call produced and what it cost."""

    text: str
    tokens: list[int]
    prompt_tokens: int
    reused_tokens: int
    finish: str  # "stop" (end of turn or a stop string), "length"
    prefill_s: float
    decode_s: float


@dataclass
class Sampling:
    """Sampler settings; temperature 0 is greedy."""

    temperature: float = 0.2
    top_k: int = 20
    top_p: float = 0.9
    min_p: float = 0.05
    repeat_penalty: float = 1.05


@dataclass
class LoadInfo:
    """How the model was loaded, for `agentcli local status` and the bench."""

    path: str
    n_ctx: int
    n_threads: int
    n_gpu_layers: int
    gpu_build: bool
    offloaded: str | None = None  # "29/29" as llama.cpp reported it, when it did
    load_s: float = 0.0
    log: list[str] = field(default_factory=list)


_LOADED: "weakref.WeakSet[Engine]" = weakref.WeakSet()


@atexit.register
def _close_loaded() -> None:
    """Free loaded models while the interpreter is whole: llama_cpp's own `__del__` at shutdown
    finds its bindings already gone and prints a traceback."""
    for engine in list(_LOADED):
        try:
            engine.llama.close()
        except Exception:  # noqa: BLE001 - best effort at exit
            pass


class Engine:
    """A loaded GGUF: tokenizer, chat template, and generation that keeps the KV cache warm."""

    def __init__(self, path: Path, n_ctx: int, *, n_threads: int | None = None,
                 n_gpu_layers: int | None = None):
        import llama_cpp

        threads = n_threads or default_threads()
        layers = default_gpu_layers() if n_gpu_layers is None else n_gpu_layers
        started = time.monotonic()
        with _captured_log() as log:
            self.llama = llama_cpp.Llama(
                str(path), n_ctx=n_ctx, n_batch=512, n_threads=threads,
                n_threads_batch=max(threads, cpu_count()), n_gpu_layers=layers, seed=SEED,
                verbose=False)
        offloaded = next((m.group(1) for line in log
                          if (m := re.search(r"offloaded (\d+/\d+) layers to GPU", line))), None)
        self.info = LoadInfo(str(path), self.llama.n_ctx(), threads, layers, gpu_offload_supported(),
                             offloaded, round(time.monotonic() - started, 2), log)
        self.n_ctx = self.llama.n_ctx()
        _LOADED.add(self)
        meta = self.llama.metadata
        self.chat_template: str | None = meta.get("tokenizer.chat_template")
        self._starting: dict[str, list[int]] = {}
        self.eos_ids = {self.llama.token_eos()}
        # A turn also ends where the model starts the next one (<|im_start|>): what follows would
        # be it writing the user's or the tool's part, and the marker itself is no answer.
        for piece in ("<|im_end|>", "<|endoftext|>", "<|eot_id|>", "<|im_start|>",
                      "<start_of_turn>", "<end_of_turn>"):
            ids = self.tokenize(piece)
            if len(ids) == 1:
                self.eos_ids.add(ids[0])

    def tokenize(self, text: str) -> list[int]:
        """Tokens of `text`, reading special markers such as <|im_start|> as the tokens they are."""
        return self.llama.tokenize(text.encode("utf-8"), add_bos=False, special=True)

    def count(self, text: str) -> int:
        return len(self.tokenize(text)) if text else 0

    def token_id(self, piece: str) -> int | None:
        ids = self.tokenize(piece)
        return ids[0] if len(ids) == 1 else None

    def cached_prefix(self, tokens: Sequence[int]) -> int:
        """How many leading tokens of `tokens` the KV cache already holds."""
        held = self.llama._input_ids[: self.llama.n_tokens]
        n = 0
        for a, b in zip(held, tokens):
            if a != b:
                break
            n += 1
        # llama-cpp-python re-evaluates the last prompt token to get fresh logits.
        return min(n, len(tokens) - 1) if tokens else 0

    def tokens_starting_with(self, chars: str) -> list[int]:
        """Every token whose text starts with one of `chars` (a scan of the vocabulary, kept)."""
        if chars not in self._starting:
            wanted = tuple(c.encode() for c in chars)
            self._starting[chars] = [i for i in range(self.llama.n_vocab())
                                     if self.llama.detokenize([i], special=True).startswith(wanted)]
        return self._starting[chars]

    def generate(self, tokens: list[int], *, max_tokens: int, sampling: Sampling,
                 grammar: Any = None, banned: Sequence[int] = (),
                 first_allowed: Sequence[int] = (), first_banned: Sequence[int] = (),
                 stop: Sequence[str] = (), on_text: Callable[[str], None] | None = None,
                 stop_when: Callable[[str], bool] | None = None) -> Generation:
        """Continue `tokens`; stop at an end-of-turn token, a `stop` string (kept out of the
        text), `stop_when(text)`, or `max_tokens`.

        `banned` tokens are never sampled; the first token is one of `first_allowed` (if given)
        and none of `first_banned`. Masks cost one vector operation a token, unlike a grammar,
        which llama.cpp checks against the whole vocabulary at every step.
        """
        from llama_cpp import LogitsProcessorList

        reused = self.cached_prefix(tokens)
        processors = None
        if banned or first_allowed or first_banned:
            ban, allow, ban_first = list(banned), list(first_allowed), list(first_banned)
            start = len(tokens)

            def mask(ids: Any, scores: Any) -> Any:
                if ban:
                    scores[ban] = -float("inf")
                if len(ids) == start:
                    if allow:
                        kept = scores[allow].copy()
                        scores[:] = -float("inf")
                        scores[allow] = kept
                    if ban_first:
                        scores[ban_first] = -float("inf")
                return scores

            processors = LogitsProcessorList([mask])
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        out: list[int] = []
        text = ""
        finish = "length"
        started = time.monotonic()
        first: float | None = None
        stream = self.llama.generate(
            tokens, temp=sampling.temperature, top_k=sampling.top_k, top_p=sampling.top_p,
            min_p=sampling.min_p, repeat_penalty=sampling.repeat_penalty,
            logits_processor=processors, grammar=grammar)
        try:
            for token in stream:
                if first is None:
                    first = time.monotonic()
                if token in self.eos_ids:
                    finish = "stop"
                    break
                out.append(token)
                piece = decoder.decode(self.llama.detokenize([token], special=True))
                text += piece
                hit = next((s for s in stop if s in text), None)
                if hit is not None:
                    text = text[: text.index(hit)]
                    finish = "stop"
                    break
                if piece and on_text:
                    on_text(piece)
                if stop_when is not None and stop_when(text):
                    finish = "stop"
                    break
                if len(out) >= max_tokens:
                    break
        finally:
            stream.close()
        ended = time.monotonic()
        first = first or ended
        return Generation(text + decoder.decode(b"", final=True), out, len(tokens), reused, finish,
                          round(first - started, 4), round(ended - first, 4))


class PrefixCache:
    """The KV cache of a stable prompt prefix (system prompt and tools), kept on disk.

    Every `agentcli run` is a new process; without this, each would re-read the same thousand
    tokens of system prompt (ten seconds on two cores). Files are keyed by the model file, the
    window and the exact tokens, so a different prompt never loads a wrong state; the newest
    `keep` files are kept.
    """

    def __init__(self, folder: Path, keep: int = 16):
        self.folder = folder
        self.keep = keep

    def restore_or_save(self, engine: Engine, tokens: list[int]) -> str:
        """Bring `tokens` into a cold engine's KV cache from disk, or evaluate and save them.
        Returns "loaded", "saved" or "skipped"."""
        import llama_cpp

        llama = engine.llama
        if llama.n_tokens > 0 or len(tokens) < 64:
            return "skipped"
        path = self.folder / f"{self._key(engine, tokens)}.kv"
        ctx = llama._ctx.ctx
        if path.is_file():
            buf = (llama_cpp.llama_token * len(tokens))()
            n_read = ctypes.c_size_t(0)
            ok = llama_cpp.llama_state_seq_load_file(ctx, str(path).encode(), 0, buf, len(tokens),
                                                     ctypes.byref(n_read))
            if ok and list(buf[: n_read.value]) == tokens:
                llama.input_ids[: len(tokens)] = tokens
                llama.n_tokens = len(tokens)
                llama._requires_eval = True
                os.utime(path)
                return "loaded"
            llama._ctx.kv_cache_seq_rm(-1, 0, -1)  # a bad or foreign file: start clean
            llama.reset()
        llama.eval(tokens)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
            arr = (llama_cpp.llama_token * len(tokens))(*tokens)
            if llama_cpp.llama_state_seq_save_file(ctx, str(tmp).encode(), 0, arr, len(tokens)):
                os.replace(tmp, path)
            else:
                tmp.unlink(missing_ok=True)
            self._prune()
        except OSError:
            pass  # a cache that cannot be written only costs time
        return "saved"

    def _key(self, engine: Engine, tokens: list[int]) -> str:
        import hashlib

        import llama_cpp

        st = os.stat(engine.info.path)
        head = f"{engine.info.path}|{st.st_size}|{engine.n_ctx}|{llama_cpp.__version__}|"
        digest = hashlib.sha256(head.encode())
        digest.update(",".join(map(str, tokens)).encode())
        return digest.hexdigest()[:32]

    def _prune(self) -> None:
        files = sorted(self.folder.glob("*.kv"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in files[self.keep:]:
            old.unlink(missing_ok=True)


def cpu_count() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


@contextmanager
def _captured_log() -> Iterator[list[str]]:
    """Collect llama.cpp's log lines (quietly) while loading, to learn how many layers went to
    the GPU; then give logging back to llama-cpp-python."""
    import llama_cpp
    from llama_cpp import _logger

    lines: list[str] = []

    @llama_cpp.llama_log_callback
    def collect(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
        lines.append(text.decode("utf-8", errors="replace"))

    llama_cpp.llama_log_set(collect, ctypes.c_void_p(0))
    try:
        yield lines
    finally:
        llama_cpp.llama_log_set(_logger.llama_log_callback, ctypes.c_void_p(0))
