"""Does this llama-cpp-python build run here? A short decode in a worker process says.

A build with kernels the CPU cannot run loads fine and dies in its first eval, so only a real
decode tells; doing it in a worker means a crash is an answer, not the end of the command.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from agentcli.local import build
from agentcli.local.runtime import Sampling
from agentcli.local.worker import RemoteEngine, WorkerDied

GREEDY = Sampling(temperature=0.0, top_k=1, top_p=1.0, min_p=0.0, repeat_penalty=1.0)


@dataclass
class ProbeResult:
    works: bool
    detail: str  # one line: what ran, or how it died
    signum: int | None = None
    decode_tps: float = 0.0
    offloaded: str | None = None
    gpu_build: bool = False
    n_gpu_layers: int = 0
    runtime: dict = field(default_factory=dict)

    @property
    def fix(self) -> str:
        """The command that gives a build that runs on this CPU."""
        return "agentcli local build --force   (or: " + build.install_command(build.cmake_args()) + ")"


def probe(gguf: Path, tokens: int = 8) -> ProbeResult:
    """Load `gguf` in a fresh worker, decode `tokens` greedily, and say how it went."""
    worker = None
    try:
        worker = RemoteEngine(gguf, 512)
        prompt = worker.tokenize("<|im_start|>user\nSay hello.<|im_end|>\n<|im_start|>assistant\n")
        started = time.monotonic()
        gen = worker.generate(prompt, max_tokens=tokens, sampling=GREEDY)
        took = time.monotonic() - started
    except WorkerDied as exc:
        return ProbeResult(False, str(exc), exc.signum)
    except (RuntimeError, ValueError, OSError) as exc:
        return ProbeResult(False, f"llama.cpp failed: {exc}")
    finally:
        if worker is not None:
            worker.close()
    n = len(gen.tokens)
    tps = (n - 1) / gen.decode_s if gen.decode_s and n > 1 else 0.0
    info = worker.info
    return ProbeResult(True, f"decoded {n} tokens in {took:.1f}s", None, round(tps, 1), info.offloaded,
                       info.gpu_build, info.n_gpu_layers, worker.runtime)
