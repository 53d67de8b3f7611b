"""A reproduction's own record, `.reproduce/state.json` in its workdir: its id, the paper, the
options it was started with (budgets, checkpoints), and each phase's status and sessions. It is
how `--resume ID` finds the workdir, the conversation to continue and the budgets to keep."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from agentcli.reproduce import STATE_DIR
from agentcli.reproduce.phases import PHASES

STATE_FILE = "state.json"


class StateError(Exception):
    """No reproduction found, or its state file is unreadable; the message says which."""


@dataclass
class PhaseState:
    """status: pending, running, done or failed. `sessions`: the library sessions it ran in (a
    resumed phase goes on in its last one). `message`: why it stopped, when it did."""

    status: str = "pending"
    sessions: list[str] = field(default_factory=list)
    rounds: int = 0
    problems: list[str] = field(default_factory=list)
    stop_reason: str | None = None
    message: str | None = None


@dataclass
class State:
    id: str
    paper: str
    workdir: str
    created: str
    phases: dict[str, PhaseState] = field(default_factory=dict)
    # What the reproduction was started with, kept for --resume: limits (the budgets of the
    # whole reproduction), checkpoint, checks, stall_turns, max_turns.
    options: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def new(cls, paper: Path, workdir: Path, options: dict[str, Any] | None = None) -> State:
        rid = "rp-" + datetime.now().strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)
        return cls(rid, str(paper), str(workdir), datetime.now().isoformat(timespec="seconds"),
                   {p.name: PhaseState() for p in PHASES}, dict(options or {}))

    def save(self, workdir: Path) -> None:
        """Write atomically, so a kill mid-write leaves the previous state."""
        folder = workdir / STATE_DIR
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / (STATE_FILE + ".tmp")
        data = {**asdict(self), "phases": {k: asdict(v) for k, v in self.phases.items()}}
        tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, folder / STATE_FILE)

    @classmethod
    def load(cls, workdir: Path) -> State:
        path = workdir / STATE_DIR / STATE_FILE
        try:
            data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            phases = {name: PhaseState(**data.get("phases", {}).get(name, {})) for name in
                      (p.name for p in PHASES)}
            return cls(data["id"], data["paper"], data.get("workdir", str(workdir)),
                       data.get("created", ""), phases, dict(data.get("options") or {}))
        except FileNotFoundError:
            raise StateError(f"{workdir} holds no reproduction (no {STATE_DIR}/{STATE_FILE})") from None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise StateError(f"{path} is unreadable: {exc}") from None

    def summary(self) -> dict[str, Any]:
        return {name: {"status": p.status, "sessions": p.sessions, "stop_reason": p.stop_reason,
                       "message": p.message} for name, p in self.phases.items()}


def is_reproduction(folder: Path) -> bool:
    return (folder / STATE_DIR / STATE_FILE).is_file()


def find(ref: str, search: list[Path]) -> Path:
    """The workdir of the reproduction `ref` names: a workdir path, a reproduction id (or a
    prefix of one), or the id of one of its phase sessions. Looks in each of `search` and its
    direct subfolders. Raises StateError when none or several match."""
    as_path = Path(ref).expanduser()
    if as_path.is_dir():
        if is_reproduction(as_path):
            return as_path.resolve()
        raise StateError(f"{ref} holds no reproduction (no {STATE_DIR}/{STATE_FILE})")
    candidates: list[Path] = []
    for root in search:
        if not root.is_dir():
            continue
        folders = [root] + sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
        candidates += [f.resolve() for f in folders if is_reproduction(f)]
    matches = []
    for folder in dict.fromkeys(candidates):
        try:
            state = State.load(folder)
        except StateError:
            continue
        sessions = [s for p in state.phases.values() for s in p.sessions]
        if state.id.startswith(ref) or ref in sessions:
            matches.append(folder)
    if not matches:
        where = ", ".join(str(r) for r in search)
        raise StateError(f"no reproduction {ref!r} in {where} or their subfolders; pass its workdir "
                         "(--resume DIR) or run from the folder that holds it")
    if len(matches) > 1:
        raise StateError(f"{ref!r} matches several reproductions: {', '.join(map(str, matches))}")
    return matches[0]
