"""`agentcli batch --executor ray`: tasks as Ray tasks on a real Ray instance (a local one the
batch starts, or a head node started here with `ray start`), each task's work shipped back."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from agentcli.testing.scripted_server import Turn
from tests.conftest import provider_env
from tests.test_batch_e2e import Tracker, _task_of
from tests.test_unattended_e2e import git, repo  # noqa: F401 - the fixture

KEY = "sk-ant-raytest-7f3a9c21e5"  # a key no file may ever hold
# Ray sizes its object store from the machine's memory; a batch of text needs little.
SMALL_RAY = {"RAY_DEFAULT_OBJECT_STORE_MAX_MEMORY_BYTES": str(120 * 2**20)}


@pytest.fixture
def ray_installed():
    pytest.importorskip("ray")


def _commit_tasks(repo: Path, text: str, name: str = "tasks.toml") -> None:  # noqa: F811
    (repo / name).write_text(text)
    git(repo, "add", name)
    git(repo, "commit", "-qm", "tasks")


def _batch(cli, srv, repo: Path, *args: str, env: dict | None = None, timeout: float = 300):  # noqa: F811
    env = {**SMALL_RAY, "ANTHROPIC_API_KEY": KEY, **(env or {})}
    proc = cli(srv)("batch", "tasks.toml", "--executor", "ray", "--output-format", "json", *args,
                    cwd=repo, env=env, timeout=timeout)
    return proc, (json.loads(proc.stdout) if proc.stdout.strip() else None)


def _holding(key: str, *roots: Path) -> list[str]:
    """Files under `roots` whose bytes contain `key`."""
    found = []
    for root in roots:
        for path in (p for p in Path(root).rglob("*") if p.is_file() and not p.is_symlink()):
            try:
                if key.encode() in path.read_bytes():
                    found.append(str(path))
            except OSError:
                continue
    return found


def _git_objects_hold(repo: Path, key: str) -> bool:  # noqa: F811
    objects = subprocess.run(["git", "cat-file", "--batch-all-objects", "--batch"], cwd=repo,
                             capture_output=True, timeout=60).stdout
    return key.encode() in objects


def _ray_sessions() -> set[str]:
    root = Path(tempfile.gettempdir()) / "ray"
    return {p.name for p in root.glob("session_2*")} if root.is_dir() else set()


TASKS = """
[defaults]
model = "anthropic/m"
max_time = "5m"

[[task]]
name = "alpha"
prompt = "TASK-A write A.txt"
num_cpus = 0.5
memory = "64MiB"

[[task]]
name = "beta"
prompt = "TASK-B write B.txt"

