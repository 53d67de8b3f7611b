"""Other coding agents on the bench's tasks, on the same GGUF: aider, through llama-cpp-python's
OpenAI-compatible server (`python -m llama_cpp.server`).

aider lives in its own virtualenv so that its many pins stay out of the project's (one-time):

    python -m venv bench/.venv-aider && bench/.venv-aider/bin/pip install aider-chat

The server runs from the project's interpreter (the same llama-cpp-python build as the bundled
runtime) with the bundled runtime's window, threads, GPU layers and seed; its chat format is left
to the GGUF's own template. aider runs as a user would run it on a small repo: every text file
on its command line, `--message PROMPT`, its default edit format for the model, no git.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from agentcli.local import assets, runtime

AIDER = Path(__file__).resolve().parent / ".venv-aider" / "bin" / "aider"
AIDER_SETUP = "python -m venv bench/.venv-aider && bench/.venv-aider/bin/pip install aider-chat"
N_CTX = runtime.CPU_WINDOW


def gguf_for(model: str) -> tuple[Path, str]:
    """The GGUF behind a bench model name (`local/qwen2.5-coder-0.5b`, `local/PATH.gguf`) and the
    alias the server gives it."""
    name = model.removeprefix("local/")
    if name.endswith(".gguf"):
        path = Path(name).expanduser()
        return path, path.stem.lower()
    spec = assets.lookup(name)
    return assets.ensure(spec), spec.key


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LlamaServer:
    """`python -m llama_cpp.server` for one GGUF on 127.0.0.1; `base` is its /v1 URL."""

    def __init__(self, gguf: Path, alias: str, log_path: Path, n_ctx: int = N_CTX):
        self.gguf, self.alias, self.log_path, self.n_ctx = gguf, alias, log_path, n_ctx
        self.proc: subprocess.Popen | None = None
        self.base = ""
        self.load_seconds = 0.0

    def start(self, wait: float = 300.0) -> None:
        threads = runtime.default_threads()
        port = _free_port()
        cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(self.gguf),
               "--model_alias", self.alias, "--host", "127.0.0.1", "--port", str(port),
               "--n_ctx", str(self.n_ctx), "--n_batch", "512", "--n_threads", str(threads),
               "--n_threads_batch", str(max(threads, os.cpu_count() or 1)),
               "--n_gpu_layers", str(runtime.default_gpu_layers()), "--seed", str(runtime.SEED)]
        started = time.monotonic()
        with open(self.log_path, "a") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL)
        self.base = f"http://127.0.0.1:{port}/v1"
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited ({self.proc.returncode}); "
                                   f"see {self.log_path}")
            try:
                with urllib.request.urlopen(f"{self.base}/models", timeout=5):
                    break
            except OSError:
                if time.monotonic() - started > wait:
                    self.stop()
                    raise RuntimeError(f"llama_cpp.server did not answer in {wait:.0f}s; "
                                       f"see {self.log_path}") from None
                time.sleep(0.5)
        self.load_seconds = time.monotonic() - started

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def text_files(ws: Path) -> list[str]:
    """Every file under `ws` that reads as UTF-8 text, relative, sorted: what a user adds."""
    found = []
    for path in sorted(ws.rglob("*")):
        if path.is_file():
            try:
                path.read_text(encoding="utf-8")
            except (UnicodeDecodeError, OSError):
                continue
            found.append(str(path.relative_to(ws)))
    return found


def reply_text(history: str) -> str:
    """aider's replies in its chat history (markdown): the lines after the first `#### ` (the
    user's message) that are neither another message nor aider's `> ` notes (tokens, edits)."""
    lines, seen_user = [], False
    for line in history.splitlines():
        if line.startswith("#### "):
            seen_user = True
        elif seen_user and not line.startswith(">"):
            lines.append(line)
    return "\n".join(lines).strip()


def _aider_env(home: Path) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AIDER_", "OPENAI_", "ANTHROPIC_", "VIRTUAL_ENV"))}
    env.update(HOME=str(home), LITELLM_LOCAL_MODEL_COST_MAP="True", AIDER_ANALYTICS="false",
               AIDER_CHECK_UPDATE="false", PYTHONIOENCODING="utf-8", TERM="dumb", NO_COLOR="1")
    return env


def run_aider(prompt: str, ws: Path, server: LlamaServer, scratch: Path, timeout: float) -> dict:
    """aider on the workspace `ws` with `prompt`; its exit code, seconds, stdout and reply text.
    `scratch` (outside `ws`) holds aider's home, chat history and the model's metadata."""
    home = scratch / "home"
    home.mkdir(parents=True, exist_ok=True)
    model = f"openai/{server.alias}"
    # The window as the server has it, so that aider neither guesses nor fetches a price map.
    metadata = scratch / "model-metadata.json"
    metadata.write_text(json.dumps({model: {
        "max_input_tokens": server.n_ctx, "max_tokens": server.n_ctx, "max_output_tokens": 2048,
        "input_cost_per_token": 0, "output_cost_per_token": 0,
        "litellm_provider": "openai", "mode": "chat"}}))
    history = scratch / "aider.chat.history.md"
    cmd = [str(AIDER), "--model", model, "--openai-api-base", server.base,
           "--openai-api-key", "x", "--model-metadata-file", str(metadata),
           "--yes-always", "--no-git", "--no-auto-commits", "--no-show-model-warnings",
           "--no-check-update", "--no-analytics", "--no-pretty", "--no-stream",
           "--no-fancy-input", "--no-show-release-notes", "--encoding", "utf-8",
           "--chat-history-file", str(history),
           "--input-history-file", str(scratch / "aider.input.history"),
           "--message", prompt, *text_files(ws)]
    started = time.monotonic()
    try:
        proc = subprocess.run(cmd, cwd=ws, env=_aider_env(home), capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL, check=False)
        out, code = proc.stdout + proc.stderr, proc.returncode
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        code = -1
    elapsed = time.monotonic() - started
    for stray in ws.glob(".aider*"):  # aider's own caches, not the user's work
        shutil.rmtree(stray) if stray.is_dir() else stray.unlink()
    text = history.read_text(encoding="utf-8", errors="replace") if history.exists() else ""
    return {"exit_code": code, "seconds": elapsed, "stdout": out, "answer": reply_text(text)}
