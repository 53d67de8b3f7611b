"""agentcli re-runs before it believes: each distinct command of results.json is executed again
by agentcli, in a clean subprocess in the workdir (no provider keys, no input, its own process
group, killed at a time limit), and a claim counts as verified only when that run exited 0 and
printed the value results.json reports.

What a re-run printed is kept under `runs/agentcli/` (stdout and stderr together), and any file
it wrote under `runs/` (a command's own `> runs/x.log`) is read too. `environment.json` records
the runs (command, exit code, wall time, logs and their SHA-256) beside the environment they ran
in, so `agentcli reproduce report` can judge without running anything: a claim is verified only
while its command, its value and the logs are still what the re-run saw.

A re-run must not change what it checks: a results.json the command rewrites is put back, and
what the command wrote there is compared with what results.json reports.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from agentcli.reproduce import RESULTS
from agentcli.reproduce.environment import machine_record, python_record, seeds
from agentcli.reproduce.numbers import found_in_output
from agentcli.secrets import redact

ENVIRONMENT = "environment.json"
RUNS_DIR = "runs"
LOG_DIR = "runs/agentcli"
DEFAULT_TIMEOUT = 3600.0
_READ_MAX = 64 * 1024 * 1024  # bytes of one output file searched for values


@dataclass
class Proof:
    """Whether agentcli's own re-run backs one claim's value, and why (or why not)."""

    verified: bool
    why: str
    run: dict[str, Any] | None = None
    log: str | None = None  # the file the value was found in, else the re-run's own log


def measured(results: Any) -> dict[str, dict[str, Any]]:
    """The entries of a results.json document that report a number and name a command."""
    if not isinstance(results, dict):
        return {}
    return {cid: e for cid, e in results.items() if isinstance(e, dict)
            and isinstance(e.get("value"), (int, float)) and not isinstance(e.get("value"), bool)
            and isinstance(e.get("command"), str) and e["command"].strip()}


def commands(entries: dict[str, dict[str, Any]]) -> list[str]:
    """Each distinct command, in the order results.json first names it."""
    return list(dict.fromkeys(e["command"] for e in entries.values()))


Wrap = Callable[[list[str]], list[str]]


def verify(workdir: Path, timeout: float = DEFAULT_TIMEOUT, wrap: Wrap | None = None) -> dict[str, Any]:
    """Re-run every command of results.json, write environment.json, and return its record.
    `wrap` puts each command's argv inside the sandbox the agent's own commands ran in."""
    from agentcli.sandbox import child_env

    workdir = Path(workdir)
    entries = measured(_load_json(workdir / RESULTS))
    env = child_env()
    (workdir / LOG_DIR).mkdir(parents=True, exist_ok=True)
    for stale in (workdir / LOG_DIR).glob("run-*.log"):
        stale.unlink()
    todo = commands(entries)
    runs = [rerun(workdir, command, i, timeout, env, wrap) for i, command in enumerate(todo, 1)]
    record = {"written_by": "agentcli reproduce: the environment of agentcli's own re-run of "
                            "each command of results.json",
              "python": python_record(workdir, todo, env), **machine_record(),
              "seeds": seeds(entries), "timeout_s": timeout, "runs": runs}
    tmp = workdir / (ENVIRONMENT + ".tmp")
    # A command may carry a token (HF_TOKEN=... python x.py); the record is shared with the work.
    tmp.write_text(redact(json.dumps(record, indent=2, ensure_ascii=False)) + "\n", encoding="utf-8")
    os.replace(tmp, workdir / ENVIRONMENT)
    return record


def rerun(workdir: Path, command: str, index: int, timeout: float, env: dict[str, str],
          wrap: Wrap | None = None) -> dict[str, Any]:
    """Run one command in `workdir`; its record for environment.json."""
    log = f"{LOG_DIR}/run-{index}.log"
    results_before = _read_bytes(workdir / RESULTS)
    results_stat = _stat(workdir / RESULTS)
    before = _snapshot(workdir)
    run: dict[str, Any] = {"command": command, "log": log, "exit_code": None, "timed_out": False}
    started = time.monotonic()
    try:
        _execute(workdir, (wrap or list)(["bash", "-c", command]), log, timeout, env, run)
    finally:
        # Even when interrupted: results.json goes back to what the agent reported.
        run["wall_s"] = round(time.monotonic() - started, 2)
        # Written again, even byte for byte: what the re-run itself measured, to hold results.json to.
        rewritten = _stat(workdir / RESULTS) != results_stat
        run["results"] = _put_back(workdir / RESULTS, results_before) if rewritten else None
    written = [p for p in _snapshot(workdir).items() if before.get(p[0]) != p[1]]
    run["outputs"] = {log: _sha256(workdir / log)}
    run["outputs"].update({rel: _sha256(workdir / rel) for rel, _ in sorted(written) if rel != log})
    return run


def _execute(workdir: Path, argv: list[str], log: str, timeout: float, env: dict[str, str],
             run: dict[str, Any]) -> None:
    with open(workdir / log, "wb") as out:
        try:
            proc = subprocess.Popen(argv, cwd=workdir, stdin=subprocess.DEVNULL,
                                    stdout=out, stderr=subprocess.STDOUT, env=env,
                                    start_new_session=True)
        except OSError as exc:
            run["error"] = f"could not start bash: {exc.strerror or exc}"
            return
        try:
            run["exit_code"] = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            run["timed_out"] = True
        finally:
            _kill_group(proc)


def _kill_group(proc: subprocess.Popen) -> None:
    """The command and every child it started: nothing of a re-run outlives it."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def _snapshot(workdir: Path) -> dict[str, tuple[int, int]]:
    """Files under runs/ (not agentcli's own logs) by (mtime, size)."""
    found = {}
    root = workdir / RUNS_DIR
    for path in sorted(root.rglob("*")) if root.is_dir() else []:
        rel = path.relative_to(workdir).as_posix()
        if path.is_file() and not rel.startswith(LOG_DIR + "/"):
            st = path.stat()
            found[rel] = (st.st_mtime_ns, st.st_size)
    return found


