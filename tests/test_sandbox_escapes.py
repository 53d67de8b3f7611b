"""Attacks 3 and 4 of issue 13, performed for real: `--approval readonly` with programs that
write although their names read (`rg --pre`, `uniq IN OUT`), and a command reaching the host's
Unix sockets (a path in /run, an abstract name)."""

from __future__ import annotations

import os
import socket
import subprocess
import uuid

import pytest

from agentcli.sandbox import Sandbox, probe
from agentcli.testing.scripted_server import Turn
from agentcli.tools import Workspace

BWRAP, WHY_NOT = probe()
needs_bwrap = pytest.mark.skipif(BWRAP is None, reason=f"no working bubblewrap: {WHY_NOT}")


def _commands(*commands: str) -> list[Turn]:
    turns = [Turn(tool_calls=[{"name": "shell", "arguments": {"command": c}}]) for c in commands]
    return turns + [Turn(text="tried")]


def _rg_on_path(tmp_path) -> dict[str, str]:
    """PATH with ripgrep on it (the one agentcli ships beside its interpreter, if need be)."""
    from agentcli.tools.context import ToolError
    from agentcli.tools.search import rg_path

    try:
        rg = rg_path()
    except ToolError:
        pytest.skip("no ripgrep here")
    folder = tmp_path / "bin"
    folder.mkdir()
    (folder / "rg").symlink_to(rg)
    return {"PATH": f"{folder}{os.pathsep}{os.environ['PATH']}"}


@needs_bwrap
def test_readonly_keeps_every_file_even_from_programs_that_write_though_named_readers(
        server, cli, workspace, tmp_path):
    (workspace / "keep.txt").write_text("keep\n")
    (workspace / "victim.txt").write_text("victim\n")
    before = {p: p.read_bytes() for p in workspace.rglob("*") if p.is_file()}
    srv = server(_commands("rg --pre rm zzz .", "uniq keep.txt victim.txt", "find . -delete",
                           "sort -o README.md keep.txt", "sed -i s/a/b/ src/app.py", "touch new.txt"))
    result, proc = cli(srv, **_rg_on_path(tmp_path)).json(
        "run", "go", "-C", str(workspace), "--model", "anthropic/m", "--approval", "readonly")
    assert proc.returncode == 0, proc.stderr
    after = {p: p.read_bytes() for p in workspace.rglob("*") if p.is_file() and ".agentcli" not in p.parts}
    assert after == before
    told = srv.requests[-1].tool_results()
    assert "Read-only file system" in told[1] and "approval is readonly" in told[1]


def test_readonly_without_a_sandbox_refuses_shell_in_one_line(server, cli, workspace):
    srv = server(_commands("ls"))
    result, proc = cli(srv).json("run", "go", "-C", str(workspace), "--model", "anthropic/m",
                                 "--approval", "readonly", "--sandbox", "off")
    told = srv.requests[1].tool_results()[0]
    assert told.startswith("error: not run: approval is readonly and there is no sandbox")
    assert "\n" not in told and "README.md" not in told


def _connect_script(workspace) -> str:
    """A client in the workspace (the sandbox sees it): `@name` is an abstract socket."""
    script = workspace / "connect.py"
    script.write_text("import socket, sys\n"
                      "address = sys.argv[1]\n"
                      "address = '\\0' + address[1:] if address.startswith('@') else address\n"
                      "s = socket.socket(socket.AF_UNIX)\n"
                      "try:\n"
                      "    s.connect(address)\n"
                      "    s.sendall(b'hi')\n"
                      "    print('connected')\n"
                      "except OSError as exc:\n"
                      "    print('refused', exc)\n")
    return str(script)


@needs_bwrap
def test_the_sandbox_reaches_no_host_socket_in_run_nor_an_abstract_one(workspace):
    name = f"agentcli-test-{uuid.uuid4().hex[:8]}"
    listeners = []
    client = _connect_script(workspace)
    try:
        for address in (f"/run/{name}.sock", f"@{name}"):
            listener = socket.socket(socket.AF_UNIX)
            listener.bind("\0" + address[1:] if address.startswith("@") else address)
            listener.listen(4)
            listeners.append(listener)
            argv = ["python3", client, address]
            direct = subprocess.run(argv, capture_output=True, text=True, timeout=30)
            boxed = subprocess.run(Sandbox(BWRAP).wrap(argv, Workspace(workspace)),
                                   capture_output=True, text=True, timeout=30)
            # The same command outside reaches it, so the sandbox is what cut it off.
            assert direct.stdout.strip() == "connected", direct.stderr
            assert boxed.stdout.startswith("refused"), (address, boxed.stdout, boxed.stderr)
    finally:
        for listener in listeners:
            listener.close()
        if os.path.exists(f"/run/{name}.sock"):
            os.unlink(f"/run/{name}.sock")


@needs_bwrap
def test_run_and_var_run_are_empty_in_the_sandbox(workspace):
    boxed = subprocess.run(Sandbox(BWRAP).wrap(["bash", "-c", "ls -A /run/; ls -A /var/run/"],
                                               Workspace(workspace)),
                           capture_output=True, text=True, timeout=30)
    assert boxed.returncode == 0 and boxed.stdout == "", (boxed.stdout, boxed.stderr)


def test_readers_by_name_that_write_are_not_readers():
    from agentcli.approval import is_read_only

    for command in ("rg --pre rm zzz .", "rg --pre=rm x", "uniq keep.txt victim.txt",
                    "git grep -Orm x", "git grep --open-files-in-pager=rm x",
                    "sort --compress-program=rm a"):
        assert not is_read_only(command), command
    assert is_read_only("rg -n zzz .") and is_read_only("uniq -c keep.txt")


@needs_bwrap
def test_under_ask_a_reader_let_through_unasked_runs_with_the_workspace_read_only(workspace):
    """`ask` runs commands on its list of readers without asking; the kernel holds them to it."""
    from agentcli.approval import Approval
    from agentcli.tools import ToolContext
    from agentcli.tools.shell import run as shell

    asked = []
    approval = Approval("ask", ask=lambda kind, detail: asked.append(detail) or "y", roots=[workspace])
    ctx = ToolContext(Workspace(workspace), approve=approval, services={"sandbox": Sandbox(BWRAP)})
    (workspace / "magic").write_text("0 string agentcli agentcli test\n")
    # `file -C` compiles a magic file into magic.mgc: a writer the list of readers misses.
    result = shell({"command": "file -C -m magic"}, ctx)
    assert not asked and not (workspace / "magic.mgc").exists(), result.content
    assert "Read-only file system" in result.content and "asked for first" in result.content
    result = shell({"command": "echo x > README.md"}, ctx)  # not a reader: asked, then it writes
    assert asked == ["echo x > README.md"] and (workspace / "README.md").read_text() == "x\n"
