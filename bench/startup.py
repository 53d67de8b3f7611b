"""Start-up figures: a one-turn headless run against the scripted model server on 127.0.0.1,
agentcli next to Claude Code (`claude -p`) and Codex CLI (`codex exec`) where they are
installed, in one run; and what sets the floor: the interpreter's start, and a bare Python process that imports the provider SDK the way
agentcli does (or plainly), builds its client and makes the same streamed call.

    python bench/startup.py [--runs N]

Runs alternate between the commands, so a busy moment of a shared machine hits them alike.
Both install from npm (`npm install -g @anthropic-ai/claude-code @openai/codex`). Codex speaks
only the Responses API, which the scripted server serves too; it is pointed there as a custom
provider on the command line.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from agentcli.testing.scripted_server import ScriptedServer, Turn

# A bare process making agentcli's first call: the SDK, its client, one streamed request.
SDK_CALL = """
import sys
sdk, lazy, url = sys.argv[1], sys.argv[2] == "lazy", sys.argv[3]
if lazy:
    from agentcli.models.sdk_import import load
    m = load(sdk)
else:
    import importlib
    m = importlib.import_module(sdk)
if sdk == "anthropic":
    stream = m.Anthropic(api_key="k", base_url=url).messages.create(
        model="bench", max_tokens=99, messages=[{"role": "user", "content": "ping"}], stream=True)
else:
    stream = m.OpenAI(api_key="k", base_url=url + "/v1").chat.completions.create(
        model="bench", messages=[{"role": "user", "content": "ping"}], stream=True)
for _ in stream:
    pass
"""


def timed(argv: list[str], env: dict[str, str], cwd: str) -> float:
    if argv[0] == "--no-keys":  # as a user without provider keys runs it (no key hand-over)
        argv, env = argv[1:], {k: v for k, v in env.items() if not k.endswith("_API_KEY")}
    started = time.perf_counter()
    proc = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"benchmark command failed: {' '.join(argv)}\n{proc.stdout}\n{proc.stderr}")
    return elapsed


def commands(srv: ScriptedServer, ws: str) -> dict[str, list[str]]:
    """What is timed, by label."""
    py = sys.executable
    out = {"python -c pass (interpreter start)": [py, "-c", "pass"],
           "agentcli --version": [py, "-m", "agentcli", "--version"],
           "agentcli --version, no provider key set": ["--no-keys", py, "-m", "agentcli", "--version"]}
    for wire in ("anthropic", "openai"):
        out[f"agentcli run, {wire} wire"] = [py, "-m", "agentcli", "run", "ping", "--model",
                                             f"{wire}/bench", "-C", ws]
        out[f"bare SDK call, {wire}, imported as agentcli does"] = [py, "-c", SDK_CALL, wire, "lazy",
                                                                   srv.base_url]
        out[f"bare SDK call, {wire}, plain import"] = [py, "-c", SDK_CALL, wire, "plain", srv.base_url]
    claude = shutil.which("claude")
    if claude:
        out[CLAUDE] = [claude, "-p", "ping"]
    codex = shutil.which("codex")
    if codex:
        provider = ['model_providers.bench.name="bench"', f'model_providers.bench.base_url="{srv.base_url}/v1"',
                    'model_providers.bench.env_key="OPENAI_API_KEY"', 'model_providers.bench.wire_api="responses"',
                    "model_provider=bench", "model=bench"]
        out[CODEX] = [codex, "exec", "--skip-git-repo-check", *[a for p in provider for a in ("-c", p)], "ping"]
    return out


CLAUDE = "claude -p (Claude Code), anthropic wire"
CODEX = "codex exec (Codex CLI), responses wire"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "OPENAI_", "AGENTCLI_"))}
    env["AGENTCLI_FALLBACK"] = "none"
    with tempfile.TemporaryDirectory() as tmp, ScriptedServer([Turn(text="pong")]) as srv:
        ws = Path(tmp, "ws")
        ws.mkdir()
        Path(ws, "hello.txt").write_text("hello\n")
        env.update(HOME=str(Path(tmp, "home")), ANTHROPIC_API_KEY="k",
                   ANTHROPIC_BASE_URL=srv.anthropic_base_url, OPENAI_API_KEY="k",
                   OPENAI_BASE_URL=srv.openai_base_url)
        todo = commands(srv, str(ws))
        for argv in todo.values():  # once untimed: compiled bytecode, caches, Claude's first start
            timed(argv, env, str(ws))
        samples: dict[str, list[float]] = {label: [] for label in todo}
        for _ in range(args.runs):
            for label, argv in todo.items():
                samples[label].append(timed(argv, env, str(ws)))
    medians = {label: statistics.median(s) for label, s in samples.items()}
    peers = {name: medians[label] for name, label in (("claude -p", CLAUDE), ("codex exec", CODEX))
             if label in medians}
    for label, s in samples.items():
        ratio = "".join(f"   {medians[label] / t:4.2f}× {name}" for name, t in peers.items()) \
            if "agentcli run" in label else ""
        print(f"{label:<52} median {medians[label] * 1000:6.0f} ms   min {min(s) * 1000:6.0f} ms"
              f"   (n={len(s)}){ratio}")
    for name, package in (("claude -p", "@anthropic-ai/claude-code"), ("codex exec", "@openai/codex")):
        if name not in peers:
            print(f"{name}: not installed (npm install -g {package})")


if __name__ == "__main__":
    main()
