"""`agentcli batch`: several unattended tasks, each in its own worktree and session."""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime
from pathlib import Path

import pytest

from agentcli.testing.scripted_server import Turn
from tests.test_unattended_e2e import git, repo  # noqa: F401 - the fixture


def _task_of(req) -> str:
    first = next(m for m in req.messages if m.get("role") == "user")
    content = first["content"]
    text = content if isinstance(content, str) else " ".join(b.get("text", "") for b in content)
    return text.split("TASK-", 1)[1].split()[0]


class Tracker:
    """A responder for three tasks: A and C write a file and finish, B's provider rejects the key.
    It also counts how many tasks are in flight at once."""

    def __init__(self):
        self.lock = threading.Lock()
        self.active: set[str] = set()
        self.most = 0

    def __call__(self, req) -> Turn:
        task = _task_of(req)
        with self.lock:
            self.active.add(task)
            self.most = max(self.most, len(self.active))
        if task == "B":
            with self.lock:
                self.active.discard(task)
            return Turn(status=401, error_message="invalid x-api-key")
        if req.assistant_turns == 0:
            time.sleep(1.0)
            return Turn(tool_calls=[{"name": "write", "arguments": {"path": f"{task}.txt", "content": task}}])
        if req.assistant_turns == 1:
            return Turn(text=f"Wrote {task}.txt")  # no finish yet: the harness continues it
        with self.lock:
            self.active.discard(task)
        return Turn(tool_calls=[{"name": "finish", "arguments": {"status": "done", "summary": f"{task} ok"}}])


TASKS = """
[defaults]
model = "anthropic/m"
max_time = "5m"

[[task]]
name = "alpha"
prompt = "TASK-A write A.txt"

[[task]]
name = "beta"
prompt = "TASK-B write B.txt"

[[task]]
name = "gamma"
prompt = '''
TASK-C write C.txt
(a multi-line prompt)
'''
check = "test -f C.txt"
"""


def test_batch_of_three_with_two_in_parallel_where_one_fails(server, cli, repo):  # noqa: F811
    tracker = Tracker()
    srv = server(tracker)
    (repo / "tasks.toml").write_text(TASKS)
    git(repo, "add", "tasks.toml")
    git(repo, "commit", "-qm", "tasks")
    proc = cli(srv)("batch", "tasks.toml", "--parallel", "2", "--output-format", "json", cwd=repo,
                    timeout=300)
    assert proc.returncode == 1, proc.stderr
    out = json.loads(proc.stdout)
    by_name = {t["name"]: t for t in out["tasks"]}
    assert [t["name"] for t in out["tasks"]] == ["alpha", "beta", "gamma"]
    assert by_name["alpha"]["status"] == "done" and by_name["gamma"]["status"] == "done"
    assert by_name["beta"]["status"] == "error" and "401" in by_name["beta"]["result"]
    # Two ran side by side, never three: gamma started only after another task ended.
    spans = [(datetime.fromisoformat(t["started_at"]), datetime.fromisoformat(t["ended_at"]))
             for t in out["tasks"]]
    overlap = max(sum(1 for s, e in spans if s <= start < e) for start, _ in spans)
    assert overlap == 2 and tracker.most <= 2
    # Each task had its own session, branch and worktree; the user's checkout is untouched.
    sessions = {t["session_id"] for t in out["tasks"]}
    assert len(sessions) == 3 and None not in sessions
    for name, letter in (("alpha", "A"), ("gamma", "C")):
        branch = by_name[name]["branch"]
        assert branch == f"agentcli/{by_name[name]['session_id']}"
        assert git(repo, "show", f"{branch}:{letter}.txt") == letter
        assert Path(by_name[name]["report"]).is_file()
    assert not any((repo / f"{x}.txt").exists() for x in "ABC")
    assert git(repo, "status", "--porcelain") == ""
    assert "alpha done" in proc.stderr and "beta error" in proc.stderr and "gamma done" in proc.stderr
    assert "1 of 3 task(s) did not finish done: beta" in proc.stderr
    summary = json.loads((Path(out["logs"]) / "summary.json").read_text())
    assert [t["status"] for t in summary] == ["done", "error", "done"]


