"""Build and install llama-cpp-python so that it runs on the CPU it is installed on.

pip builds llama.cpp with ``GGML_NATIVE=ON``: every instruction the build machine has, AMX
included. On Intel Xeons with AMX that build dies with a general protection fault in its first
eval. This module builds with ``GGML_NATIVE=OFF`` and turns on, one by one, the instruction sets
that /proc/cpuinfo lists, never AMX: the same speed as native where native works (decode does not
use AMX), and a build that runs where native crashes.

pip's wheel cache does not key on ``CMAKE_ARGS``, so a native wheel cached once would be reused
silently. The wheel is built with ``--no-cache-dir`` into agentcli's own wheelhouse, in a folder
named by the version and the flags, and installed from there by path.

Standard library only: the setup scripts run it by path before agentcli is installed
(``python agentcli/local/build.py``); ``agentcli local build`` runs the same code.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import subprocess
import sys
from pathlib import Path

VERSION = "0.3.36"
PACKAGE = "llama-cpp-python"

# (cpuinfo flag, cmake option). Order is only for a readable command line.
_X86_FEATURES = (
    ("sse4_2", "GGML_SSE42"),
    ("avx", "GGML_AVX"),
    ("avx2", "GGML_AVX2"),
    ("bmi2", "GGML_BMI2"),
    ("fma", "GGML_FMA"),
    ("f16c", "GGML_F16C"),
    ("avx_vnni", "GGML_AVX_VNNI"),
    ("avx512f", "GGML_AVX512"),
    ("avx512vbmi", "GGML_AVX512_VBMI"),
    ("avx512_vnni", "GGML_AVX512_VNNI"),
    ("avx512_bf16", "GGML_AVX512_BF16"),
)
# The kernels that crash: never built, whatever the CPU says.
_NEVER = ("GGML_AMX_TILE", "GGML_AMX_INT8", "GGML_AMX_BF16")


def cpu_flags(cpuinfo: str | None = None) -> set[str]:
    """The instruction-set flags of the first CPU in /proc/cpuinfo (empty where there is none)."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(errors="replace")
        except OSError:
            return set()
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return set(value.split())
    return set()


def cmake_args(flags: set[str] | None = None, machine: str | None = None, gpu: str = "") -> list[str]:
    """The CMake options for a build that uses what this CPU has and nothing that crashes."""
    machine = (machine or platform.machine()).lower()
    args: list[str] = []
    if machine in ("x86_64", "amd64", "i686", "i386"):
        flags = cpu_flags() if flags is None else flags
        args.append("-DGGML_NATIVE=OFF")
        # AVX-512 is one switch in ggml but several flags on the CPU: all three base sets or none.
        has512 = {"avx512f", "avx512bw", "avx512vl"} <= flags
        for flag, option in _X86_FEATURES:
            on = flag in flags and (has512 or not option.startswith("GGML_AVX512"))
            args.append(f"-D{option}={'ON' if on else 'OFF'}")
        args += [f"-D{option}=OFF" for option in _NEVER]
    if gpu == "cuda":
        args.append("-DGGML_CUDA=on")
    return args


def wheel_dir(args: list[str]) -> Path:
    """agentcli's wheelhouse for one version and one set of flags."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "agentcli" / "wheels"
    key = hashlib.sha256(" ".join([VERSION, *args]).encode()).hexdigest()[:12]
    return base / f"llama_cpp_python-{VERSION}-{key}"


def install_command(args: list[str], python: str = "python") -> str:
    """The one command a person can paste to get the same build by hand."""
    return (f'CMAKE_ARGS="{" ".join(args)}" {python} -m pip install --force-reinstall --no-deps '
            f"--no-cache-dir --no-binary {PACKAGE} {PACKAGE}=={VERSION}")


def _built_wheel(folder: Path) -> Path | None:
    wheels = sorted(folder.glob("llama_cpp_python-*.whl"))
    return wheels[-1] if wheels else None


def build(args: list[str], python: str = sys.executable, quiet: bool = False) -> Path:
    """The wheel for ``args``: from the wheelhouse, or built now (minutes) and kept there."""
    folder = wheel_dir(args)
    wheel = _built_wheel(folder)
    if wheel is not None:
        return wheel
    folder.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, CMAKE_ARGS=" ".join(args), FORCE_CMAKE="1")
    cmd = [python, "-m", "pip", "wheel", "--no-deps", "--no-cache-dir", "--no-binary", PACKAGE,
           f"{PACKAGE}=={VERSION}", "-w", str(folder)]
    if quiet:
        cmd.insert(4, "-q")
    print(f"building {PACKAGE} {VERSION} for this CPU (minutes, once): {' '.join(args)}", file=sys.stderr)
    subprocess.run(cmd, env=env, check=True)
    wheel = _built_wheel(folder)
    if wheel is None:
        raise RuntimeError(f"pip wheel left no wheel in {folder}")
    (folder / "CMAKE_ARGS").write_text(" ".join(args) + "\n")
    return wheel


def installed_matches(wheel: Path, python: str) -> bool:
    """Whether ``python`` already has exactly this wheel installed (a marker file we leave)."""
    probe = ("import importlib.util, pathlib, sys; s = importlib.util.find_spec('llama_cpp');"
             "p = s and pathlib.Path(s.origin).parent / 'AGENTCLI_WHEEL';"
             "print(p.read_text().strip() if p and p.exists() else '')")
    out = subprocess.run([python, "-c", probe], capture_output=True, text=True).stdout.strip()
    return out == str(wheel)


def install(python: str = sys.executable, gpu: str = "", force: bool = False, quiet: bool = False) -> Path:
    """Build (or reuse) the right wheel and install it into ``python``'s environment."""
    args = cmake_args(gpu=gpu)
    if force:
        for old in wheel_dir(args).glob("*.whl"):
            old.unlink()
    wheel = build(args, python=python, quiet=quiet)
    if not force and installed_matches(wheel, python):
        return wheel
    cmd = [python, "-m", "pip", "install", "--no-deps", "--force-reinstall", "--no-cache-dir", str(wheel)]
    if quiet:
        cmd.insert(4, "-q")
    subprocess.run(cmd, check=True)
    marker = ("import importlib.util, pathlib, sys; s = importlib.util.find_spec('llama_cpp');"
              "(pathlib.Path(s.origin).parent / 'AGENTCLI_WHEEL').write_text(sys.argv[1])")
    subprocess.run([python, "-c", marker, str(wheel)], check=True)
    return wheel


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", default=sys.executable, help="the environment to install into")
    parser.add_argument("--gpu", choices=["", "cuda"], default="")
    parser.add_argument("--force", action="store_true", help="rebuild even if a wheel is kept")
    parser.add_argument("--print-args", action="store_true", help="print the CMake options and stop")
    parser.add_argument("-q", "--quiet", action="store_true")
    ns = parser.parse_args(argv)
    if ns.print_args:
        print(" ".join(cmake_args(gpu=ns.gpu)))
        return 0
    try:
        wheel = install(ns.python, gpu=ns.gpu, force=ns.force, quiet=ns.quiet)
    except (subprocess.CalledProcessError, RuntimeError, OSError) as exc:
        print(f"agentcli: building {PACKAGE} failed: {exc}", file=sys.stderr)
        return 1
    if not ns.quiet:
        print(f"{PACKAGE} {VERSION} installed from {wheel}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
