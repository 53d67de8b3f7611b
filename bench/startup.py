"""Start-up figures: cold start of `agentcli --version`, and the wall time of a one-turn
`agentcli run` against the scripted model server (both providers), each over several runs.

    python bench/startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from agentcli.testing.scripted_server import ScriptedServer, Turn


def timed(argv: list[str], env: dict[str, str], cwd: str) -> float:
    started = time.perf_counter()
    proc = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"benchmark command failed: {' '.join(argv)}\n{proc.stderr}")
    return elapsed


def report(label: str, samples: list[float]) -> None:
    print(f"{label:<44} median {statistics.median(samples) * 1000:7.0f} ms   "
          f"min {min(samples) * 1000:7.0f} ms   (n={len(samples)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    exe = [sys.executable, "-m", "agentcli"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "OPENAI_"))}
    env["AGENTCLI_FALLBACK"] = "none"
    with tempfile.TemporaryDirectory() as ws:
        Path(ws, "hello.txt").write_text("hello\n")
        report("agentcli --version", [timed(exe + ["--version"], env, ws) for _ in range(args.runs)])
        with ScriptedServer([Turn(text="done")]) as srv:
            env.update(ANTHROPIC_API_KEY="k", ANTHROPIC_BASE_URL=srv.anthropic_base_url,
                       OPENAI_API_KEY="k", OPENAI_BASE_URL=srv.openai_base_url)
            for provider in ("anthropic", "openai"):
                argv = exe + ["run", "say done", "--model", f"{provider}/bench"]
                report(f"one-turn run, {provider} (scripted server)",
                       [timed(argv, env, ws) for _ in range(args.runs)])


if __name__ == "__main__":
    main()
