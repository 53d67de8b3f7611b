"""`agentcli batch --executor ray`: each task of a batch as a Ray task, on whichever node Ray picks.

The driver (this process) ships each task a git bundle of its base commit and the provider
settings, as task arguments: Ray keeps task arguments in memory, while it writes a runtime
environment's variables into its logs on every node. The worker (`rayworker.work`) runs the
task and streams back its events and its work, which `shipped.Landing` puts into the user's
repository and library as it arrives. Ray's conventions pick the cluster: `--ray-address` or
RAY_ADDRESS; with neither, a local instance is started for the batch and shut down after it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterator

from agentcli import config
from agentcli.library import Library
from agentcli.provider_env import is_provider_secret
from agentcli.unattended.batch import Task, Update, apply_event, last_line, now, safe_name
from agentcli.unattended.gitwork import GitError
from agentcli.unattended.shipped import Landing, base_bundle, session_bundle, session_files

# Settings of the user's machine that mean nothing on a worker: the library is the user's.
_NOT_SHIPPED = {config.var("home"), config.var("cache_dir")}


class RayError(Exception):
    """Ray cannot run this batch (not installed, no cluster there, too little of it); one line."""


def provider_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """The provider keys and settings (and agentcli's own) a worker's run needs."""
    env = dict(os.environ if env is None else env)
    return {k: v for k, v in env.items() if is_provider_secret(k) and k.upper() not in _NOT_SHIPPED}


@contextlib.contextmanager
def connected(address: str | None) -> Iterator[None]:
    """Ray for the length of the block: the cluster at `address`, or a local instance."""
    if not address:
        # A local instance serves this machine only: its services listen on loopback, not on
        # the machine's network address where anyone on the network could submit work.
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    try:
        import ray
    except ImportError:
        raise RayError("--executor ray needs Ray: pip install 'agentcli[ray]'") from None
    options: dict[str, Any] = {"log_to_driver": False, "logging_level": logging.ERROR}
    if address:
        _reachable(address)
    else:
        options["include_dashboard"] = False
    # Ray prints what its nodes report (a worker that died, ...) on stdout, where the batch's
    # JSON goes: it is for people, so it goes to stderr with the live view.
    with contextlib.redirect_stdout(sys.stderr):
        try:
            ray.init(address=address or "local", **options)
        except Exception as exc:  # Ray raises many kinds here; all mean the same to the user
            where = f"the Ray cluster at {address}" if address else "a local Ray instance"
            hint = ("; if the cluster uses token authentication, set RAY_AUTH_MODE=token and its "
                    "token (RAY_AUTH_TOKEN or ~/.ray/auth_token)" if address else "")
            raise RayError(f"cannot start or reach {where}: {_one_line(exc)}{hint}") from None
        try:
            yield
        finally:
            ray.shutdown()


def check_fits(tasks: list[Task]) -> None:
    """RayError naming the first task no node of the cluster could ever run (Ray would keep it
    waiting for ever)."""
    import ray

    nodes = [n.get("Resources") or {} for n in ray.nodes() if n.get("Alive")]
    for task in tasks:
        need = _needs(task)
        if not any(all(node.get(k, 0) >= v for k, v in need.items() if v) for node in nodes):
            has = "; ".join(_describe(n) for n in nodes) or "no live node"
            raise RayError(f"task {task.name!r} asks for {_describe(need)}, and no node of the Ray "
                           f"cluster has that much ({has})")


class RayBatch:
    """Runs tasks as Ray tasks, at most `parallel` submitted at once (None: all; Ray queues
    them until a node has what each asks for). Same interface as `batch.Batch`."""

    def __init__(self, tasks: list[Task], parallel: int | None, logs: Path, *,
                 library: Path | None = None, on_update: Update | None = None,
                 env: dict[str, str] | None = None):
        self.tasks = tasks
        self.parallel = max(1, parallel or len(tasks))
        self.logs = logs
        self.library = library
        self.on_update = on_update or (lambda task: None)
        self.env = provider_env() if env is None else env
        self._running: dict[str, Any] = {}
        self._bundles: dict[tuple[Path, str], Any] = {}
        self._lock = threading.Lock()
        self._stopping = False
        self._remote = None
        self._slots = threading.Semaphore(self.parallel)

    def run(self) -> list[Task]:
        import ray

        from agentcli.unattended.rayworker import work

        self.logs.mkdir(parents=True, exist_ok=True)
        # No retries: a second run of a task would start again from its base, beside the first.
        self._remote = ray.remote(num_returns="streaming", max_retries=0)(work)
        threads = [threading.Thread(target=self._run_one, args=(task,), daemon=True,
                                    name=f"batch-{task.name}") for task in self.tasks]
        for thread in threads:
            thread.start()
        for thread in threads:
            while thread.is_alive():
                # Ray passes Ctrl-C on as SystemExit to threads of the driver: the tasks' own
                # threads end them (as interrupted), so wait for those.
                with contextlib.suppress(SystemExit):
                    thread.join()
        return self.tasks

    def stop(self) -> None:
        """Cancel every Ray task (each run is stopped on its worker; what it shipped is kept)
        and skip the tasks not submitted yet."""
        with self._lock:
            self._stopping = True
            running = list(self._running.values())
        for generator in running:
            self._cancel(generator)

    @staticmethod
    def _cancel(generator: Any) -> None:
        import ray

        if ray.is_initialized():  # any call after shutdown would start Ray again
            with contextlib.suppress(Exception):
                ray.cancel(generator)

    def _run_one(self, task: Task) -> None:
        task.log = self.logs / f"{safe_name(task.name)}.log"
        task.log.touch()
        with self._slots:
            try:
                spec, bundle, landing = self._prepare(task)
            except GitError as err:
                self._end(task, "error", f"could not ship the repository: {err}")
                return
            self._submit(task, spec, bundle, landing)

    def _submit(self, task: Task, spec: dict[str, Any], bundle: Any, landing: Landing) -> None:
        with self._lock:
            if self._stopping:
                self._end(task, "skipped", "the batch was stopped before this task started")
                return
            generator = self._remote.options(name=f"agentcli:{task.name}", **_options(task)).remote(
                spec, bundle, self.env)
            self._running[task.name] = generator
        failure = None
        try:
            self._follow(task, generator, landing)
        except SystemExit:
            # Ray ends a ray.get blocked in a thread this way when the driver gets Ctrl-C, maybe
            # before `stop` is called: cancel the Ray task here too, then.
            self._cancel(generator)
            self._stopping = True
        except Exception as exc:  # a dead worker or node, a cancel: Ray's errors, one line each
            failure = exc
        finally:
            with self._lock:
                self._running.pop(task.name, None)
            landing.close()
        task.branch = landing.branch
        if landing.problems:
            self._end(task, "error", "; ".join(dict.fromkeys(landing.problems)) + f" ({task.last})")
        elif task.result is not None:
            self._end(task, task.status, task.last)
        elif self._stopping:
            self._end(task, "interrupted", "cancelled (Ctrl-C); what it had shipped is kept" + _resume(task))
        elif failure is not None:
            self._end(task, "error", _failed(failure) + "; what it had shipped is kept" + _resume(task))
        else:
            self._end(task, "error", last_line(task.log) or "the run ended without a result")

    def _prepare(self, task: Task) -> tuple[dict[str, Any], Any, Landing]:
        import ray

        library = Library.for_workspace(task.directory, self.library)
        goes_on = None
        if task.resume:
            root, prefix, base, ref, data = session_bundle(task.directory, task.resume)
            bundle = ray.put(data)
            goes_on = {"session_id": task.resume, "files": session_files(library, task.resume),
                       "repo": str(root), "library": str(library.root)}
        else:
            root, prefix, base, ref, data = base_bundle(task.directory)
            with self._lock:
                if (root, base) not in self._bundles:  # tasks of one repository share one copy
                    self._bundles[(root, base)] = (ref, ray.put(data))
                ref, bundle = self._bundles[(root, base)]
        spec = {"name": task.name, "safe": safe_name(task.name)[:40], "prompt": task.prompt,
                "base": base, "ref": ref, "prefix": prefix, "argv": task.flags(), "resume": goes_on}
        return spec, bundle, Landing(root, library, task.log)

    def _follow(self, task: Task, generator: Any, landing: Landing) -> None:
        import ray

        for ref in generator:
            item = ray.get(ref)
            kind = item.get("kind")
            if kind == "start":
                landing.relocate(item["repo"], item["library"])
                task.status, task.started, task.started_at = "running", time.monotonic(), now()
                task.ray = {"node_id": item.get("node_id"), "node_ip": item.get("node_ip"),
                            "worker_pid": item.get("pid"), "resources": item.get("resources")}
                self.on_update(task)
            elif kind == "event":
                if apply_event(task, landing.text(item["line"], in_json=True)):
                    self.on_update(task)
            elif kind == "ship":
                landing.take(item)
                task.branch = landing.branch

    def _end(self, task: Task, status: str, last: str) -> None:
        task.status, task.last = status, last
        task.ended, task.ended_at = time.monotonic(), now()
        self.on_update(task)


def _options(task: Task) -> dict[str, Any]:
    options: dict[str, Any] = {k: v for k, v in task.resources.items() if k in ("num_cpus", "num_gpus")}
    if "memory" in task.resources:
        options["memory"] = int(task.resources["memory"])
    return options


def _needs(task: Task) -> dict[str, float]:
    return {"CPU": task.resources.get("num_cpus", 1), "GPU": task.resources.get("num_gpus", 0),
            "memory": task.resources.get("memory", 0)}


def _describe(resources: dict[str, float]) -> str:
    parts = [f"{resources.get('CPU', 0):g} CPU", f"{resources.get('GPU', 0):g} GPU"]
    if resources.get("memory"):
        parts.append(f"{resources['memory'] / 2**30:.1f} GiB memory")
    return ", ".join(parts)


def _failed(exc: BaseException) -> str:
    import ray

    if isinstance(exc, ray.exceptions.RayTaskError):  # raised by the task itself, on its worker
        return f"failed on its Ray worker ({_one_line(exc.cause or exc)})"
    return f"the Ray worker died ({_one_line(exc)})"


def _resume(task: Task) -> str:
    if not task.session_id:
        return ""
    return f"; go on with `batch --resume` (on Ray again) or here: agentcli run --resume {task.session_id}"


def _reachable(address: str) -> None:
    """RayError at once when nothing listens at `address` (ray.init would retry for minutes)."""
    if address in ("auto", "local"):
        return
    host, _, port = address.split("://", 1)[-1].rpartition(":")
    try:
        socket.create_connection((host or "127.0.0.1", int(port)), timeout=5).close()
    except ValueError:
        raise RayError(f"--ray-address {address!r} is not HOST:PORT") from None
    except OSError as err:
        raise RayError(f"cannot reach the Ray cluster at {address}: {err.strerror or err}") from None


def _one_line(exc: BaseException) -> str:
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    return f"{type(exc).__name__}: {lines[0][:200]}" if lines else type(exc).__name__
