"""Attack 2 of issue 13: a command reads the provider key from agentcli's environment as it was
started (/proc/$PPID/environ) or from its memory (/proc/$PPID/mem), sandbox or not. agentcli
re-executes itself with the keys handed over through a pipe and seals itself."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from agentcli.testing.scripted_server import Turn
from tests.conftest import REPO, provider_env

KEY = "sk-ant-api03-" + "Zq7" * 30  # long enough for every redactor: look for it unredacted
# Every ancestor's environment and readable memory, searched for the key's prefix; what is
# found is printed reversed, as the attack in the issue did, so redaction cannot hide it.
HUNT = r'''
import os, re
pid, found = os.getpid(), []
while pid > 1:
    for part in ("environ", "mem"):
        try:
            if part == "environ":
                data = open(f"/proc/{pid}/environ", "rb").read()
            else:
                data = b""
                with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb") as mem:
                    for line in maps:
                        lo, hi = (int(x, 16) for x in line.split()[0].split("-"))
                        if "r" in line.split()[1] and hi - lo < 1 << 28:
                            try:
                                mem.seek(lo); data += mem.read(hi - lo)
                            except OSError:
                                pass
            found += [m[::-1].decode() for m in re.findall(rb"sk-ant-api03-[A-Za-z0-9]{20,}", data)]
            print(pid, part, "read")
        except OSError as exc:
            print(pid, part, "denied", exc.errno)
    pid = int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1])
print("FOUND", sorted(set(found)) or "nothing")
'''


def _attack_turns(workspace: Path) -> list[Turn]:
    (workspace / "hunt.py").write_text(HUNT)
    commands = ["tr '\\0' '\\n' < /proc/$PPID/environ | grep ANTHROPIC | rev; env | grep -c sk-ant",
                "python3 hunt.py"]
    return [Turn(tool_calls=[{"name": "shell", "arguments": {"command": c}}]) for c in commands] + \
        [Turn(text="done")]


def _launchers() -> dict[str, list[str]]:
    script = Path(sys.executable).parent / "agentcli"
    found = {"python -m agentcli": [sys.executable, "-m", "agentcli"]}
    if script.exists():
        found["agentcli"] = [str(script)]
    return found


@pytest.mark.parametrize("launcher", sorted(_launchers()))
@pytest.mark.parametrize("sandbox", ["off", "auto"])
def test_no_command_reads_the_key_from_any_ancestor(launcher, sandbox, server, workspace):
    srv = server(_attack_turns(workspace))
    env = {**os.environ, **provider_env(srv), "ANTHROPIC_API_KEY": KEY}
    proc = subprocess.run([*_launchers()[launcher], "run", "hunt", "-C", str(workspace), "--model",
                           "anthropic/m", "--sandbox", sandbox], env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert any(KEY in v for v in srv.requests[0].headers.values())  # agentcli still has the key
    told = [r for req in srv.requests for r in req.tool_results()]
    assert len(told) >= 2 and "FOUND nothing" in told[-1], told
    for text in told:
        assert KEY[8:] not in text and KEY[::-1][:-8] not in text
    assert told[0].split("stdout:")[-1].strip() == "0"  # nothing from environ, none in env


def _start_count(env: dict[str, str], tmp_path: Path) -> tuple[int, str]:
    """How many times a process calling `keys.protect` started, and what it saw after."""
    log = tmp_path / "starts.log"
    code = ("import os, sys; open(sys.argv[1], 'a').write('start\\n');"
            "from agentcli import keys; keys.protect();"
            "print(os.environ.get('ANTHROPIC_API_KEY'), 'AGENTCLI_KEYS_FD' in os.environ,"
            " open('/proc/self/environ', 'rb').read().count(b'ANTHROPIC_API_KEY'))")
    out = subprocess.run([sys.executable, "-c", code, str(log)], env=env, capture_output=True,
                         text=True, timeout=60, cwd=REPO)
    assert out.returncode == 0, out.stderr
    return len(log.read_text().splitlines()), out.stdout.strip()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc/self/environ is Linux's")
def test_the_process_restarts_once_without_the_keys_and_gets_them_back(tmp_path):
    base = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "OPENAI_"))}
    starts, seen = _start_count({**base, "ANTHROPIC_API_KEY": KEY}, tmp_path / "a")
    assert starts == 2 and seen == f"{KEY} False 0"
    # No key set: nothing to hide, no second start.
    starts, seen = _start_count(base, tmp_path / "b")
    assert starts == 1 and seen == "None False 0"


@pytest.fixture(autouse=True)
def _folders(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