def test_batch_text_output_ends_with_a_summary_table(server, cli, repo):  # noqa: F811
    srv = server([Turn(tool_calls=[{"name": "finish", "arguments": {"status": "done", "summary": "ok"}}])])
    (repo / "one.toml").write_text('[[task]]\nname = "only"\nprompt = "do it"\nmodel = "openai/m"\n')
    proc = cli(srv)("batch", "one.toml", "-C", str(repo), timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "summary" in proc.stdout and "only" in proc.stdout and "done" in proc.stdout
    assert "branch agentcli/" in proc.stdout


@pytest.mark.parametrize("text,needle", [
    ("[[task]]\nprompt = 'x'\ncolour = 'red'\n", "unknown field(s) colour"),
    ("[[task]]\nname = 'x'\n", "the prompt is missing or empty"),
    ("[[task]\nprompt = 'x'\n", "is not valid TOML"),
    ("[defaults]\nmodel = 'x'\n", "has no [[task]] entries"),
    ("[[task]]\nprompt = 'x'\ndirectory = 'nowhere'\n", "no such folder"),
    ("[[task]]\nname = 'a'\nprompt = 'x'\n[[task]]\nname = 'a'\nprompt = 'y'\n", "used twice"),
    ("[[task]]\nprompt = 'x'\ndirectory = '/'\n", "is not in a git repository"),
])
def test_bad_tasks_file_is_a_one_line_error_and_nothing_starts(text, needle, cli, repo):  # noqa: F811
    (repo / "bad.toml").write_text(text)
    proc = cli()("batch", str(repo / "bad.toml"), "-C", str(repo))
    assert proc.returncode == 2
    assert needle in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert git(repo, "branch", "--list", "agentcli/*") == ""


def test_missing_tasks_file_is_a_one_line_error(cli, tmp_path):
    proc = cli()("batch", str(tmp_path / "none.toml"), "-C", str(tmp_path))
    assert proc.returncode == 2 and "no such file" in proc.stderr


class FailsOnce:
    """Task B's provider rejects the key the first time; after that every task writes and finishes."""

    def __init__(self):
        self.rejected = False

    def __call__(self, req) -> Turn:
        task = _task_of(req)
        if task == "B" and not self.rejected:
            self.rejected = True
            return Turn(status=401, error_message="invalid x-api-key")
        if req.assistant_turns == 0:
            return Turn(tool_calls=[{"name": "write", "arguments": {"path": f"{task}.txt", "content": task}}])
        return Turn(tool_calls=[{"name": "finish", "arguments": {"status": "done", "summary": f"{task} ok"}}])


def test_batch_resume_goes_on_with_the_tasks_that_did_not_end_done(server, cli, repo):  # noqa: F811
    srv = server(FailsOnce())
    (repo / "tasks.toml").write_text('[defaults]\nmodel = "anthropic/m"\nmax_time = "5m"\n'
                                     '[[task]]\nname = "alpha"\nprompt = "TASK-A"\n'
                                     '[[task]]\nname = "beta"\nprompt = "TASK-B"\n')
    first = cli(srv)("batch", "tasks.toml", "--output-format", "json", cwd=repo, timeout=300)
    assert first.returncode == 1, first.stderr
    alpha, beta = json.loads(first.stdout)["tasks"]
    assert alpha["status"] == "done" and beta["status"] == "error"
    asked = len(srv.requests)
    second = cli(srv)("batch", "tasks.toml", "--resume", "--output-format", "json", cwd=repo, timeout=300)
    assert second.returncode == 0, second.stderr
    again = {t["name"]: t for t in json.loads(second.stdout)["tasks"]}
    assert again["alpha"]["status"] == "done" and again["alpha"]["branch"] == alpha["branch"]
    assert again["beta"]["status"] == "done" and again["beta"]["session_id"] == beta["session_id"]
    assert all("TASK-B" in json.dumps(r.messages) for r in srv.requests[asked:])  # alpha did not run again
    assert git(repo, "show", f"{again['beta']['branch']}:B.txt") == "B"


def test_batch_resume_without_an_earlier_batch_is_a_one_line_error(cli, repo):  # noqa: F811
    (repo / "tasks.toml").write_text("[[task]]\nprompt = 'x'\n")
    proc = cli()("batch", "tasks.toml", "--resume", cwd=repo)
    assert proc.returncode == 2 and "no earlier batch of these tasks" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
