"""Full agent runs against a fault-injecting scripted server, and the audit of what they left.

Each run has its own scripted task: a few turns that each call `shell` to append a unique marker
to `.ledger` in the run's workspace, then a final answer. Faults strike at random requests. After
each run the audit compares three records that must agree:

- the script (what the model said, turn by turn),
- the session archive (what agentcli recorded: every completed turn once, in order),
- the ledger (what really executed: every recorded tool call exactly once, nothing else).

It counts crashes (an exception, or a CLI exit that is not 0/1 or prints a traceback), lost
turns, duplicated turns, duplicated and lost tool executions, and runs that gave up because the
provider was still failing after every retry and failover (allowed, but reported).
"""

from __future__ import annotations

import importlib
import json
import os
import random
import subprocess
import sys
import traceback
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from agentcli import config
from agentcli.library.archive import ARCHIVE_NAME
from agentcli.testing.faults import RandomFaults
from agentcli.testing.scripted_server import ScriptedRequest, ScriptedServer, Sequence, Turn

LEDGER = ".ledger"
PROVIDERS = ("anthropic", "openai")


@dataclass
class Tally:
    """The figures of a batch of runs."""

    runs: int = 0
    cli_runs: int = 0
    requests: int = 0
    outage_runs: int = 0
    injected: Counter[str] = field(default_factory=Counter)
    completed: int = 0
    gave_up: int = 0
    crashes: int = 0
    lost_turns: int = 0
    duplicated_turns: int = 0
    tool_executions: int = 0
    duplicated_executions: int = 0
    lost_executions: int = 0
    unrecorded_executions: int = 0
    broken_archives: int = 0
    retries: int = 0
    switches: int = 0
    waits_s: list[float] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def note(self, run_id: str, what: str) -> None:
        if len(self.problems) < 50:
            self.problems.append(f"{run_id}: {what}")


# -- scripts --------------------------------------------------------------------------------------

def make_script(rng: random.Random, run_id: str) -> list[Turn]:
    """1 to 4 turns of shell calls that each append a unique marker, then a final answer."""
    turns = []
    for k in range(rng.randint(1, 4)):
        calls = [{"name": "shell", "arguments": {"command": f"echo {run_id}:{k}:{j} >> {LEDGER}"}}
                 for j in range(rng.randint(1, 2))]
        text = f"Step {k} of {run_id}: appending to the ledger." if rng.random() < 0.5 else ""
        turns.append(Turn(text=text, tool_calls=calls))
    turns.append(Turn(text=f"done {run_id}: every step is in the ledger. " + "ok " * rng.randint(5, 40)))
    return turns


class ScriptBook:
    """One server, many runs: the model name in each request (`run-0007`) picks the run's script.
    A run can have a provider that is down for its whole length (every request a 503)."""

    def __init__(self) -> None:
        self.scripts: dict[str, Sequence] = {}
        self.turns: dict[str, list[Turn]] = {}
        self.down: dict[str, str] = {}

    def add(self, run_id: str, turns: list[Turn], down: str | None = None) -> None:
        self.turns[run_id] = turns
        self.scripts[run_id] = Sequence(turns)
        if down:
            self.down[run_id] = down

    def __call__(self, request: ScriptedRequest) -> Turn:
        run_id = request.body.get("model", "")
        if self.down.get(run_id) == request.provider:
            return Turn(status=503, error_message="provider down (injected outage)")
        return self.scripts[run_id](request)


# -- the audit ------------------------------------------------------------------------------------

