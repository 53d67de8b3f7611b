"""What a reproduction ran on, as agentcli saw it when it re-ran the commands: the Python of the
workdir's environment and its packages, the OS, the CPU and any GPU.

The packages are asked of the interpreter the commands use (the first command's `python ...`,
else the workdir's `.venv`, else `python3` on PATH), not of the Python agentcli runs in: the
two are often different environments.
"""

from __future__ import annotations

import ast
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

PROBE_TIMEOUT = 60
_SKIP_DIRS = {".agentcli", ".reproduce", ".git", ".venv", "venv", "__pycache__", "node_modules"}

# Run by the workdir's interpreter: its version and packages, and which distributions provide
# the modules the workdir's code imports (argv[1], JSON).
_PROBE = r"""
import importlib.metadata as md, json, platform, sys
wanted = json.loads(sys.argv[1])
try:
    provides = md.packages_distributions()
except AttributeError:
    provides = {}
packages = {}
for d in md.distributions():
    name = d.metadata["Name"]
    if name:
        packages[name] = d.version
imported = sorted({dist for mod in wanted for dist in provides.get(mod, [])})
print(json.dumps({"version": platform.python_version(), "implementation":
                  platform.python_implementation(), "packages": dict(sorted(packages.items(),
                  key=lambda kv: kv[0].lower())), "imported": imported}))
"""


def interpreter(workdir: Path, commands: list[str], env: dict[str, str]) -> str | None:
    """The Python the commands run with, resolved on the commands' own PATH."""
    path = env.get("PATH", os.defpath)
    for command in commands[:1]:
        try:
            first = shlex.split(command)[0]
        except (ValueError, IndexError):
            break
        if Path(first).name.startswith("python"):
            found = str(workdir / first) if "/" in first else shutil.which(first, path=path)
            if found and os.access(found, os.X_OK):
                return found
    for venv in (".venv", "venv"):
        candidate = workdir / venv / "bin" / "python"
        if candidate.is_file():
            return str(candidate)
    return shutil.which("python3", path=path) or shutil.which("python", path=path)


def imported_modules(workdir: Path, limit: int = 200) -> list[str]:
    """Top-level modules the workdir's own Python files import."""
    names: set[str] = set()
    files = [p for p in sorted(workdir.rglob("*.py")) if not _SKIP_DIRS & set(p.relative_to(workdir).parts)]
    for path in files[:limit]:
        try:
            tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"))
        except (SyntaxError, ValueError, OSError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module.split(".")[0])
    return sorted(names - set(sys.stdlib_module_names))


def python_record(workdir: Path, commands: list[str], env: dict[str, str]) -> dict[str, Any]:
    """The workdir's Python and its packages; `error` says why when they could not be read."""
    python = interpreter(workdir, commands, env)
    if python is None:
        return {"error": "no Python found on the commands' PATH"}
    try:
        proc = subprocess.run([python, "-c", _PROBE, json.dumps(imported_modules(workdir))],
                              cwd=workdir, env=env, capture_output=True, text=True,
                              timeout=PROBE_TIMEOUT, stdin=subprocess.DEVNULL)
        data = json.loads(proc.stdout.strip().splitlines()[-1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return {"error": f"could not ask {Path(python).name} for its packages"}
    return {"interpreter": Path(python).name, **data}


def machine_record() -> dict[str, Any]:
    """OS, CPU and GPUs of this machine."""
    return {"os": platform.platform(), "machine": platform.machine(),
            "cpu": {"model": _cpu_model(), "cores": os.cpu_count()}, "gpus": _gpus()}


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _gpus() -> list[dict[str, str]]:
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return []
    try:
        out = subprocess.run([smi, "--query-gpu=name,memory.total,driver_version",
                              "--format=csv,noheader"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return []
    gpus = []
    for line in out.stdout.splitlines() if out.returncode == 0 else []:
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 3:
            gpus.append({"name": parts[0], "memory": parts[1], "driver": parts[2]})
    return gpus


def seeds(entries: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The seed (or seeds) of each measured claim, as results.json gives them."""
    return {cid: e.get("seed") for cid, e in entries.items() if e.get("value") is not None}
