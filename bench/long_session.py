"""Long-session benchmark: 1,000+ turns, 2 M+ tokens of tool output, through a 32k-token window.

A real Session (archive, spill, index files, compaction, memory tools) talks through the
official OpenAI SDK to the scripted model server, which runs in a child process so its memory
and its measuring are not charged to agentcli. Each turn reads a generated log file (some
through `shell`); facts are planted in some of them. The server answers summary requests too.

Printed figures: max request tokens vs the window, compactions, the share of each request that
is a byte-identical prefix of the previous one (outside compaction turns), planted-fact recall
through memory_search (by the fact's exact name, and by a paraphrased keyword query for facts
written as sentences: see bench/paraphrase.py), memory_search latency, harness overhead per
turn excluding model and tool time, peak RSS.

    python bench/long_session.py [--turns 1000] [--window 32768] [--facts 200] [--sentences 200]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

TURNS_PER_RUN = 50
WORDS = ["amber", "basalt", "cobalt", "delta", "ember", "fjord", "granite", "harbor", "indigo",
         "juniper", "kestrel", "lumen", "mistral", "nimbus", "onyx", "prairie", "quartz", "raven"]
ANIMALS = ["falcon", "otter", "lynx", "heron", "bison", "marten", "ibis", "gecko", "viper", "wren"]


# -- the workload ------------------------------------------------------------------------------

def make_files(root: Path, turns: int, facts: int, seed: int, sentences: list[dict]) -> list[dict]:
    """One log file per tool turn, sized so the tool output passes 2 M tokens; facts planted,
    and the `sentences` each in a file of its own (those placed get a "turn")."""
    rng = random.Random(seed)
    data = root / "data"
    data.mkdir(parents=True)
    planted: list[dict] = []
    fact_turns = set(rng.sample([k for k in range(turns) if (k + 1) % TURNS_PER_RUN], facts))
    free = [k for k in range(turns) if (k + 1) % TURNS_PER_RUN and k not in fact_turns]
    placement = random.Random(seed + 1)  # the logs stay as they were without sentences
    by_turn = dict(zip(placement.sample(free, min(len(free), len(sentences))), sentences))
    for k in range(turns):
        if (k + 1) % TURNS_PER_RUN == 0:
            continue
        big = rng.random() < 0.4
        n_lines = rng.randint(75, 235) if big else rng.randint(10, 42)
        lines = [f"{(i // 60) % 24:02d}:{i % 60:02d}:{(k * 7 + i) % 60:02d} "
                 f"{rng.choice(['INFO', 'INFO', 'DEBUG', 'WARN'])} worker {rng.randint(1, 64)} "
                 f"finished batch {rng.randint(1000, 99999)} in {rng.randint(3, 900)} ms, "
                 f"queue {rng.randint(0, 40)}, shard {rng.choice(WORDS)}" for i in range(n_lines)]
        if k in fact_turns:
            name = f"{rng.choice(WORDS)}-{rng.choice(ANIMALS)}-{len(planted)}"
            value = f"TK-{rng.randint(100000, 999999)}-{rng.choice(WORDS).upper()}"
            lines.insert(rng.randint(0, len(lines)), f"NOTE: the deploy token for {name} is {value}")
            planted.append({"turn": k, "name": name, "value": value})
        if k in by_turn:
            lines.insert(placement.randint(0, len(lines)), by_turn[k]["sentence"])
            by_turn[k]["turn"] = k
        (data / f"part{k:04d}.log").write_text("\n".join(lines) + "\n")
    return planted


def plan_turn(k: int) -> dict:
    """What the scripted model does on its k-th (non-summary) request."""
    if (k + 1) % TURNS_PER_RUN == 0:
        return {"text": f"Task {k // TURNS_PER_RUN} is done: every log part was read."}
    if k % 10 == 3:
        call = {"name": "shell", "arguments": {"command": f"cat data/part{k:04d}.log"}}
    else:
        call = {"name": "read", "arguments": {"path": f"data/part{k:04d}.log"}}
    return {"text": f"Reading log part {k}.", "tool_calls": [call]}


# -- the server side (child process) -----------------------------------------------------------

def serve(metrics_path: str) -> None:
    from agentcli.library.compaction import SUMMARY_MARKER
    from agentcli.testing.scripted_server import ScriptedServer, Turn
    from agentcli.tokens import _encoder

    encode = _encoder()
    state = {"k": 0, "prev": None}
    out = open(metrics_path, "a", encoding="utf-8")

    def respond(req):
        summary = SUMMARY_MARKER in req.system
        messages = [m for m in req.messages if m.get("role") != "system"]
        parts = [req.system, json.dumps(req.body.get("tools", []), sort_keys=True)]
        parts += [json.dumps(m, sort_keys=True) for m in messages]
        canon = "".join(parts)
        tokens = len(encode(canon)) if encode else len(canon) // 4
        record = {"summary": summary, "messages": len(messages), "tokens": tokens}
        if not summary:
            prev = state["prev"]
            if prev is not None:
                same = len(os.path.commonprefix([prev, canon]))
                record["prefix_share"] = same / len(canon)
                record["diverge"] = canon[max(0, same - 80): same + 80]
            state["prev"] = canon
        out.write(json.dumps(record) + "\n")
        out.flush()
        # Usage as a real provider reports it: counted by a real tokenizer.
        usage = {"input_tokens": tokens, "output_tokens": 60}
        if summary:
            text = req.messages[-1]["content"] if req.messages else ""
            requests = text.split("<user-requests", 1)[-1].split("</user-requests>", 1)[0]
            return Turn(text="## Goal\nRead every log part the user named and report.\n"
                             f"## User requests\n{requests.strip()[:1500]}\n## Current work\n"
                             "Reading log parts in order; details are in the library.\n"
                             "## Next step\nRead the next part.", usage=usage)
        turn = plan_turn(state["k"])
        state["k"] += 1
        return Turn(**turn, usage=usage)

    server = ScriptedServer(respond, model_name="bench-32k").start()
    print(server.openai_base_url, flush=True)
    sys.stdin.read()  # until the parent closes our stdin
    server.stop()


# -- the agent side ----------------------------------------------------------------------------

def run_bench(args) -> dict:
    from agentcli.config import Settings
    from agentcli.events import Emitter
    from agentcli.library.compaction import SUMMARY_MARKER
    from agentcli.session import Session
    from agentcli.tokens import estimate

    from paraphrase import generate

    root = Path(tempfile.mkdtemp(prefix="agentcli-bench-"))
    sentences = generate(args.sentences, args.seed)
    planted = make_files(root, args.turns, args.facts, args.seed, sentences)
    sentences = [f for f in sentences if "turn" in f]
    metrics_path = root / "server-metrics.jsonl"
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(metrics_path)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              text=True, cwd=REPO)
    base_url = server.stdout.readline().strip()
    os.environ.update({"OPENAI_API_KEY": "bench", "OPENAI_BASE_URL": base_url,
                       "AGENTCLI_FALLBACK": "none"})
    os.environ.pop("AGENTCLI_HOME", None)

    compactions: list[dict] = []
    calls = {"turn_requests": 0}
    after_compaction: set[int] = set()  # indexes of turn requests that follow a compaction

    def on_event(e) -> None:
        if e.kind == "compaction":
            compactions.append(e.data)
            after_compaction.add(calls["turn_requests"])

    emitter = Emitter([on_event])
    session = Session.create(Settings(workspace=root, model="openai/bench-32k",
                                      context_window=args.window, fallback=[]), emitter)
    # Wall and CPU (this thread) seconds spent in the model, in tools, and in the bench's counting.
    timing = {"model": 0.0, "tool": 0.0, "bench": 0.0, "model_cpu": 0.0, "tool_cpu": 0.0,
              "bench_cpu": 0.0}
    clock = time.thread_time
    model = session.model
    complete, dispatch = model.complete, session.toolbox.dispatch
    tool_tokens = [0]

    def timed_complete(request, on_text=None):
        if SUMMARY_MARKER not in request.system:
            calls["turn_requests"] += 1
        t, c = time.perf_counter(), clock()
        try:
            return complete(request, on_text)
        finally:
            timing["model"] += time.perf_counter() - t
            timing["model_cpu"] += clock() - c

    def timed_dispatch(call):
        t, c = time.perf_counter(), clock()
        result = dispatch(call)
        t2, c2 = time.perf_counter(), clock()
        timing["tool"] += t2 - t
        timing["tool_cpu"] += c2 - c
        tool_tokens[0] += estimate(result.content)  # the bench's own counting, not harness work
        timing["bench"] += time.perf_counter() - t2
        timing["bench_cpu"] += clock() - c2
        return result

    model.complete, session.toolbox.dispatch = timed_complete, timed_dispatch
    overheads: list[float] = []
    overheads_cpu: list[float] = []
    marks: dict = {"t": None, "c": 0.0}

    def close_turn() -> None:
        if marks["t"] is not None:
            wall = time.perf_counter() - marks["t"]
            cpu = clock() - marks["c"]
            overheads.append(wall - sum(timing[k] - marks[k] for k in ("model", "tool", "bench")))
            overheads_cpu.append(cpu - sum(timing[k] - marks[k] for k in ("model_cpu", "tool_cpu",
                                                                          "bench_cpu")))

    def turn_boundary():
        close_turn()
        marks.update(t=time.perf_counter(), c=clock(), **timing)

    # Each request opens a new interval; what the harness does between two (fitting the window
    # included) is its overhead once the model's, the tools' and the bench's own time are out.
    session.hooks.on("before_request", turn_boundary)
    started = time.perf_counter()
    runs = (args.turns + TURNS_PER_RUN - 1) // TURNS_PER_RUN
    for r in range(runs):
        outcome = session.run(f"Task {r}: read log parts {r * TURNS_PER_RUN} to "
                              f"{(r + 1) * TURNS_PER_RUN - 2} under data/ and tell me when done.")
        close_turn()
        marks["t"] = None
        if outcome.is_error:
            raise SystemExit(f"run {r} stopped: {outcome.stop_reason}: {outcome.result}")
    elapsed = time.perf_counter() - started

    recall = ask_back(dispatch, planted, sentences)
    session.archive.close()
    server.stdin.close()
    server.wait(timeout=30)

    reqs = [json.loads(line) for line in metrics_path.read_text().splitlines()]
    turns = [r for r in reqs if not r["summary"]]
    # A compaction seen when i turn requests had been sent comes right before request i (0-based).
    steady = [r["prefix_share"] for i, r in enumerate(turns)
              if "prefix_share" in r and i not in after_compaction]
    steps: dict[str, int] = {}
    for c in compactions:
        steps[c["step"]] = steps.get(c["step"], 0) + 1
    spilled = sum(1 for _ in (session.dir / "spill").glob("*.txt"))
    ordered, ordered_cpu = sorted(overheads), sorted(overheads_cpu)
    return {
        "turns": session.turns, "runs": runs, "window": args.window,
        "tool_output_tokens": tool_tokens[0], "spilled_results": spilled,
        "requests": len(reqs), "summary_requests": len(reqs) - len(turns),
        "max_request_tokens": max(r["tokens"] for r in reqs),
        "compactions": len(compactions), "compaction_steps": steps,
        "prefix_share_mean": statistics.mean(steady) if steady else None,
        "prefix_share_median": statistics.median(steady) if steady else None,
        "prefix_share_min": min(steady) if steady else None,
        "prefix_share_requests": len(steady),
        **recall,
        "overhead_ms_median": statistics.median(ordered) * 1000,
        "overhead_ms_p90": ordered[int(len(ordered) * 0.9)] * 1000,
        "overhead_cpu_ms_median": statistics.median(ordered_cpu) * 1000,
        "overhead_cpu_ms_p90": ordered_cpu[int(len(ordered_cpu) * 0.9)] * 1000,
        "model_s": timing["model"], "tool_s": timing["tool"], "wall_s": elapsed,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "archive_mb": session.archive.path.stat().st_size / 1e6, "workspace": str(root),
    }


def ask_back(dispatch, planted: list[dict], sentences: list[dict]) -> dict:
    """Every planted fact looked up through memory_search: by name, and by paraphrase."""
    from agentcli.types import ToolCall

    times: list[float] = []

    def ask(query: str) -> str:
        started = time.perf_counter()
        content = dispatch(ToolCall(f"bench-{len(times)}", "memory_search", {"query": query})).content
        times.append(time.perf_counter() - started)
        return content

    found = sum(f["value"] in ask(f"deploy token {f['name']}") for f in planted)
    para_found = para_top1 = 0
    misses: list[str] = []
    for fact in sentences:
        lines = ask(fact["query"]).splitlines()
        para_found += any(fact["value"] in line for line in lines)
        para_top1 += len(lines) > 2 and fact["value"] in lines[2]
        if not any(fact["value"] in line for line in lines):
            misses.append(f"{fact['query']!r} -> {fact['sentence']!r}; first hit: "
                          f"{lines[2].strip()[:200] if len(lines) > 2 else lines[0]}")
    times.sort()
    return {"recall": found / len(planted) if planted else None, "facts": len(planted), "found": found,
            "para_recall": para_found / len(sentences) if sentences else None,
            "sentences": len(sentences), "para_found": para_found, "para_top1": para_top1,
            "misses": misses, "queries": len(times), "query_ms_p50": statistics.median(times) * 1000,
            "query_ms_p95": times[int(len(times) * 0.95)] * 1000, "query_ms_max": times[-1] * 1000}


def report(m: dict) -> str:
    pct = lambda x: "n/a" if x is None else f"{x * 100:.1f}%"  # noqa: E731
    return "\n".join([
        f"long session: {m['turns']} turns in {m['runs']} runs, window {m['window']:,} tokens, "
        f"{m['wall_s']:.0f}s wall ({m['model_s']:.0f}s in the model, {m['tool_s']:.0f}s in tools)",
        f"tool output:        {m['tool_output_tokens']:,} tokens (cl100k), {m['spilled_results']} "
        f"results spilled; archive {m['archive_mb']:.1f} MB",
        f"max request:        {m['max_request_tokens']:,} tokens (cl100k: system, tools, messages) "
        f"vs window {m['window']:,}",
        f"compactions:        {m['compactions']} {m['compaction_steps']} "
        f"({m['summary_requests']} summary requests)",
        f"prefix reuse:       mean {pct(m['prefix_share_mean'])}, median {pct(m['prefix_share_median'])}, "
        f"min {pct(m['prefix_share_min'])} over {m['prefix_share_requests']} requests outside "
        f"compaction turns (target ≥ 90%)",
        f"fact recall:        {m['found']}/{m['facts']} = {pct(m['recall'])} through memory_search "
        f"by the fact's name (target ≥ 99%)",
        f"paraphrase recall:  {m['para_found']}/{m['sentences']} = {pct(m['para_recall'])} shown by "
        f"memory_search, {m['para_top1']} of them as the first hit (target ≥ 99%)",
        f"memory_search:      p50 {m['query_ms_p50']:.1f} ms, p95 {m['query_ms_p95']:.1f} ms, max "
        f"{m['query_ms_max']:.1f} ms over {m['queries']} queries (target p95 ≤ 50 ms)",
        f"harness overhead:   median {m['overhead_ms_median']:.2f} ms, p90 {m['overhead_ms_p90']:.2f} ms "
        f"per turn of wall time excluding model and tool time (target ≤ 5 ms); CPU: median "
        f"{m['overhead_cpu_ms_median']:.2f} ms, p90 {m['overhead_cpu_ms_p90']:.2f} ms",
        f"peak RSS:           {m['peak_rss_mb']:.0f} MB (target ≤ 150 MB)",
    ] + [f"missed by paraphrase: {miss}" for miss in m["misses"][:5]])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=1000)
    parser.add_argument("--window", type=int, default=32768)
    parser.add_argument("--facts", type=int, default=200)
    parser.add_argument("--sentences", type=int, default=200,
                        help="facts written as sentences, looked up by paraphrase")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--keep", action="store_true", help="keep the generated workspace")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    figures = run_bench(args)
    print(report(figures))
    if args.keep:
        print(f"workspace kept: {figures['workspace']}")
    else:
        shutil.rmtree(figures["workspace"], ignore_errors=True)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