def audit(tally: Tally, run_id: str, workspace: Path, archive: Path | None, turns: list[Turn],
          stop_reason: str | None) -> None:
    """Compare script, archive and ledger for one finished run and add what is wrong to `tally`."""
    events = _read_all(tally, run_id, archive)
    replies = [e for e in events if e.get("type") == "assistant"]
    results = [e for e in events if e.get("type") == "tool_result"]
    tally.retries += sum(1 for e in events if e.get("type") == "error")
    tally.switches += sum(1 for e in events if e.get("type") == "model_switch")
    expected = [_signature(t.text, [c["arguments"]["command"] for c in t.tool_calls]) for t in turns]
    got = [_signature(e["message"].get("content", ""),
                      [(c.get("arguments") or {}).get("command", "") for c in
                       e["message"].get("tool_calls", [])]) for e in replies]
    for i, sig in enumerate(got):
        if i < len(expected) and sig == expected[i]:
            continue
        if sig in expected[:i]:
            tally.duplicated_turns += 1
            tally.note(run_id, f"turn {i} repeats an earlier turn")
        else:
            tally.lost_turns += 1
            tally.note(run_id, f"turn {i} is not the script's turn {i}")
    if stop_reason == "done":
        tally.completed += 1
        if len(got) < len(expected):
            tally.lost_turns += len(expected) - len(got)
            tally.note(run_id, f"finished with {len(got)} of {len(expected)} turns recorded")
    elif stop_reason == "error":
        tally.gave_up += 1
    else:
        tally.note(run_id, f"stopped: {stop_reason}")
    called = [cmd for _, cmds in got for cmd in cmds]
    if len(results) != len(called):
        tally.lost_turns += 1
        tally.note(run_id, f"{len(called)} tool calls recorded but {len(results)} results")
    executed = Counter(_ledger(workspace))
    tally.tool_executions += sum(executed.values())
    recorded = Counter(cmd.split()[1] for cmd in called)
    for marker, n in executed.items():
        if n > 1:
            tally.duplicated_executions += n - 1
            tally.note(run_id, f"{marker} executed {n} times")
        if marker not in recorded:
            tally.unrecorded_executions += 1
            tally.note(run_id, f"{marker} executed but not in the archive")
    for marker in recorded:
        if marker not in executed:
            tally.lost_executions += 1
            tally.note(run_id, f"{marker} recorded but never executed")


def _signature(text: str, commands: list[str]) -> tuple[str, tuple[str, ...]]:
    return (text or "").strip(), tuple(commands)


def _ledger(workspace: Path) -> list[str]:
    path = workspace / LEDGER
    return path.read_text().split() if path.exists() else []


def _read_all(tally: Tally, run_id: str, archive: Path | None) -> list[dict[str, Any]]:
    """Every event; an archive whose lines do not all parse, or whose ids skip, is broken."""
    if archive is None or not archive.exists():
        tally.broken_archives += 1
        tally.note(run_id, "no archive")
        return []
    events = []
    for n, line in enumerate(archive.read_text(encoding="utf-8").splitlines(), 1):
        try:
            event = json.loads(line)
        except ValueError:
            tally.broken_archives += 1
            tally.note(run_id, f"archive line {n} is not JSON")
            return events
        if event.get("id") != f"e{n:06d}":
            tally.broken_archives += 1
            tally.note(run_id, f"archive line {n} has id {event.get('id')}")
        events.append(event)
    return events


# -- running ----------------------------------------------------------------------------------------

