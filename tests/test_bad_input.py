"""Bad input from the user and from the model: one clear line, nothing lost, the archive readable."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time

import pytest

from agentcli.library.archive import Archive, read_events
from agentcli.library.manifest import MANIFEST_NAME
from agentcli.testing.scripted_server import Turn


def _one_line_error(proc: subprocess.CompletedProcess) -> str:
    assert "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("agentcli: error: ")
    return lines[0]


@pytest.mark.parametrize("args,needle", [
    (["run", "x", "--no-such-flag"], "No such option: --no-such-flag"),
    (["--bogus"], "No such option: --bogus"),
    (["run"], "Missing argument 'prompt'"),
    (["run", "x", "--max-turns", "zero"], "Invalid value for '--max-turns'"),
    (["run", "x", "--max-turns", "0"], "Invalid value for '--max-turns'"),
    (["run", "x", "--context-window", "12"], "Invalid value for '--context-window'"),
    (["no-such-command"], "No such command 'no-such-command'"),
])
def test_usage_errors_are_one_line_with_a_pointer_to_help(args, needle, cli):
    proc = cli()(*args)
    assert proc.returncode == 2
    line = _one_line_error(proc)
    assert needle in line and "--help" in line


@pytest.mark.parametrize("model,needle", [
    ("mystery/model", "unknown provider 'mystery'"),
    ("anthropic/", "is empty"),
    ("banana", "cannot tell the provider of model 'banana'"),
    ("openai/gpt-5", "OPENAI_API_KEY is not set"),
])
def test_bad_model_names_are_one_line(model, needle, cli, workspace):
    proc = cli()("run", "x", "-C", str(workspace), "--model", model)
    # A name that cannot be a model is a usage error (2), like any bad flag; a missing key is 1.
    assert proc.returncode == (1 if "KEY" in needle else 2)
    assert needle in _one_line_error(proc)


def test_a_library_from_a_newer_agentcli_is_refused_untouched(server, cli, workspace):
    library = workspace / ".agentcli"
    library.mkdir()
    manifest = {"format": 7, "written_by": "agentcli 9.0.0"}
    (library / MANIFEST_NAME).write_text(json.dumps(manifest))
    srv = server([Turn(text="never")])
    proc = cli(srv)("run", "x", "-C", str(workspace), "--model", "anthropic/m")
    assert proc.returncode == 1
    line = _one_line_error(proc)
    assert "agentcli 9.0.0 (library format 7" in line and "upgrade agentcli" in line
    assert [p.name for p in library.iterdir()] == [MANIFEST_NAME] and not srv.requests
    assert json.loads((library / MANIFEST_NAME).read_text()) == manifest


def test_a_new_library_is_marked_with_its_format(server, cli, workspace):
    srv = server([Turn(text="hi")])
    assert cli(srv)("run", "x", "-C", str(workspace), "--model", "anthropic/m").returncode == 0
    assert json.loads((workspace / ".agentcli" / MANIFEST_NAME).read_text())["format"] == 1


@pytest.mark.parametrize("make,needle", [
    (lambda p: p.write_text("x"), "it is a file, not a folder"),
    (lambda p: (p.mkdir(), (p / MANIFEST_NAME).write_text("{torn")), "is damaged"),
])
def test_a_library_folder_that_cannot_be_used_is_one_line(make, needle, server, cli, workspace, tmp_path):
    lib = tmp_path / "lib"
    make(lib)
    srv = server([Turn(text="never")])
    proc = cli(srv)("run", "x", "-C", str(workspace), "--model", "anthropic/m", "--library", str(lib))
    assert proc.returncode == 1 and needle in _one_line_error(proc) and not srv.requests


# -- a disk that fills up ------------------------------------------------------------------------

LIMIT = 24_000


def _limit_file_size():
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, LIMIT))


def test_a_disk_that_fills_while_writing_ends_in_one_line_and_the_archive_stays_readable(
        server, workspace, cli):
    turns = [Turn(text=f"step {i} " + "x" * 1500, tool_calls=[{"name": "shell", "arguments": {
        "command": f"echo {i} >> ledger"}}]) for i in range(40)] + [Turn(text="done")]
    srv = server(turns)
    proc = subprocess.run([sys.executable, "-m", "agentcli", "run", "go", "-C", str(workspace),
                           "--model", "anthropic/m", "--output-format", "json"],
                          env={**os.environ, **cli(srv).env}, capture_output=True, text=True,
                          preexec_fn=_limit_file_size, timeout=120)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("agentcli: error: cannot write the session archive") and \
        last.endswith("File too large")
    assert json.loads(proc.stdout.splitlines()[-1])["is_error"] is True

    (archive,) = list((workspace / ".agentcli").rglob("events.jsonl"))
    assert archive.stat().st_size <= LIMIT
    events = list(read_events(archive))
    assert [e["id"] for e in events] == [f"e{n:06d}" for n in range(1, len(events) + 1)]
    lines = archive.read_bytes().split(b"\n")
    assert all(json.loads(line) for line in lines[:-1])  # at most the last line is torn
    # Write-ahead: every command that ran had its call recorded before it ran.
    ran = (workspace / "ledger").read_text().split()
    called = [e["call"]["arguments"]["command"].split()[1] for e in events if e["type"] == "tool_call"]
    assert ran and called[: len(ran)] == ran and len(called) - len(ran) <= 1

    # With room again, the same archive takes new events after the torn line, ids continuing.
    reopened = Archive(archive)
    eid = reopened.append("note", text="after the disk was freed")
    reopened.close()
    again = list(read_events(archive))
    assert again[:len(events)] == events and again[-1]["id"] == eid == f"e{len(events) + 1:06d}"


# -- two processes, one workspace ----------------------------------------------------------------

def test_two_agentcli_processes_in_one_workspace_keep_their_sessions_apart(server, cli, workspace):
    def respond(req):
        who = req.last_user_text().split()[-1]  # the prompt: "task for alpha"
        if req.assistant_turns < 4:
            return Turn(text=f"{who} step {req.assistant_turns}", chunk_delay=0.01,
                        tool_calls=[{"name": "shell", "arguments": {
                            "command": f"echo {who}-{req.assistant_turns} >> shared.log"}}])
        return Turn(text=f"{who} done")

    srv = server(respond)
    env = {**os.environ, **cli(srv).env}
    procs = [subprocess.Popen([sys.executable, "-m", "agentcli", "run", f"task for {who}", "-C",
                               str(workspace), "--model", "anthropic/m", "--output-format", "json"],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for who in ("alpha", "beta")]
    outs = [p.communicate(timeout=120) for p in procs]
    results = [json.loads(out.splitlines()[-1]) for out, _ in outs]
    assert [r["result"] for r in results] == ["alpha done", "beta done"], outs
    assert results[0]["session_id"] != results[1]["session_id"]
    for who, result in zip(("alpha", "beta"), results):
        archive = workspace / ".agentcli" / "sessions" / result["session_id"] / "events.jsonl"
        lines = archive.read_text().splitlines()
        events = [json.loads(line) for line in lines]
        assert [e["id"] for e in events] == [f"e{n:06d}" for n in range(1, len(events) + 1)]
        texts = " ".join(e["message"]["content"] for e in events if e["type"] == "assistant")
        other = "beta" if who == "alpha" else "alpha"
        assert who in texts and other not in texts
        assert [e["type"] for e in events].count("tool_result") == 4 and events[-1]["type"] == "run_end"
    log = (workspace / "shared.log").read_text().split()
    assert sorted(log) == sorted(f"{w}-{i}" for w in ("alpha", "beta") for i in range(4))
    # The shared index, written by both under a lock, lists both sessions.
    index = (workspace / ".agentcli" / "INDEX.md").read_text()
    assert all(f"- {r['session_id']} " in index for r in results)


def test_a_session_in_use_cannot_be_resumed_by_a_second_process(server, cli, workspace):
    srv = server([Turn(text="first answer"), Turn(text="slow answer " * 50, chunk_delay=0.02)])
    first, proc = cli(srv).json("run", "hello", "-C", str(workspace), "--model", "anthropic/m")
    assert proc.returncode == 0
    sid = first["session_id"]
    env = {**os.environ, **cli(srv).env}
    args = [sys.executable, "-m", "agentcli", "run", "more", "-C", str(workspace), "--model",
            "anthropic/m", "--resume", sid, "--output-format", "json"]
    holder = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while len(srv.requests) < 2 and holder.poll() is None:  # it holds the session, mid-answer
        time.sleep(0.01)
    second = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60)
    out, _ = holder.communicate(timeout=60)
    assert second.returncode == 1
    assert f"session {sid} is in use by another agentcli process" in _one_line_error(second)
    assert json.loads(out.splitlines()[-1])["result"].startswith("slow answer")
    events = list(read_events(workspace / ".agentcli" / "sessions" / sid / "events.jsonl"))
    assert [e["id"] for e in events] == [f"e{n:06d}" for n in range(1, len(events) + 1)]
    assert [e["type"] for e in events].count("run_end") == 2


# -- bad input from the model --------------------------------------------------------------------

@pytest.mark.parametrize("provider", ["anthropic", "openai"])
def test_lone_surrogates_from_a_model_do_not_poison_the_session(provider, server, cli, workspace):
    # The wire writes these as JSON escapes ("\\ud800"), which is how a model can send them.
    srv = server([Turn(text="odd \ud800 text", tool_calls=[{
        "name": "read", "arguments": '{"path": "src/\\udfffapp.py"}'}]), Turn(text="fine \ud83d")])
    result, proc = cli(srv).json("run", "go", "-C", str(workspace), "--model", f"{provider}/m")
    assert proc.returncode == 0, proc.stderr
    assert result["result"] == "fine \ufffd"
    assert "no such file: src/\ufffdapp.py" in srv.requests[1].tool_results()[-1]
    archive = next((workspace / ".agentcli").rglob("events.jsonl"))
    archive.read_bytes().decode("utf-8")  # strict: the archive is valid UTF-8


def test_a_prompt_on_stdin_that_is_not_utf8_is_read_with_replacements(server, cli, workspace):
    srv = server([Turn(text="ok")])
    proc = subprocess.run([sys.executable, "-m", "agentcli", "run", "-", "-C", str(workspace),
                           "--model", "openai/m"], input=b"caf\xe9 \xff\xfe bytes\n",
                          env={**os.environ, **cli(srv).env}, capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert srv.requests[0].last_user_text() == "caf\ufffd \ufffd\ufffd bytes\n"


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
def test_huge_tool_arguments_are_handled(provider, server, cli, workspace):
    big = "line of text\n" * 20_000  # 260 kB through the streaming wire
    srv = server([Turn(tool_calls=[{"name": "write", "arguments": {"path": "big.txt", "content": big}},
                                   {"name": "read", "arguments": {"path": "x" * 5000}}]),
                  Turn(text="written")])
    result, proc = cli(srv).json("run", "go", "-C", str(workspace), "--model", f"{provider}/m")
    assert proc.returncode == 0 and result["result"] == "written"
    assert (workspace / "big.txt").read_text() == big
    too_long = srv.requests[1].tool_results()[-1]
    assert too_long.startswith("error:") and "File name too long" in too_long


def test_pipes_devices_and_huge_files_are_refused_not_hung_on(server, cli, workspace):
    os.mkfifo(workspace / "pipe")
    with open(workspace / "huge.log", "wb") as f:  # sparse: 3 GB on paper, nothing on disk
        f.truncate(3 * 1024**3)
    (workspace / "zero").symlink_to("/dev/zero")
    srv = server([Turn(tool_calls=[{"name": "read", "arguments": {"path": "pipe"}},
                                   {"name": "edit", "arguments": {"path": "huge.log", "old": "a",
                                                                  "new": "b"}},
                                   {"name": "read", "arguments": {"path": "zero"}}]),
                  Turn(text="refused")])
    result, proc = cli(srv).json("run", "go", "-C", str(workspace), "--model", "anthropic/m",
                                 "--allow-outside", timeout=60)
    assert proc.returncode == 0 and result["result"] == "refused"
    pipe, huge, zero = srv.requests[1].tool_results()
    assert "pipe is not a regular file" in pipe and "zero is not a regular file" in zero
    assert "huge.log is 3072 MB" in huge and "head/sed -n" in huge


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_an_unforeseen_failure_is_one_line_with_the_traceback_kept(fmt, monkeypatch, tmp_path, capsys):
    """A bug inside agentcli must not spill a traceback on the user: one line on stderr naming
    where the traceback went, and the usual JSON object when a program asked for JSON."""
    from agentcli.cli import app as app_mod

    def boom(**_):
        raise RuntimeError("something nobody foresaw\nsecond line")

    monkeypatch.setattr(app_mod, "app", boom)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("AGENTCLI_DEBUG", raising=False)
    key = "sk-ant-api03-" + "x7Q" * 30  # a prompt that quotes a key: not into the crash log
    monkeypatch.setattr(sys, "argv", ["agentcli", "run", "--output-format", fmt, f"hi {key}"])
    with pytest.raises(SystemExit) as ended:
        app_mod.main()
    assert ended.value.code == 1
    out, err = capsys.readouterr()
    assert err.count("\n") == 1 and "RuntimeError: something nobody foresaw second line" in err
    logs = list((tmp_path / "agentcli" / "crashes").glob("crash-*.log"))
    assert len(logs) == 1 and str(logs[0]) in err
    assert "Traceback" in logs[0].read_text() and "boom" in logs[0].read_text()
    assert key not in logs[0].read_text()
    if fmt == "json":
        obj = json.loads(out)
        assert obj["is_error"] is True and "something nobody foresaw" in obj["result"]
    else:
        assert out == ""


def test_failed_starts_leave_no_session_folders_behind(cli, workspace):
    run = cli()
    for model in ["anthropic/claude-x", "openai/gpt-x", "bogus/zzz"]:  # no key; unknown provider
        proc = run("run", "hi", "-C", str(workspace), "--model", model)
        assert proc.returncode != 0
        _one_line_error(proc)
    sessions = workspace / ".agentcli" / "sessions"
    assert not sessions.exists() or list(sessions.iterdir()) == []
    listed = run("sessions", "-C", str(workspace))
    assert listed.returncode == 0 and "no sessions yet" in listed.stdout


def test_sessions_clears_empty_folders_of_old_failed_starts_but_not_a_starting_one(cli, workspace):
    import fcntl

    sessions = workspace / ".agentcli" / "sessions"
    stale, starting = sessions / "20200101-000000-dead", sessions / "20200101-000001-live"
    for folder in (stale, starting):
        folder.mkdir(parents=True)
        (folder / ".lock").touch()
    with open(starting / ".lock", "a") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)  # as a process between lock and first event
        proc = cli()("sessions", "-C", str(workspace))
        assert proc.returncode == 0 and "no sessions yet" in proc.stdout
        assert not stale.exists() and starting.exists()


def test_help_shows_flags_without_a_type_and_square_brackets_survive(cli):
    top = cli()("--help", env={"COLUMNS": "120"})
    assert top.returncode == 0 and "--version" in top.stdout and "<bool>" not in top.stdout
    run = cli()("run", "--help", env={"COLUMNS": "120"})
    assert "--unattended" in run.stdout and "<bool>" not in run.stdout and "list[" not in run.stdout
    batch = cli()("batch", "--help", env={"COLUMNS": "120"})
    assert "[[task]] entries" in batch.stdout
