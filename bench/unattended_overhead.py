"""What an unattended run's bookkeeping costs per turn, without the model: folding the turn's
archive events into the ledger, fingerprinting the files (git diff + untracked files), and
rewriting PROGRESS.md, late in a long run (many turns already in the ledger).

    python bench/unattended_overhead.py [--files N] [--turns N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from agentcli.library import Library
from agentcli.library.archive import Archive
from agentcli.unattended import ledger
from agentcli.unattended.gitwork import fingerprint
from agentcli.unattended.state import ArchiveTail, RunState


def turn_events(archive: Archive, i: int) -> None:
    archive.append("assistant", message={"role": "assistant", "content": f"turn {i}"}, model="anthropic/m",
                   usage={"input_tokens": 20_000, "output_tokens": 300}, stop_reason="tool_use")
    command = f"python -m pytest -q tests/test_{i % 40}.py"
    archive.append("tool_call", call={"id": f"c{i}", "name": "shell", "arguments": {"command": command}})
    archive.append("tool_result", message={"role": "tool", "tool_call_id": f"c{i}",
                                           "content": f"exit code: 1\n{i % 7} failed, 30 passed in 0.4s"},
                   meta={"exit_code": 1})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000, help="files in the repository")
    parser.add_argument("--turns", type=int, default=1000, help="turns already in the run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "repo"
        for i in range(args.files):
            path = repo / f"pkg{i % 50}" / f"mod{i}.py"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"def f{i}():\n    return {i}\n" * 20)
        subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
        subprocess.run(["git", "add", "."], cwd=repo, check=True)
        subprocess.run(["git", "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", "x"],
                       cwd=repo, check=True)
        archive = Archive(Path(tmp) / "events.jsonl")
        archive.append("unattended_start", goal="bench", limits={"time_s": 3600}, checks=[], criteria=[])
        state, tail = RunState(), ArchiveTail(archive.path)
        library = Library(Path(tmp))
        for i in range(args.turns):
            turn_events(archive, i)
        for event in tail.new_events():
            state.apply(event)

        fold, prints, renders = [], [], []
        for i in range(args.turns, args.turns + 50):
            (repo / "pkg0" / "mod0.py").write_text(f"changed {i}\n")  # a file change each turn
            turn_events(archive, i)
            t0 = time.perf_counter()
            for event in tail.new_events():
                state.apply(event)
            t1 = time.perf_counter()
            fingerprint(repo)
            t2 = time.perf_counter()
            library.write_text(Path(tmp) / "PROGRESS.md", ledger.render(state, "bench", "running"))
            t3 = time.perf_counter()
            fold.append(t1 - t0)
            prints.append(t2 - t1)
            renders.append(t3 - t2)

    print(f"repository: {args.files} files; ledger: {args.turns} turns, "
          f"{len(state.observations)} observations")
    for label, samples in (("fold one turn", fold), ("fingerprint files", prints),
                           ("write PROGRESS.md", renders)):
        print(f"{label:>20}: median {statistics.median(samples) * 1000:7.2f} ms, "
              f"max {max(samples) * 1000:7.2f} ms")
    total = statistics.median([a + b + c for a, b, c in zip(fold, prints, renders)])
    print(f"{'per turn':>20}: median {total * 1000:7.2f} ms")


if __name__ == "__main__":
    main()
