"""What `agentcli batch --executor ray` costs per task next to the local executor: N short tasks
(each writes a file and finishes, against the scripted model server) through each executor,
with the same number side by side. Ray's is a local instance started and shut down by the batch.

    python bench/batch_executors.py [--tasks 20] [--parallel 2]

Per executor: the batch's wall time, wall time per task, the mean time of a task as the batch
saw it (start to result: the run, plus for Ray the clone from the bundle and the shipping back),
and the time before the first task started (for Ray: starting the local instance).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from agentcli.testing.scripted_server import ScriptedServer, Turn


def respond(req) -> Turn:
    if req.assistant_turns == 0:
        return Turn(tool_calls=[{"name": "write", "arguments": {"path": "out.txt", "content": "x"}}])
    return Turn(tool_calls=[{"name": "finish", "arguments": {"status": "done", "summary": "ok"}}])


def make_repo(root: Path, tasks: int) -> Path:
    repo = root / "repo"
    repo.mkdir()
    (repo / "README.md").write_text("bench\n")
    lines = ['[defaults]\nmodel = "anthropic/m"\nmax_time = "5m"\n']
    lines += [f'[[task]]\nname = "t{i:02d}"\nprompt = "task {i}: write out.txt"\n' for i in range(tasks)]
    (repo / "tasks.toml").write_text("\n".join(lines))
    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@b", "GIT_COMMITTER_NAME": "b",
           "GIT_COMMITTER_EMAIL": "b@b"}
    for args in (["init", "-q"], ["add", "."], ["commit", "-qm", "bench"]):
        subprocess.run(["git", *args], cwd=repo, check=True, env=env)
    return repo


def run(executor: str, tasks: int, parallel: int, srv: ScriptedServer) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        repo = make_repo(Path(tmp), tasks)
        env = {**os.environ, "ANTHROPIC_API_KEY": "sk-ant-bench",
               "ANTHROPIC_BASE_URL": srv.anthropic_base_url, "AGENTCLI_FALLBACK": "none", "XDG_CONFIG_HOME": tmp,
               "RAY_DEFAULT_OBJECT_STORE_MAX_MEMORY_BYTES": str(200 * 2**20)}
        began, wall_start = datetime.now().astimezone(), time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "agentcli", "batch", "tasks.toml",
                               "--executor", executor, "--parallel", str(parallel),
                               "--output-format", "json"], cwd=repo, env=env,
                              capture_output=True, text=True, timeout=1800)
        wall = time.monotonic() - wall_start
    if proc.returncode != 0:
        raise SystemExit(f"{executor}: exit {proc.returncode}: {proc.stderr.strip()[-500:]}")
    out = json.loads(proc.stdout)["tasks"]
    first = min(datetime.fromisoformat(t["started_at"]) for t in out)
    return {"wall_s": wall, "per_task_s": wall / tasks,
            "task_mean_s": statistics.mean(t["duration_s"] for t in out),
            "first_start_s": (first - began).total_seconds()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=20)
    parser.add_argument("--parallel", type=int, default=2)
    args = parser.parse_args()
    srv = ScriptedServer(respond).start()
    try:
        results = {name: run(name, args.tasks, args.parallel, srv) for name in ("local", "ray")}
    finally:
        srv.stop()
    print(f"{args.tasks} tasks, {args.parallel} at a time")
    print(f"{'executor':<10}{'wall s':>10}{'s/task':>10}{'task mean s':>14}{'first start s':>16}")
    for name, r in results.items():
        print(f"{name:<10}{r['wall_s']:>10.1f}{r['per_task_s']:>10.2f}{r['task_mean_s']:>14.2f}"
              f"{r['first_start_s']:>16.1f}")
    extra = results["ray"]["per_task_s"] - results["local"]["per_task_s"]
    print(f"ray overhead per task: {extra:+.2f} s of wall time "
          f"({results['ray']['task_mean_s'] - results['local']['task_mean_s']:+.2f} s per task as run)")


if __name__ == "__main__":
    main()
