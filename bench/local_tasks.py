"""Agent quality on the bundled model: run `agentcli run` on each bench task and check it.

Each task is a folder: `task.json` (the prompt, a turn limit), `repo/` (the project the agent
works in, copied fresh for every run) and `check.py WORKSPACE ANSWER_FILE` (exit 0: solved; else
it prints why not). Runs offline on the local model by default.

    python bench/local_tasks.py                          # all tasks, local/qwen2.5-coder-1.5b
    python bench/local_tasks.py --model local/qwen2.5-coder-0.5b 01 06
    python bench/local_tasks.py --json results.json      # also write the figures as JSON
    python bench/local_tasks.py --no-code-map            # without the code map (prompt and tool)
    python bench/local_tasks.py --peer aider             # aider on the same tasks and GGUF too
    python bench/local_tasks.py --set new                # bench/tasks_new (13-24); old: bench/tasks
    python bench/local_tasks.py --via-server             # agentcli through llama_cpp.server

Prints a line per task (solved or why not, seconds, turns, tool calls), then solved/total, per set too.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TASKS = Path(__file__).resolve().parent / "tasks"
SETS = {"old": TASKS, "new": TASKS.parent / "tasks_new"}
DEFAULT_MODEL = "local/qwen2.5-coder-1.5b"


def run_task(task: Path, model: str, timeout: float, keep: bool, code_map: bool = True,
             server=None) -> dict:
    """Run one task in a fresh copy of its repo; return what happened. `server`: a running
    llama_cpp.server to use (as `openai/<alias> --base-url`, no failover) instead of `model`."""
    spec = json.loads((task / "task.json").read_text(encoding="utf-8"))
    tmp = Path(tempfile.mkdtemp(prefix=f"agentcli-bench-{task.name}-"))
    ws = tmp / "repo"
    shutil.copytree(task / "repo", ws)
    env = {**os.environ, "AGENTCLI_HOME": str(tmp / "library"), "AGENTCLI_FALLBACK": "none",
           "AGENTCLI_CODEMAP": "1" if code_map else "0"}
    for key in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "ANTHROPIC_BASE_URL", "OPENAI_BASE_URL"):
        env.pop(key, None)
    target = ["--model", model] if server is None else \
        ["--model", f"openai/{server.alias}", "--base-url", server.base, "--fallback", "none"]
    cmd = [sys.executable, "-m", "agentcli", "run", spec["prompt"], "-C", str(ws), *target,
           "--output-format", "stream-json", "--max-turns", str(spec.get("max_turns", 12))]
    started = time.monotonic()
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
        out, err, code = proc.stdout, proc.stderr, proc.returncode
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        err, code = f"timed out after {timeout:.0f}s", -1
    elapsed = time.monotonic() - started
    events = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    result = next((e for e in events if e.get("type") == "result"), {})
    answer = result.get("result", "") if not result.get("is_error") else ""
    calls = [e for e in events if e.get("type") == "tool_call"]
    answer_file = tmp / "answer.txt"
    answer_file.write_text(answer, encoding="utf-8")
    check = subprocess.run([sys.executable, str(task / "check.py"), str(ws), str(answer_file)],
                           capture_output=True, text=True, timeout=60)
    why = (check.stderr.strip() or check.stdout.strip()).splitlines()
    row = {"task": task.name, "harness": "agentcli" if server is None else "agentcli/server",
           "solved": check.returncode == 0,
           "seconds": round(elapsed, 1), "turns": result.get("num_turns"),
           "tool_calls": [c.get("name") for c in calls],
           "stop_reason": result.get("stop_reason"), "exit_code": code,
           "why": "" if check.returncode == 0 else (why[-1] if why else "check failed"),
           "answer": answer[:300], "usage": result.get("usage")}
    if code not in (0, 1):
        row["why"] = row["why"] or err.strip().splitlines()[-1:]
    if keep:
        row["workspace"] = str(ws)
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    return row


def run_peer(task: Path, server, timeout: float, keep: bool) -> dict:
    """Run aider (bench/peers.py) on one task in a fresh copy of its repo, through the llama
    server `server`, and check it as run_task does: its reply is the answer file."""
    import peers

    spec = json.loads((task / "task.json").read_text(encoding="utf-8"))
    tmp = Path(tempfile.mkdtemp(prefix=f"aider-bench-{task.name}-"))
    ws = tmp / "repo"
    shutil.copytree(task / "repo", ws)
    run = peers.run_aider(spec["prompt"], ws, server, tmp / "aider", timeout)
    if run["exit_code"] == -1:  # the server may still be decoding the abandoned request
        server.stop()
        server.start()
    answer_file = tmp / "answer.txt"
    answer_file.write_text(run["answer"], encoding="utf-8")
    check = subprocess.run([sys.executable, str(task / "check.py"), str(ws), str(answer_file)],
                           capture_output=True, text=True, timeout=60, check=False)
    why = (check.stderr.strip() or check.stdout.strip()).splitlines()
    row = {"task": task.name, "harness": "aider", "solved": check.returncode == 0,
           "seconds": round(run["seconds"], 1), "turns": None, "tool_calls": [],
           "exit_code": run["exit_code"], "answer": run["answer"][:300],
           "why": "" if check.returncode == 0 else (why[-1] if why else "check failed")}
    if run["exit_code"] == -1 and not row["solved"]:
        row["why"] = f"timed out after {timeout:.0f}s; {row['why']}"
    elif run["exit_code"] not in (0, -1) and not row["solved"]:
        row["why"] = f"aider exited {run['exit_code']}: {run['stdout'].strip().splitlines()[-1:]}"
    if keep:
        row["workspace"] = str(ws)
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    return row


def print_row(row: dict, harness: bool) -> None:
    mark = "solved" if row["solved"] else f"failed: {row['why']}"
    name = f"{row['harness']:8} " if harness else ""
    turns = "-" if row["harness"] == "aider" else row["turns"] or 0  # aider does not count them
    print(f"{row['task']:24} {name}{row['seconds']:7.1f}s  turns {turns:>2}  "
          f"calls {','.join(row['tool_calls']) or '-'}  {mark}", flush=True)


def start_peer_server(model: str, aider: bool = True):
    """The llama_cpp.server that aider (or agentcli with --via-server) talks to, serving the GGUF
    behind `model`, started."""
    import peers

    if aider and not peers.AIDER.is_file():
        raise SystemExit(f"aider is not installed for the bench; once: {peers.AIDER_SETUP}")
    gguf, alias = peers.gguf_for(model)
    log = Path(tempfile.gettempdir()) / "agentcli-bench-llama-server.log"
    server = peers.LlamaServer(gguf, alias, log)
    server.start()
    print(f"llama_cpp.server: {gguf.name} as {alias} at {server.base}, n_ctx {server.n_ctx}, "
          f"up in {server.load_seconds:.0f}s (not counted in aider's seconds)", flush=True)
    return server


def summary(rows: list[dict], harness: str, model: str) -> dict:
    solved = sum(r["solved"] for r in rows)
    seconds = sum(r["seconds"] for r in rows)
    print(f"{harness:8} solved {solved}/{len(rows)} with {model} in {seconds:.0f}s "
          f"({seconds / max(len(rows), 1):.0f}s a task)")
    return {"harness": harness, "solved": solved, "total": len(rows), "seconds": round(seconds, 1),
            "sets": per_set(rows, f"{harness:8} "), "tasks": rows}


def per_set(rows: list[dict], label: str = "") -> dict:
    """Each set's solved/total and seconds (the runs', summed), printed on one line."""
    sets = {name: [r for r in rows if r["set"] == name] for name in SETS}
    sets = {name: {"solved": sum(r["solved"] for r in got), "total": len(got),
                   "seconds": round(sum(r["seconds"] for r in got), 1)} for name, got in sets.items() if got}
    print(label + "; ".join(f"{name} tasks: {s['solved']}/{s['total']} in {s['seconds']:.0f}s"
                            for name, s in sets.items()), flush=True)
    return sets


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("only", nargs="*", help="run only tasks whose name starts with these")
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per task")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--keep", action="store_true", help="keep each task's workspace")
    parser.add_argument("--no-code-map", action="store_true",
                        help="run without the code map (its head in the prompt, the code_map tool)")
    parser.add_argument("--peer", choices=["aider"],
                        help="also run this agent on each task (same model, fresh copy; bench/peers.py)")
    parser.add_argument("--via-server", action="store_true",
                        help="agentcli talks to the model through llama_cpp.server (openai/<model> "
                             "--base-url, --fallback none), as a user who runs a local server does")
    parser.add_argument("--set", choices=["old", "new", "all"], default="all",
                        help="old: bench/tasks, new: bench/tasks_new, all: both (default)")
    args = parser.parse_args(argv)
    tasks = [(name, p) for name in (SETS if args.set == "all" else [args.set])
             for p in sorted(SETS[name].iterdir()) if (p / "task.json").is_file()
             and (not args.only or any(p.name.startswith(o) for o in args.only))]
    rows = []
    started = time.monotonic()
    print(f"{len(tasks)} tasks on {args.model}, code map {'off' if args.no_code_map else 'on'}", flush=True)
    server = start_peer_server(args.model, aider=bool(args.peer)) if args.peer or args.via_server else None
    peer_rows: list[dict] = []
    try:
        for task_set, task in tasks:
            row = run_task(task, args.model, args.timeout, args.keep, not args.no_code_map,
                           server if args.via_server else None)
            rows.append({**row, "set": task_set})
            print_row(rows[-1], server is not None)
            if args.peer:
                peer_rows.append({**run_peer(task, server, args.timeout, args.keep), "set": task_set})
                print_row(peer_rows[-1], True)
    finally:
        if server:
            server.stop()
    solved = sum(r["solved"] for r in rows)
    total_s = time.monotonic() - started
    if args.peer:
        results = {"model": args.model, "code_map": not args.no_code_map,
                   "harnesses": [summary(rows, "agentcli", args.model),
                                 summary(peer_rows, args.peer, args.model)]}
    else:
        print(f"solved {solved}/{len(rows)} with {args.model} in {total_s:.0f}s "
              f"({total_s / max(len(rows), 1):.0f}s a task)")
        results = {"model": args.model, "code_map": not args.no_code_map, "solved": solved,
                   "total": len(rows), "seconds": round(total_s, 1), "sets": per_set(rows), "tasks": rows}
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
