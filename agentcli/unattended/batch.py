"""`agentcli batch TASKS.toml`: several unattended runs, each in its own git worktree and session.

Each task runs as a subprocess, `agentcli run - --checkpoint git --output-format stream-json`,
so a crash in one task cannot take the others down, and each leaves the usual ledger, report
and branch. The batch reads each child's JSON events to keep a live view of its progress.

The file:

    [defaults]                 # optional: any task field, for every task
    model = "anthropic/claude-sonnet-4-5"
    max_time = "2h"

    [[task]]
    name = "parser"            # optional; default task-1, task-2, ...
    prompt = "Fix the failing tests in tests/test_parser.py"   # or prompt_file = "x.md"
    check = "pytest tests/test_parser.py"                      # or a list
    directory = "."            # relative to the TOML file; default: the batch's folder
    num_gpus = 1               # what the task asks of a Ray cluster (--executor ray): num_cpus,
                               # num_gpus, memory ("8GiB" or bytes)

`Batch` runs the tasks on this machine; `agentcli.unattended.raybatch.RayBatch` hands them to Ray.
Both keep the `Task` objects up to date with `apply_event`, so the live view and the summary are
the same whichever ran them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from agentcli.models.catalog import cost_usd
from agentcli.types import Usage
from agentcli.unattended.gitwork import repo_root

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10: the backport tomllib was made from
    import tomli as tomllib

FIELDS = {"name", "prompt", "prompt_file", "directory", "model", "fallback", "base_url", "max_time",
          "max_cost", "max_tokens", "max_turns", "check", "stall_turns", "approval",
          "num_cpus", "num_gpus", "memory"}
RESOURCES = ("num_cpus", "num_gpus", "memory")
_UNITS = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "m": 10**6, "mb": 10**6, "g": 10**9, "gb": 10**9,
          "t": 10**12, "tb": 10**12, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}
_FLAGS = {"model": "--model", "fallback": "--fallback", "base_url": "--base-url", "max_time": "--max-time",
          "max_cost": "--max-cost", "max_tokens": "--max-tokens", "max_turns": "--max-turns",
          "stall_turns": "--stall-turns", "approval": "--approval"}


class BatchError(Exception):
    """The tasks file cannot be used; one line for people."""


@dataclass
class Task:
    """One task of a batch, and what is known of its run so far."""

    name: str
    prompt: str
    directory: Path
    options: dict[str, Any] = field(default_factory=dict)
    status: str = "queued"
    session_id: str | None = None
    model: str | None = None
    turns: int = 0
    tokens: int = 0
    cost: float | None = 0.0
    last: str = ""
    started: float | None = None
    ended: float | None = None
    started_at: str | None = None  # wall-clock times, for the summary
    ended_at: str | None = None
    result: dict[str, Any] | None = None
    log: Path | None = None
    resources: dict[str, float] = field(default_factory=dict)  # for Ray: num_cpus, num_gpus, memory
    ray: dict[str, Any] | None = None  # where Ray ran it: node id and address, worker pid
    branch: str | None = None  # its branch, once known without a result (a worker that died)
    resume: str | None = None  # the session this run goes on with (`batch --resume`)

    @property
    def elapsed(self) -> float:
        if self.started is None:
            return 0.0
        return (self.ended or time.monotonic()) - self.started

    def argv(self, library: Path | None) -> list[str]:
        start = ["--resume", self.resume] if self.resume else ["-"]
        args = [sys.executable, "-m", "agentcli", "run", *start, "-C", str(self.directory), *self.flags()]
        if library is not None:
            args += ["--library", str(library)]
        return args

    def flags(self) -> list[str]:
        """The options of this task's `agentcli run`, wherever it runs. A resumed run keeps its
        recorded checkpoint and checks."""
        args = ["--output-format", "stream-json"] + ([] if self.resume else ["--checkpoint", "git"])
        for key, flag in _FLAGS.items():
            if self.options.get(key) is not None:
                args += [flag, str(self.options[key])]
        for command in [] if self.resume else self.options.get("check") or []:
            args += ["--check", command]
        return args

    def to_dict(self) -> dict[str, Any]:
        r = self.result or {}
        u = r.get("unattended") or {}
        return {"name": self.name, "status": self.status, "session_id": self.session_id,
                "directory": str(self.directory), "turns": self.turns, "tokens": self.tokens,
                "cost_usd": self.cost, "duration_s": round(self.elapsed, 1),
                "result": r.get("result", self.last),
                "branch": (u.get("checkpoint") or {}).get("branch") or self.branch,
                "report": u.get("report_file"),
                "log": str(self.log) if self.log else None, "started_at": self.started_at,
                "ended_at": self.ended_at, **({"ray": self.ray} if self.ray else {})}


def load(path: Path, base_dir: Path, model: str | None = None) -> list[Task]:
    """The tasks of a TOML file, checked in full before any starts. Raises BatchError."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BatchError(f"no such file: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BatchError(f"cannot read {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise BatchError(f"{path} is not valid TOML: {exc}") from None
    unknown = set(data) - {"defaults", "task"}
    if unknown:
        raise BatchError(f"{path}: unknown table(s) {', '.join(sorted(unknown))}; "
                         "use [defaults] and [[task]]")
    defaults = data.get("defaults") or {}
    raw_tasks = data.get("task") or []
    if not isinstance(defaults, dict) or not isinstance(raw_tasks, list):
        raise BatchError(f"{path}: write [defaults] as a table and each task as [[task]]")
    if not raw_tasks:
        raise BatchError(f"{path} has no [[task]] entries")
    tasks, names = [], set()
    for i, raw in enumerate(raw_tasks, 1):
        merged = {**defaults, **raw}
        where = f"{path}: task {i}"
        bad = set(merged) - FIELDS
        if bad:
            raise BatchError(f"{where}: unknown field(s) {', '.join(sorted(bad))} "
                             f"(allowed: {', '.join(sorted(FIELDS))})")
        name = str(merged.get("name") or f"task-{i}")
        if name in names:
            raise BatchError(f"{where}: the name {name!r} is used twice")
        names.add(name)
        prompt = _prompt(merged, path.parent, where)
        directory = _directory(merged.get("directory"), path.parent, base_dir, where)
        check = merged.get("check") or []
        check = [check] if isinstance(check, str) else check
        if not isinstance(check, list) or not all(isinstance(c, str) and c.strip() for c in check):
            raise BatchError(f"{where}: check must be a command or a list of commands")
        options = {k: merged[k] for k in _FLAGS if merged.get(k) is not None}
        if model:
            options["model"] = model
        options["check"] = check
        resources = {k: _resource(k, merged[k], where) for k in RESOURCES if merged.get(k) is not None}
        tasks.append(Task(name=name, prompt=prompt, directory=directory, options=options,
                          resources=resources))
    return tasks


def carry_on(tasks: list[Task], batches: Path) -> tuple[list[Task], Path | None]:
    """For `batch --resume`: the tasks to run, after reading the last batch under `batches` that
    ran tasks of these names (and that batch's folder, or None). A task that ended done there
    stays done and is not run; one that has a session goes on with it; the others start anew."""
    for folder in sorted((p for p in batches.glob("*") if p.is_dir()), reverse=True):
        try:
            summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
            earlier = {e["name"]: e for e in summary}
        except (OSError, ValueError, TypeError, KeyError):
            continue
        if not any(t.name in earlier for t in tasks):
            continue
        todo = []
        for task in tasks:
            e = earlier.get(task.name) or {}
            task.session_id, task.branch = e.get("session_id"), e.get("branch")
            if e.get("status") == "done":
                task.status, task.last = "done", f"done in the batch of {folder.name}"
                task.turns, task.tokens, task.cost = e.get("turns", 0), e.get("tokens", 0), e.get("cost_usd")
                continue
            task.resume = task.session_id
            todo.append(task)
        return todo, folder
    return list(tasks), None


def _resource(key: str, value: Any, where: str) -> float:
    """num_cpus and num_gpus are counts (fractions allowed, as Ray allows); memory is bytes, or
    text such as "512MiB" or "8GB"."""
    amount: float | None = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        amount = float(value)
    elif key == "memory" and isinstance(value, str):
        text = value.strip().lower().replace(" ", "")
        number = text.rstrip("kmgtib")
        unit = _UNITS.get(text[len(number):])
        try:
            amount = float(number) * unit if unit else None
        except ValueError:
            amount = None
    if amount is None or amount < 0 or amount != amount:
        what = 'bytes or a size such as "8GiB"' if key == "memory" else "a number of 0 or more"
        raise BatchError(f"{where}: {key} must be {what}, not {value!r}")
    return int(amount) if key == "memory" else amount


def _prompt(merged: dict[str, Any], here: Path, where: str) -> str:
    if merged.get("prompt") and merged.get("prompt_file"):
        raise BatchError(f"{where}: give prompt or prompt_file, not both")
    if merged.get("prompt_file"):
        file = here / str(merged["prompt_file"])
        try:
            text = file.read_text(encoding="utf-8")
        except OSError as exc:
            raise BatchError(f"{where}: cannot read prompt_file {file}: {exc.strerror or exc}") from None
    else:
        text = merged.get("prompt")
    if not isinstance(text, str) or not text.strip():
        raise BatchError(f"{where}: the prompt is missing or empty")
    return text


def _directory(value: Any, here: Path, base_dir: Path, where: str) -> Path:
    directory = (here / str(value)) if value else base_dir
    directory = directory.expanduser().resolve()
    if not directory.is_dir():
        raise BatchError(f"{where}: no such folder: {directory}")
    if repo_root(directory) is None:
        raise BatchError(f"{where}: {directory} is not in a git repository, and each task runs in a "
                         "git worktree of its own (run `git init` there)")
    return directory


Update = Callable[[Task], None]


class Batch:
    """Runs tasks `parallel` at a time; `on_update(task)` after every change of a task."""

    def __init__(self, tasks: list[Task], parallel: int, logs: Path, *, library: Path | None = None,
                 on_update: Update | None = None, env: dict[str, str] | None = None):
        self.tasks = tasks
        self.parallel = max(1, parallel)
        self.logs = logs
        self.library = library
        self.on_update = on_update or (lambda task: None)
        self.env = env
        self._procs: dict[str, subprocess.Popen] = {}
        self._lock = threading.Lock()
        self._stopping = False

    def run(self) -> list[Task]:
        self.logs.mkdir(parents=True, exist_ok=True)
        with ThreadPoolExecutor(max_workers=self.parallel) as pool:
            list(pool.map(self._run_one, self.tasks))
        return self.tasks

    def stop(self) -> None:
        """Ask every running task to stop cleanly (SIGTERM: each writes its report); skip the rest."""
        with self._lock:
            self._stopping = True
            procs = list(self._procs.values())
        for proc in procs:
            try:
                proc.terminate()
            except OSError:
                pass

    def _run_one(self, task: Task) -> None:
        if self._stopping:
            task.status, task.last = "skipped", "the batch was stopped before this task started"
            self.on_update(task)
            return
        task.log = self.logs / f"{safe_name(task.name)}.log"
        task.status, task.started, task.started_at = "running", time.monotonic(), now()
        self.on_update(task)
        try:
            with open(task.log, "w", encoding="utf-8") as log:
                proc = subprocess.Popen(task.argv(self.library), stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=log, text=True, cwd=task.directory,
                                        env={**os.environ, **(self.env or {})}, bufsize=1,
                                        start_new_session=True)  # Ctrl-C reaches the batch only
                with self._lock:
                    self._procs[task.name] = proc
                assert proc.stdin is not None and proc.stdout is not None
                proc.stdin.write(task.prompt)
                proc.stdin.close()
                for line in proc.stdout:
                    if apply_event(task, line):
                        self.on_update(task)
                code = proc.wait()
        except OSError as exc:
            task.status, task.last, code = "error", f"could not start: {exc}", -1
        finally:
            with self._lock:
                self._procs.pop(task.name, None)
        task.ended, task.ended_at = time.monotonic(), now()
        if task.result is None:
            task.status = "error"
            task.last = last_line(task.log) or f"exited with code {code} and no result"
        self.on_update(task)


def apply_event(task: Task, line: str) -> bool:
    """Fold one line of a task's `--output-format stream-json` into `task`; whether it changed."""
    try:
        event = json.loads(line)
    except ValueError:
        return False
    if not isinstance(event, dict):
        return False
    kind = event.get("type")
    if kind == "system":
        task.session_id, task.model = event.get("session_id"), event.get("model")
    elif kind == "assistant":
        usage = Usage.from_dict(event.get("usage") or {})
        task.turns += 1
        task.tokens += usage.prompt_tokens + usage.output_tokens
        price = cost_usd(event.get("model") or "", usage)
        task.cost = None if price is None or task.cost is None else round(task.cost + price, 6)
        text = (event.get("text") or "").strip()
        if text and not event.get("tool_calls"):
            task.last = text.splitlines()[-1][:200]
    elif kind == "tool_call":
        args = event.get("arguments") or {}
        main = args.get("command") or args.get("path") or args.get("pattern") or ""
        task.last = f"{event.get('name')} {main}".strip()[:200]
    elif kind == "notice":
        task.last = str(event.get("text", ""))[:200]
    elif kind == "result":
        task.result = event
        task.status = event.get("stop_reason") or "error"
        task.last = str(event.get("result") or "")[:500]
        task.session_id = event.get("session_id") or task.session_id
        used = (event.get("unattended") or {}).get("used") or {}
        task.cost = used.get("cost_usd", task.cost)
        task.tokens = used.get("tokens", task.tokens)
    else:
        return False
    return True


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def safe_name(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:80] or "task"


def last_line(path: Path | None) -> str:
    if path is None:
        return ""
    try:
        lines = [ln for ln in path.read_text(encoding="utf-8", errors="replace").splitlines() if ln.strip()]
    except OSError:
        return ""
    return lines[-1][:300] if lines else ""