[[task]]
name = "gamma"
prompt = "TASK-C write C.txt"
check = "test -f C.txt"
"""


@pytest.mark.slow
def test_tasks_run_as_ray_tasks_and_each_comes_back_on_its_own_branch(
        server, cli, repo, ray_installed):  # noqa: F811
    srv = server(Tracker())
    _commit_tasks(repo, TASKS)
    (repo / "notes.txt").write_text("uncommitted, but the tasks see it\n")
    sessions_before = _ray_sessions()
    proc, out = _batch(cli, srv, repo)
    assert proc.returncode == 1, proc.stderr
    by_name = {t["name"]: t for t in out["tasks"]}
    assert out["executor"] == "ray"
    assert [by_name[n]["status"] for n in ("alpha", "beta", "gamma")] == ["done", "error", "done"]
    assert "401" in by_name["beta"]["result"]
    for name, letter in (("alpha", "A"), ("gamma", "C")):
        task = by_name[name]
        # Ray ran it, on a node of the instance, and the branch came back into this repo.
        assert len(task["ray"]["node_id"]) == 56 and isinstance(task["ray"]["worker_pid"], int)
        assert task["branch"] == f"agentcli/{task['session_id']}"
        assert git(repo, "show", f"{task['branch']}:{letter}.txt") == letter
        assert git(repo, "show", f"{task['branch']}:notes.txt") == "uncommitted, but the tasks see it\n"
        session = repo / ".agentcli" / "sessions" / task["session_id"]
        assert Path(task["report"]) == session / "REPORT.md" and Path(task["report"]).is_file()
        assert (session / "PROGRESS.md").is_file()
        assert str(repo) in (session / "REPORT.md").read_text()
        assert "agentcli-ray-" not in (session / "events.jsonl").read_text()
    assert by_name["alpha"]["ray"]["resources"] == {"CPU": 0.5, "memory": 64 * 2**20}
    # The sessions are in the user's library: listed, searchable, with the batch's log.
    listed = cli()("sessions", cwd=repo)
    assert by_name["alpha"]["session_id"] in listed.stdout and by_name["gamma"]["session_id"] in listed.stdout
    found = cli()("memory", "search", "Wrote C.txt", cwd=repo)
    assert by_name["gamma"]["session_id"] in found.stdout, found.stdout + found.stderr
    assert Path(by_name["alpha"]["log"]).is_file()
    # The user's checkout is untouched; the key is in no file of the repo, library or Ray.
    assert git(repo, "status", "--porcelain") == "?? notes.txt\n"
    assert not any((repo / f"{x}.txt").exists() for x in "ABC")
    new_ray = [Path(tempfile.gettempdir()) / "ray" / s for s in _ray_sessions() - sessions_before]
    assert new_ray, "a local Ray instance was started"
    assert _processes_naming(new_ray[0].name) == [], "... and shut down with the batch"
    assert _holding(KEY, repo, *new_ray) == [] and not _git_objects_hold(repo, KEY)
    assert "alpha done" in proc.stderr and "beta error" in proc.stderr
    assert "1 of 3 task(s) did not finish done: beta" in proc.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def ray_head(tmp_path, ray_installed):
    """A Ray head node started with `ray start`, as on a cluster: its environment holds no
    provider setting, so a task reaches the model only with what the batch ships."""
    port, temp = _free_port(), Path(tempfile.mkdtemp(prefix="rh", dir="/tmp"))  # short: socket paths
    # Token auth as Ray clusters use it; every node address on loopback (this test's whole
    # cluster is this machine, and its traffic stays on 127.0.0.1).
    auth = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32),
            "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "OPENAI_", "AGENTCLI_"))}
    env.update(auth)
    ray_bin = Path(sys.executable).parent / "ray"
    head = subprocess.Popen([str(ray_bin), "start", "--head", "--block", f"--port={port}",
                             "--node-ip-address=127.0.0.1", "--num-cpus=2", "--include-dashboard=false",
                             f"--object-store-memory={120 * 2**20}", f"--temp-dir={temp}",
                             "--disable-usage-stats"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.5)
    yield {"RAY_ADDRESS": f"127.0.0.1:{port}", **auth}, temp
    os.killpg(head.pid, signal.SIGTERM)
    try:
        head.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(head.pid, signal.SIGKILL)
    shutil.rmtree(temp, ignore_errors=True)


def _processes_naming(text: str) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if entry.name.isdigit() and text in cmd:
            found.append(cmd[:200])
    return found


def _run_processes(marker: str) -> list[tuple[int, int, str]]:
    """(pid, parent pid, command line) of the `agentcli run` processes whose folder has `marker`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if marker in cmd and " agentcli run " in f" {cmd}":
            found.append((int(entry.name), ppid, cmd))
    return found