def _stat(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size, st.st_ino


def _put_back(path: Path, before: bytes | None) -> dict[str, Any]:
    """The command wrote results.json: restore it, and return the values it wrote."""
    after = _read_bytes(path)
    if after != before and before is not None:
        path.write_bytes(before)
    try:
        doc = json.loads(after or b"null")
    except ValueError:
        return {}
    return {cid: e.get("value") for cid, e in doc.items() if isinstance(e, dict)} \
        if isinstance(doc, dict) else {}


def _read_bytes(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _sha256(path: Path) -> str | None:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def load(workdir: Path) -> dict[str, Any] | None:
    """environment.json as agentcli wrote it, or None when there is none (or it is unreadable)."""
    record = _load_json(Path(workdir) / ENVIRONMENT)
    return record if isinstance(record, dict) and isinstance(record.get("runs"), list) else None


# -- judging a claim ------------------------------------------------------------------------------

def prove(workdir: Path, entry: dict[str, Any] | None, cid: str, record: dict[str, Any] | None) -> Proof:
    """Whether the record of agentcli's re-run backs `entry` (one claim of results.json)."""
    if not entry or entry.get("value") is None:
        return Proof(False, "no measured value")
    command, value = entry.get("command"), entry["value"]
    run = next((r for r in (record or {}).get("runs", []) if isinstance(r, dict)
                and r.get("command") == command), None)
    if run is None:
        return Proof(False, f"agentcli has not re-run `{command}` (agentcli reproduce report --verify)")
    failed = _failed(run, (record or {}).get("timeout_s"))
    if failed:
        return Proof(False, failed, run, run.get("log"))
    rewritten = (run.get("results") or {}).get(cid)
    if isinstance(rewritten, (int, float)) and \
            abs(float(rewritten) - float(value)) > 1e-9 * max(1, abs(value)):
        return Proof(False, f"the re-run wrote {rewritten} for it to results.json, which reports "
                            f"{value}", run, run.get("log"))
    searched = []
    for rel, digest in (run.get("outputs") or {}).items():
        path = Path(workdir) / rel
        if _sha256(path) != digest:
            return Proof(False, f"{rel} changed (or went) since agentcli's re-run", run, rel)
        searched.append(rel)
        if path.stat().st_size <= _READ_MAX and \
                found_in_output(value, path.read_text(encoding="utf-8", errors="replace")):
            return Proof(True, f"printed in {rel}", run, rel)
    return Proof(False, f"{value} is not printed in the re-run's output ({', '.join(searched)})",
                 run, run.get("log"))


def _failed(run: dict[str, Any], timeout: Any) -> str | None:
    if run.get("error"):
        return str(run["error"])
    if run.get("timed_out"):
        return f"did not finish within {timeout} s" if timeout else "did not finish in time"
    if run.get("exit_code") != 0:
        return f"exited with code {run.get('exit_code')}"
    return None


def problems(workdir: Path, timeout: float = DEFAULT_TIMEOUT, wrap: Wrap | None = None) -> list[str]:
    """Phase 3's last check: re-run the commands now; each claim they do not back, and why."""
    entries = measured(_load_json(Path(workdir) / RESULTS))
    if not entries:
        return []
    record = verify(workdir, timeout, wrap)
    out = []
    for cid, entry in entries.items():
        proof = prove(workdir, entry, cid, record)
        if not proof.verified:
            out.append(f"{cid}: agentcli re-ran `{entry['command']}`: {proof.why}. Every value in "
                       f"{RESULTS} must be printed by its command, at least as precisely as reported "
                       f"(agentcli's log of the re-run: {proof.log or LOG_DIR})")
    return out
