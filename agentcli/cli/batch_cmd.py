"""`agentcli batch TASKS.toml --parallel N`: unattended tasks side by side (on this machine, or
with `--executor ray` on a Ray cluster), a live table of their progress on stderr, and a summary
table (or JSON) on stdout at the end."""

from __future__ import annotations

import json
import sys
import threading
from datetime import datetime
from pathlib import Path
from typing import Optional

import typer
from typing_extensions import Annotated

from agentcli.cli import options as opt

# Each task opens its own session from the TOML file's settings: only where, which model, and
# which library come from the command line.
_SESSION_OPTIONS = opt.offering("directory", "model", "library")
_STYLES = {"done": "green", "running": "cyan", "queued": "dim", "blocked": "yellow", "skipped": "dim"}


@opt.shared_options
def batch(
    tasks_file: Annotated[Path, typer.Argument(
        help="A TOML file of \\[\\[task]] entries (see docs/unattended.md).")],
    parallel: Annotated[Optional[int], typer.Option(
        "--parallel", "-p", min=1,
        help="Tasks to run at the same time (default: 1; with --executor ray, as many as Ray can).")] = None,
    executor: Annotated[str, typer.Option(
        "--executor",
        help="local (this machine) | ray (a Ray cluster; pip install 'agentcli\\[ray]').")] = "local",
    ray_address: Annotated[Optional[str], typer.Option(
        "--ray-address", envvar="RAY_ADDRESS", show_envvar=False,
        help="The Ray cluster (HOST:PORT; also RAY_ADDRESS). Default: a local Ray instance "
             "for the batch.")] = None,
    resume: Annotated[bool, typer.Option(
        "--resume", help="Go on from the last batch of these tasks: those done stay done, the others "
                         "resume their sessions.")] = False,
    session: opt.SessionOptions = _SESSION_OPTIONS,
    output_format: Annotated[str, typer.Option("--output-format", help="text | json")] = "text",
) -> None:
    if output_format not in ("text", "json"):
        opt.fail(f"--output-format must be text or json, not {output_format!r}")
    if executor not in ("local", "ray"):
        opt.fail(f"--executor must be local or ray, not {executor!r}")
    directory, model, library = session.directory, session.model, session.library
    base = (directory or Path.cwd()).expanduser()
    if not base.is_dir():
        opt.fail(f"no such folder: {base}")
    from agentcli.library import Library
    from agentcli.unattended.batch import Batch, BatchError, carry_on, load

    try:
        # Like `git -C`, a relative path is read from the -C folder.
        tasks = load(base / tasks_file.expanduser(), base.resolve(), model=model)
    except BatchError as err:
        opt.fail(str(err))
    own_library = library.expanduser().resolve() if library else None
    lib = Library.for_workspace(base.resolve(), own_library)
    logs = lib.root / "batches" / datetime.now().strftime("%Y%m%d-%H%M%S")
    todo = tasks
    if resume:
        todo, earlier = carry_on(tasks, lib.root / "batches")
        if earlier is None:
            opt.fail(f"--resume: no earlier batch of these tasks in {lib.root / 'batches'}")
    view = _View(tasks, sys.stderr)
    if executor == "local" or not todo:
        interrupted = _run(Batch(todo, parallel or 1, logs, library=own_library, on_update=view.update), view)
    else:
        from agentcli.unattended.raybatch import RayBatch, RayError, check_fits, connected

        try:
            with connected(ray_address):
                check_fits(todo)
                interrupted = _run(RayBatch(todo, parallel, logs, library=own_library,
                                            on_update=view.update), view)
        except RayError as err:
            opt.fail(str(err))
        except KeyboardInterrupt:  # while Ray was starting: nothing ran
            interrupted = True
            logs.mkdir(parents=True, exist_ok=True)
    summary = [t.to_dict() for t in tasks]
    (logs / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    if output_format == "json":
        print(json.dumps({"tasks": summary, "logs": str(logs), "executor": executor}, ensure_ascii=False))
    else:
        _summary(tasks, logs)
    failed = [t for t in tasks if t.status != "done"]
    if interrupted:
        raise typer.Exit(130)
    if failed:
        print(f"agentcli: {len(failed)} of {len(tasks)} task(s) did not finish done: "
              f"{', '.join(t.name for t in failed)}", file=sys.stderr)
        raise typer.Exit(1)


def _run(runner, view) -> bool:
    """Run the batch with its live view; whether Ctrl-C stopped it."""
    interrupted = False
    view.start()
    try:
        worker = threading.Thread(target=runner.run, daemon=True)
        worker.start()
        while worker.is_alive():
            worker.join(0.2)
    except KeyboardInterrupt:
        interrupted = True
        runner.stop()
        worker.join()
    finally:
        view.stop()
    return interrupted


def _table(tasks, title: str):
    from rich.table import Table

    from agentcli.unattended.budgets import format_duration

    table = Table(title=title, title_justify="left", expand=False)
    for col, kw in (("task", {}), ("status", {}), ("turns", {"justify": "right"}),
                    ("tokens", {"justify": "right"}), ("cost", {"justify": "right"}),
                    ("time", {"justify": "right"}), ("last", {"overflow": "ellipsis", "max_width": 60})):
        table.add_column(col, no_wrap=col != "last", **kw)
    for t in tasks:
        cost = "?" if t.cost is None else f"${t.cost:.2f}"
        style = _STYLES.get(t.status, "red")
        table.add_row(t.name, f"[{style}]{t.status}[/]", str(t.turns), f"{t.tokens:,}", cost,
                      format_duration(t.elapsed), (t.last or "").splitlines()[0] if t.last else "")
    return table


class _View:
    """The live table on a terminal; one line per change of status elsewhere."""

    def __init__(self, tasks, stream):
        from rich.console import Console

        self.tasks = tasks
        self.console = Console(file=stream, stderr=True)
        self.live = None
        self._status: dict[str, str] = {}
        self._lock = threading.Lock()

    def start(self) -> None:
        if self.console.is_terminal:
            from rich.live import Live

            self.live = Live(_table(self.tasks, "agentcli batch"), console=self.console,
                             refresh_per_second=2, transient=True,
                             get_renderable=lambda: _table(self.tasks, "agentcli batch"))
            self.live.start()

    def update(self, task) -> None:
        if self.live is not None:
            return  # the live table re-reads the tasks itself
        with self._lock:
            if self._status.get(task.name) == task.status:
                return
            self._status[task.name] = task.status
            detail = f" ({task.session_id})" if task.status == "running" and task.session_id else ""
            if task.status not in ("running", "queued"):
                detail = f": {task.last.splitlines()[0][:160]}" if task.last else ""
            self.console.print(f"batch: {task.name} {task.status}{detail}", highlight=False, markup=False,
                               soft_wrap=True)

    def stop(self) -> None:
        if self.live is not None:
            self.live.stop()


def _summary(tasks, logs: Path) -> None:
    from rich.console import Console

    console = Console(file=sys.stdout, width=max(100, Console().width))
    console.print(_table(tasks, "agentcli batch: summary"))
    for t in tasks:
        d = t.to_dict()
        where = " · ".join(x for x in (f"branch {d['branch']}" if d["branch"] else "",
                                       f"report {d['report']}" if d["report"] else "",
                                       f"log {d['log']}" if d["log"] else "") if x)
        console.print(f"{t.name}: {where}", highlight=False, markup=False, soft_wrap=True)
    console.print(f"logs and summary.json: {logs}", highlight=False, markup=False, soft_wrap=True)
