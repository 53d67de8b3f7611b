"""The seams unattended runs offer other front ends (used by `agentcli reproduce`): success
criteria checked in Python, and checkpoints committed in a folder's own repository."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentcli.unattended.checks import Criterion, run_criterion
from agentcli.unattended.gitwork import Checkpoints, GitError
from tests.test_unattended_e2e import git


def test_a_criterion_passes_fails_with_its_problems_or_fails_when_it_breaks():
    ok = run_criterion(Criterion("all good", lambda: []))
    assert ok.passed and ok.summary == "holds" and ok.exit_code is None
    bad = run_criterion(Criterion("files", lambda: ["a.json is missing", "b.md is empty"]))
    assert not bad.passed and bad.summary == "2 problem(s): a.json is missing"
    assert bad.output == "- a.json is missing\n- b.md is empty"

    def broken() -> list[str]:
        raise ValueError("unreadable")

    crashed = run_criterion(Criterion("broken", broken))
    assert not crashed.passed and "the check itself failed: ValueError: unreadable" in crashed.output


def test_checkpoints_here_commit_on_the_folders_own_branch(tmp_path: Path):
    folder = tmp_path / "work"
    folder.mkdir()
    git(folder, "init", "-q", "-b", "main")
    (folder / "a.txt").write_text("a\n")
    cp = Checkpoints.here(folder)
    assert cp.in_place and cp.branch == "main" and cp.worktree == folder.resolve()
    assert git(folder, "log", "--format=%s").strip() == "agentcli: the work before the run started"
    (folder / "b.txt").write_text("b\n")
    sha, files = cp.commit("agentcli: milestone")
    assert files == ["b.txt"] and git(folder, "rev-parse", "HEAD").strip() == sha
    assert cp.log() == [(sha, "agentcli: milestone")]

    again = Checkpoints.from_dict(cp.to_dict())  # as a resume reads it from the archive
    assert again.in_place
    again.ensure()
    again.discard()  # never removes the folder or its branch
    assert (folder / "b.txt").is_file() and git(folder, "branch", "--list", "main").strip()


def test_checkpoints_here_need_the_top_of_a_repository(tmp_path: Path):
    git(tmp_path, "init", "-q")
    inner = tmp_path / "inner"
    inner.mkdir()
    with pytest.raises(GitError, match="is not the top of a git repository"):
        Checkpoints.here(inner)
