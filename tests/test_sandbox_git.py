"""Attack 1 of issue 13: a command sets up a program in .git (fsmonitor, a filter, a hook) that
the user's next `git status`, or agentcli's own git commands, would run on the host. In the
sandbox .git/config, hooks and info are read-only (commits still work); agentcli's git runs no
such program; a run where a command changed them says so."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from agentcli.sandbox import Sandbox, probe
from agentcli.testing.scripted_server import Turn
from agentcli.tools import ToolContext, Workspace
from agentcli.tools.shell import run as shell
from agentcli.unattended.gitwork import Checkpoints, fingerprint

BWRAP, WHY_NOT = probe()
needs_bwrap = pytest.mark.skipif(BWRAP is None, reason=f"no working bubblewrap: {WHY_NOT}")
GIT = ["git", "-c", "user.email=a@example.com", "-c", "user.name=A"]


def _repo(path: Path) -> Path:
    (path / "src").mkdir(parents=True)
    (path / "src" / "a.txt").write_text("a\n")
    subprocess.run([*GIT, "init", "-q", str(path)], check=True)
    subprocess.run([*GIT, "-C", str(path), "add", "-A"], check=True)
    subprocess.run([*GIT, "-C", str(path), "commit", "-qm", "init"], check=True)
    return path


def _plant(marker: Path) -> str:
    """Shell lines that set up three programs git would run, each touching `marker`."""
    return (f"git config core.fsmonitor 'touch {marker}.fsmonitor; false #'; "
            f"git config filter.x.clean 'touch {marker}.filter; cat'; "
            "echo '*.txt filter=x' > .gitattributes; "
            f"printf '#!/bin/sh\\ntouch {marker}.hook\\n' > .git/hooks/pre-commit; "
            "chmod +x .git/hooks/pre-commit; "
            f"echo '*.txt filter=x' > .git/info/attributes; "
            "mv .git .git-aside && echo moved-aside; true")


def _host_git_runs_nothing(repo: Path, marker: Path) -> None:
    """The user's own git commands afterwards start none of the planted programs."""
    (repo / "src" / "a.txt").write_text("a changed\n")
    subprocess.run([*GIT, "status"], cwd=repo, capture_output=True, check=True)
    subprocess.run([*GIT, "commit", "-qam", "user"], cwd=repo, capture_output=True, check=True)
    assert sorted(p.name for p in marker.parent.glob(marker.name + ".*")) == []


@needs_bwrap
def test_git_settings_are_read_only_in_the_sandbox_and_commits_still_work(tmp_path):
    repo, marker = _repo(tmp_path / "repo"), tmp_path / "planted"
    config = (repo / ".git" / "config").read_text()
    ws = Workspace(repo)
    proc = subprocess.run(Sandbox(BWRAP).wrap(["bash", "-c", _plant(marker)], ws), cwd=repo,
                          capture_output=True, text=True, timeout=30)
    assert "moved-aside" not in proc.stdout and "Read-only file system" in proc.stderr
    assert (repo / ".git" / "config").read_text() == config
    assert not (repo / ".git" / "hooks" / "pre-commit").exists()
    commit = subprocess.run(Sandbox(BWRAP).wrap(
        ["bash", "-c", "echo b > b.txt && git add b.txt && git -c user.email=a@b -c user.name=A "
                       "commit -qm in-sandbox && git log --format=%s"], ws),
        cwd=repo, capture_output=True, text=True, timeout=30)
    assert commit.stdout.split() == ["in-sandbox", "init"], commit.stderr
    _host_git_runs_nothing(repo, marker)


@needs_bwrap
def test_a_git_folder_outside_the_workspace_is_sealed_too(tmp_path):
    repo, marker = _repo(tmp_path / "repo"), tmp_path / "planted"
    ws = Workspace(repo / "src")
    proc = subprocess.run(Sandbox(BWRAP).wrap(
        ["bash", "-c", f"git config core.fsmonitor 'touch {marker}.fsmonitor; false #'; "
                       "git config --get core.fsmonitor || echo not-set"], ws),
        cwd=ws.root, capture_output=True, text=True, timeout=30)
    assert proc.stdout.strip() == "not-set", proc.stderr
    _host_git_runs_nothing(repo, marker)


@needs_bwrap
def test_a_commondir_file_added_in_the_sandbox_is_removed_and_the_result_says_so(tmp_path):
    """`commondir` points git at another folder's config; it is not there to bind read-only, so
    agentcli takes it out again after the command."""
    repo, marker = _repo(tmp_path / "repo"), tmp_path / "planted"
    evil = repo / "evil"
    ctx = ToolContext(Workspace(repo), services={"sandbox": Sandbox(BWRAP)})
    result = shell({"command": f"cp -r .git evil && git --git-dir=evil config core.fsmonitor "
                               f"'touch {marker}.fsmonitor; false #' && echo {evil} > .git/commondir"},
                   ctx)
    assert "agentcli removed .git/commondir" in result.content, result.content
    assert not (repo / ".git" / "commondir").exists()
    assert result.meta["git_changed"] == [".git/commondir"]
    _host_git_runs_nothing(repo, marker)


def test_without_the_sandbox_a_changed_git_config_is_reported(tmp_path):
    repo, marker = _repo(tmp_path / "repo"), tmp_path / "planted"
    result = shell({"command": f"git config core.fsmonitor 'touch {marker}.fsmonitor; false #'"},
                   ToolContext(Workspace(repo)))
    assert "warning: this command changed .git/config" in result.content
    assert result.meta["git_changed"] == [".git/config"]


def test_agentcli_own_git_commands_run_no_program_the_repository_names(tmp_path):
    """Checkpoint commits and fingerprints run `git status`, `add`, `commit` and `diff` in a
    repository where a command could have set fsmonitor, a filter and a hook."""
    repo, marker = _repo(tmp_path / "repo"), tmp_path / "planted"
    subprocess.run(["bash", "-c", _plant(marker).replace("mv .git .git-aside && ", "")
                    + f"; git config diff.t.textconv 'sh -c \"touch {marker}.textconv\"'"
                    + "; echo '*.txt diff=t' >> .gitattributes"], cwd=repo, check=True)
    checkpoints = Checkpoints.here(repo)  # commits what is there first: `add`, `commit`
    (repo / "src" / "a.txt").write_text("edited\n")
    fingerprint(repo)
    made = checkpoints.commit("agentcli: checkpoint")
    assert made is not None and "src/a.txt" in made[1]
    assert sorted(p.name for p in tmp_path.glob("planted.*")) == []
    # With no filter run, the file went in as it is.
    shown = subprocess.run(["git", "show", "HEAD:src/a.txt"], cwd=repo, capture_output=True,
                           text=True, check=True)
    assert shown.stdout == "edited\n"


def test_an_unattended_run_that_changed_git_settings_says_so_in_its_report(server, cli, tmp_path):
    repo, marker = _repo(tmp_path / "repo"), tmp_path / "planted"
    srv = server([Turn(tool_calls=[{"name": "shell", "arguments": {
        "command": f"git config core.fsmonitor 'touch {marker}.fsmonitor; false #'"}}]),
        Turn(tool_calls=[{"name": "finish", "arguments": {"status": "done", "summary": "Set.",
                                                          "evidence": "git config"}}]),
        Turn(text="done")])
    result, proc = cli(srv).json("run", "go", "-C", str(repo), "--model", "anthropic/m",
                                 "--sandbox", "off", "--unattended")
    assert proc.returncode == 0, proc.stderr
    report = Path(result["unattended"]["report_file"]).read_text()
    assert "### Git settings changed" in report and "`.git/config`" in report