@contextmanager
def provider_env(server: ScriptedServer) -> Iterator[dict[str, str]]:
    """Point both SDKs at `server` (with dummy keys) for the duration."""
    env = {"ANTHROPIC_API_KEY": "sk-ant-fault-test", "ANTHROPIC_BASE_URL": server.anthropic_base_url,
           "OPENAI_API_KEY": "sk-fault-test", "OPENAI_BASE_URL": server.openai_base_url,
           config.var("fallback"): "none"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield env
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextmanager
def recorded_sleeps(waits: list[float]) -> Iterator[None]:
    """Back-off waits of the SDKs' retries are recorded instead of slept, so a thousand faulty
    requests take a minute, not an hour. The chain's own waits are recorded by `run_in_process`.
    Where an SDK's internals differ from what this expects, its waits are real."""
    patched = []
    for module in ("anthropic._base_client", "openai._base_client"):
        try:
            client = importlib.import_module(module).SyncAPIClient
        except (ImportError, AttributeError):
            continue
        if not hasattr(client, "_sleep_for_retry") or not hasattr(client, "_calculate_retry_timeout"):
            continue

        def record(self, *, retries_taken, max_retries, options, response, **_: Any) -> None:
            headers = response.headers if response is not None else None
            waits.append(self._calculate_retry_timeout(max_retries - retries_taken, options, headers))

        patched.append((client, client._sleep_for_retry))
        client._sleep_for_retry = record
    try:
        yield
    finally:
        for client, original in patched:
            client._sleep_for_retry = original


def chain_for(rng: random.Random, run_id: str) -> tuple[str, str]:
    first = rng.choice(PROVIDERS)
    second = PROVIDERS[1 - PROVIDERS.index(first)]
    return f"{first}/{run_id}", f"{second}/{run_id}"


def run_in_process(tally: Tally, run_id: str, workspace: Path, primary: str, fallback: str,
                   timeout_s: float) -> tuple[Path | None, str | None]:
    """One headless session, in this process. Returns (archive path, stop reason or None)."""
    from agentcli.config import Settings
    from agentcli.events import Emitter
    from agentcli.session import Session

    settings = Settings(workspace=workspace, model=primary, fallback=[fallback],
                        request_timeout=timeout_s, headless=True)
    session = None
    try:
        session = Session.create(settings, Emitter())
        session.chain._sleep = tally.waits_s.append  # back-off recorded, not slept
        outcome = session.run(f"Do the steps of {run_id}.")
        return session.archive.path, outcome.stop_reason
    except Exception:
        tally.crashes += 1
        tally.note(run_id, "crash:\n" + traceback.format_exc(limit=6))
        return (session.archive.path if session else None), None
    finally:
        if session is not None:
            session.close()


def run_cli(tally: Tally, run_id: str, workspace: Path, primary: str, fallback: str,
            env: dict[str, str], timeout_s: float) -> tuple[Path | None, str | None]:
    """One `python -m agentcli run` subprocess. Returns (archive path, stop reason or None)."""
    proc = subprocess.run(
        [sys.executable, "-m", "agentcli", "run", f"Do the steps of {run_id}.", "-C", str(workspace),
         "--model", primary, "--fallback", fallback, "--output-format", "json"],
        env={**os.environ, **env}, capture_output=True, text=True, timeout=timeout_s)
    archives = sorted((workspace / ".agentcli" / "sessions").glob(f"*/{ARCHIVE_NAME}"))
    archive = archives[-1] if archives else None
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    if proc.returncode not in (0, 1) or "Traceback" in proc.stderr or not lines:
        tally.crashes += 1
        tally.note(run_id, f"CLI exit {proc.returncode}: {proc.stderr[-2000:]}")
        return archive, None
    return archive, json.loads(lines[-1]).get("stop_reason")


def trial(root: Path, *, requests: int = 1000, seed: int = 0, rate: float = 0.3,
          outage_rate: float = 0.1, timeout_s: float = 0.5, cli_runs: int = 0,
          cli_timeout_s: float = 120) -> Tally:
    """Run sessions in this process until the server has had `requests` requests, then
    `cli_runs` more as CLI subprocesses; audit each run. In `outage_rate` of the in-process
    runs the primary provider is down throughout, so the run must fail over to finish."""
    rng = random.Random(seed)
    book = ScriptBook()
    faults = RandomFaults(book, rate=rate, seed=seed + 1, timeout_s=timeout_s)
    tally = Tally()
    with ScriptedServer(faults) as server, provider_env(server) as env, recorded_sleeps(tally.waits_s):
        while len(server.requests) < requests:
            run_id = f"run-{tally.runs:04d}"
            workspace = root / run_id
            workspace.mkdir(parents=True)
            primary, fallback = chain_for(rng, run_id)
            down = primary.split("/")[0] if rng.random() < outage_rate else None
            book.add(run_id, make_script(rng, run_id), down)
            tally.outage_runs += down is not None
            archive, stop = run_in_process(tally, run_id, workspace, primary, fallback, timeout_s)
            tally.runs += 1
            audit(tally, run_id, workspace, archive, book.turns[run_id], stop)
        tally.requests += len(server.requests)
        tally.injected.update(faults.injected)
    # CLI runs sleep for real; timeouts would need a flag for the request timeout, so none here.
    cli_faults = RandomFaults(book, rate=rate, seed=seed + 2)
    with ScriptedServer(cli_faults) as server, provider_env(server) as env:
        for _ in range(cli_runs):
            run_id = f"cli-{tally.cli_runs:04d}"
            workspace = root / run_id
            workspace.mkdir(parents=True)
            book.add(run_id, make_script(rng, run_id))
            primary, fallback = chain_for(rng, run_id)
            archive, stop = run_cli(tally, run_id, workspace, primary, fallback, env, cli_timeout_s)
            tally.cli_runs += 1
            audit(tally, run_id, workspace, archive, book.turns[run_id], stop)
        tally.requests += len(server.requests)
        tally.injected.update(cli_faults.injected)
    return tally