class KillsItsWorker:
    """Task K writes K.txt and records a milestone; when its next model call comes, the Ray
    worker running it is killed (once the milestone has reached the user's repository). Task O
    writes O.txt and finishes. After the kill, K finishes too (the resumed run)."""

    def __init__(self, repo: Path):  # noqa: F811
        self.repo, self.killed = repo, None

    def __call__(self, req) -> Turn:
        task = _task_of(req)
        if req.assistant_turns == 0:
            return Turn(tool_calls=[
                {"name": "write", "arguments": {"path": f"{task}.txt", "content": task}},
                {"name": "progress", "arguments": {"milestone": f"{task}.txt written"}}])
        if task == "K" and self.killed is None:
            self._kill_worker()
        return Turn(tool_calls=[{"name": "finish", "arguments": {"status": "done", "summary": f"{task} ok"}}])

    def _kill_worker(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if "milestone: K.txt written" in git(self.repo, "log", "--all", "--format=%s"):
                break
            time.sleep(0.2)
        runs = _run_processes("agentcli-ray-kill-")
        assert len(runs) == 1, runs
        worker = runs[0][1]
        self.killed = (worker, Path(f"/proc/{worker}/cmdline").read_bytes().split(b"\0")[0].decode())
        os.kill(worker, signal.SIGKILL)


@pytest.mark.slow
def test_a_task_whose_worker_dies_is_reported_failed_and_batch_resume_goes_on_with_it(
        server, cli, repo, ray_head):  # noqa: F811
    cluster, ray_temp = ray_head
    script = KillsItsWorker(repo)
    srv = server(script)
    _commit_tasks(repo, '[defaults]\nmodel = "anthropic/m"\nmax_time = "5m"\n'
                        '[[task]]\nname = "kill"\nprompt = "TASK-K write K.txt"\n'
                        '[[task]]\nname = "other"\nprompt = "TASK-O write O.txt"\n')
    proc, out = _batch(cli, srv, repo, env=cluster)
    assert proc.returncode == 1, proc.stderr
    assert script.killed and script.killed[1].startswith("ray::"), script.killed
    killed, other = out["tasks"]
    assert other["status"] == "done" and git(repo, "show", f"{other['branch']}:O.txt") == "O"
    assert killed["status"] == "error" and "Ray worker died" in killed["result"]
    assert f"agentcli run --resume {killed['session_id']}" in killed["result"]
    # What was shipped before the kill is here: the milestone's commit and the session.
    assert killed["branch"] == f"agentcli/{killed['session_id']}"
    assert git(repo, "show", f"{killed['branch']}:K.txt") == "K"
    # `batch --resume` goes on with it on the cluster, from what was shipped; "other" stays done.
    asked = len(srv.requests)
    proc, again = _batch(cli, srv, repo, "--resume", env=cluster)
    assert proc.returncode == 0, proc.stderr
    resumed, kept = again["tasks"]
    assert resumed["status"] == "done" and resumed["session_id"] == killed["session_id"]
    assert resumed["ray"]["node_id"] and kept["status"] == "done" and kept["branch"] == other["branch"]
    later = srv.requests[asked:]
    assert later and all("TASK-K" in json.dumps(r.messages) for r in later)
    assert "K.txt written" in json.dumps(later[0].messages)  # the turns before the kill, from the archive
    session = repo / ".agentcli" / "sessions" / killed["session_id"]
    events = [json.loads(line) for line in (session / "events.jsonl").read_text().splitlines()]
    assert [e["type"] for e in events].count("unattended_resume") == 1
    assert [e["id"] for e in events] == [f"e{n:06d}" for n in range(1, len(events) + 1)]
    assert "agentcli-ray-" not in (session / "events.jsonl").read_text()
    assert git(repo, "show", f"{killed['branch']}:K.txt") == "K"
    # The cluster was reached only through the batch, and no file of it holds the key.
    assert _holding(KEY, ray_temp, repo) == [] and not _git_objects_hold(repo, KEY)
    for leftover in Path(tempfile.gettempdir()).glob("agentcli-ray-kill-*"):
        shutil.rmtree(leftover, ignore_errors=True)


class WaitsAfterItsMilestone:
    """Writes W.txt with a milestone, then holds its next model call until released."""

    def __init__(self):
        self.release = threading.Event()

    def __call__(self, req) -> Turn:
        if req.assistant_turns == 0:
            return Turn(tool_calls=[
                {"name": "write", "arguments": {"path": "W.txt", "content": "W"}},
                {"name": "progress", "arguments": {"milestone": "W.txt written"}}])
        self.release.wait(120)
        return Turn(tool_calls=[{"name": "finish", "arguments": {"status": "done", "summary": "ok"}}])


@pytest.mark.slow
def test_ctrl_c_cancels_the_ray_tasks_and_keeps_what_was_shipped(
        server, cli, repo, ray_installed):  # noqa: F811
    script = WaitsAfterItsMilestone()
    srv = server(script)
    _commit_tasks(repo, '[[task]]\nname = "wait"\nprompt = "TASK-W"\n'
                        'model = "anthropic/m"\nmax_time = "5m"\n')
    env = {**os.environ, **provider_env(srv), **SMALL_RAY}
    batch = subprocess.Popen([sys.executable, "-m", "agentcli", "batch", "tasks.toml", "--executor", "ray",
                              "--output-format", "json"], cwd=repo, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 300  # a loaded 2-core machine starts Ray slowly
        while time.monotonic() < deadline and "milestone: W.txt" not in git(repo, "log", "--all",
                                                                              "--format=%s"):
            time.sleep(0.3)
        assert _run_processes("agentcli-ray-wait-"), "the task runs on a Ray worker"
        os.killpg(batch.pid, signal.SIGINT)  # as Ctrl-C on a terminal: the whole process group
        stdout, stderr = batch.communicate(timeout=90)
    finally:
        script.release.set()
        if batch.poll() is None:
            batch.kill()
    assert batch.returncode == 130, stderr
    task = json.loads(stdout)["tasks"][0]
    assert task["status"] == "interrupted" and "what it had shipped is kept" in task["result"], stderr
    assert git(repo, "show", f"{task['branch']}:W.txt") == "W"
    assert (repo / ".agentcli" / "sessions" / task["session_id"] / "events.jsonl").is_file()
    # The run goes on here from what was shipped, as after a crash.
    resumed = cli(srv)("run", "--resume", task["session_id"], "--output-format", "json", cwd=repo,
                       timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout.splitlines()[-1])["stop_reason"] == "done"
    deadline = time.monotonic() + 30
    while _run_processes("agentcli-ray-wait-") and time.monotonic() < deadline:
        time.sleep(0.3)
    assert _run_processes("agentcli-ray-wait-") == []


@pytest.mark.parametrize("text,needle", [
    ("[[task]]\nprompt = 'x'\nnum_gpus = -1\n", "num_gpus must be a number of 0 or more"),
    ("[[task]]\nprompt = 'x'\nmemory = 'lots'\n", "memory must be bytes or a size"),
    ("[[task]]\nprompt = 'x'\nnum_cpus = '2'\n", "num_cpus must be a number"),
])
def test_bad_resources_are_a_one_line_error(text, needle, cli, repo):  # noqa: F811
    (repo / "bad.toml").write_text(text)
    proc = cli()("batch", "bad.toml", "--executor", "ray", cwd=repo)
    assert proc.returncode == 2 and needle in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_an_unknown_executor_or_unreachable_cluster_is_a_one_line_error(
        cli, repo, ray_installed):  # noqa: F811
    _commit_tasks(repo, "[[task]]\nprompt = 'x'\n")
    proc = cli()("batch", "tasks.toml", "--executor", "slurm", cwd=repo)
    assert proc.returncode == 2 and "--executor must be local or ray" in proc.stderr
    started = time.monotonic()
    proc = cli()("batch", "tasks.toml", "--executor", "ray", cwd=repo,
                 env={"RAY_ADDRESS": f"127.0.0.1:{_free_port()}"})
    assert proc.returncode == 2 and "cannot reach the Ray cluster at 127.0.0.1:" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and time.monotonic() - started < 30
    assert git(repo, "branch", "--list", "agentcli/*") == "" and not (repo / ".agentcli" / "batches").exists()


def test_without_ray_installed_the_error_says_how_to_get_it(cli, repo, tmp_path):  # noqa: F811
    _commit_tasks(repo, "[[task]]\nprompt = 'x'\n")
    blocker = tmp_path / "no-ray"
    (blocker / "ray").mkdir(parents=True)
    (blocker / "ray" / "__init__.py").write_text("raise ImportError('No module named ray')\n")
    proc = cli()("batch", "tasks.toml", "--executor", "ray", cwd=repo, env={"PYTHONPATH": str(blocker)})
    assert proc.returncode == 2 and "pip install 'agentcli[ray]'" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_a_task_no_node_can_hold_is_refused_before_any_starts(cli, repo, ray_installed):  # noqa: F811
    _commit_tasks(repo, "[[task]]\nname = 'small'\nprompt = 'x'\n"
                        "[[task]]\nname = 'gpu'\nprompt = 'y'\nnum_gpus = 1\n")
    proc = cli()("batch", "tasks.toml", "--executor", "ray", cwd=repo, env=SMALL_RAY, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "task 'gpu' asks for 1 CPU, 1 GPU, and no node of the Ray cluster has that much" in proc.stderr
    assert git(repo, "branch", "--list", "agentcli/*") == ""
