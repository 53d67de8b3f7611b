"""Unattended runs: a task left running until it is declared done or blocked, a budget or the
time is spent, or it stalls; with a progress ledger, git checkpoints and a report.

- `start.py`: starting and resuming a run (the git worktree, the session, the run).
- `run.py`: `UnattendedRun`, which plugs into the session: its hooks end the run or go on, its
  tools (`tools.py`) call it.
- `state.py`: the run's state, folded from the session's archive; `ledger.py` renders it.
- `budgets.py`, `stall.py`, `checks.py`, `observe.py`, `gitwork.py`, `report.py`, `signals.py`.
- `batch.py`: several runs from a TOML file, each in its own worktree.

User documentation: docs/unattended.md.
"""
