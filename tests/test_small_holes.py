"""Item 6 of issue 13, each performed for real: a secret across the 1 MiB boundary of a spilled
line, a command outliving agentcli after SIGKILL or SIGTERM without the sandbox, secrets in
`--output-format json/stream-json`, and `session_id: null` after a full disk. (`write`'s mode
under the umask is in test_file_fidelity.py.)"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agentcli.testing.scripted_server import Turn
from tests.conftest import provider_env

TOKEN = "ghp_" + "R8k" * 14  # a GitHub token by its format: redacted wherever it is written


def _shell(command: str) -> list[Turn]:
    return [Turn(tool_calls=[{"name": "shell", "arguments": {"command": command}}]), Turn(text="ok")]


def test_a_secret_across_the_1mib_boundary_of_one_long_line_is_redacted_in_the_spill_file(
        server, cli, workspace):
    at = 2**20 - 20  # the token starts 20 bytes before the first block of the stream ends
    srv = server(_shell(f"python3 -c \"import sys; sys.stdout.write('x' * {at} + '{TOKEN}' + "
                        f"' y' * 300000 + chr(10))\""))
    result, proc = cli(srv).json("run", "go", "-C", str(workspace), "--model", "anthropic/m")
    assert proc.returncode == 0, proc.stderr
    spilled = list((workspace / ".agentcli").rglob("spill/*.txt"))
    assert spilled, "the output was not spilled"
    data = spilled[0].read_bytes()
    assert TOKEN[:10].encode() not in data and TOKEN[-10:].encode() not in data
    assert b"x" * at + b"[REDACTED:github-token] y y" in data and data.count(b" y") == 300000


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_without_the_sandbox_a_command_ends_when_agentcli_is_killed(sig, server, workspace):
    srv = server(_shell("echo $$ > shell.pid; sleep 300 & echo $! > child.pid; wait"))
    env = {**os.environ, **provider_env(srv)}
    agent = subprocess.Popen([sys.executable, "-m", "agentcli", "run", "go", "-C", str(workspace),
                              "--model", "anthropic/m", "--sandbox", "off"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not (workspace / "child.pid").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.2)
        pids = [int((workspace / n).read_text()) for n in ("shell.pid", "child.pid")]
        assert all(_alive(p) for p in pids)
        agent.send_signal(sig)
        agent.wait(30)
        deadline = time.monotonic() + 10
        while any(_alive(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_alive(p) for p in pids), "the command outlived agentcli"
    finally:
        agent.kill()
        for name in ("shell.pid", "child.pid"):
            if (workspace / name).exists():
                try:
                    os.kill(int((workspace / name).read_text()), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass


@pytest.mark.parametrize("fmt", ["json", "stream-json"])
def test_json_output_redacts_what_the_archive_redacts(fmt, server, cli, workspace):
    def respond(req):
        if req.assistant_turns == 0:
            return Turn(tool_calls=[{"name": "shell", "arguments": {
                "command": "echo $DEPLOY_TOKEN; echo " + TOKEN}}])
        return Turn(text="The output was: " + req.tool_results()[-1])

    secret = "dq-" + "7fK2" * 8
    proc = cli(server(respond), DEPLOY_TOKEN=secret)(
        "run", "go", "-C", str(workspace), "--model", "anthropic/m", "--output-format", fmt)
    assert proc.returncode == 0, proc.stderr
    assert "REDACTED" in proc.stdout and "The output was" in proc.stdout
    assert secret not in proc.stdout and TOKEN not in proc.stdout
    assert secret not in proc.stderr and TOKEN not in proc.stderr


@pytest.fixture
def small_disk(tmp_path):
    """A 16 MiB tmpfs (root only): full once filled, the way a disk is."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mnt)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_after_a_full_disk_the_json_result_names_the_session_that_was_made(server, cli, workspace,
                                                                          small_disk):
    srv = server([Turn(text="first"), Turn(text="never")])
    args = ("run", "go", "-C", str(workspace), "--model", "anthropic/m", "--library",
            str(small_disk / "lib"))
    first, proc = cli(srv).json(*args)
    assert proc.returncode == 0 and first["session_id"], proc.stderr
    subprocess.run(["dd", "if=/dev/zero", f"of={small_disk}/fill", "bs=4k"], capture_output=True)
    result, proc = cli(srv).json(*args)
    assert proc.returncode == 1 and "No space left on device" in result["result"]
    made = sorted(p.name for p in (small_disk / "lib" / "sessions").iterdir())
    assert result["session_id"] is not None and result["session_id"] in made


def test_a_disk_that_fills_during_the_run_still_names_the_session(server, cli, workspace, small_disk):
    fill = f"dd if=/dev/zero of={small_disk}/fill bs=4k 2>/dev/null; echo filled"
    srv = server(_shell(fill))
    result, proc = cli(srv).json("run", "go", "-C", str(workspace), "--model", "anthropic/m",
                                 "--library", str(small_disk / "lib"), "--sandbox", "off")
    assert proc.returncode == 1 and "No space left on device" in result["result"], proc.stderr
    made = sorted(p.name for p in (small_disk / "lib" / "sessions").iterdir())
    assert result["session_id"] in made and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == "agentcli: error: [Errno 28] No space left on device"
