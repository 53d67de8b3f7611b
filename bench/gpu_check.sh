#!/usr/bin/env bash
# One call that proves GPU offload on a machine with an NVIDIA GPU, inside 10 minutes:
# builds llama-cpp-python with CUDA (kept in ~/.cache/agentcli/wheels), then prints what
# `agentcli local status` says about offload, `agentcli local bench 1.5b` through agentcli and raw,
# one real `run` on the bundled model, and the memory-bandwidth bound on decode for comparison.
# Needs the package registry (or a prepared wheelhouse) and nvcc; run from the repository root.
#   bash bench/gpu_check.sh            (MODEL=0.5b for the light model)
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL="${MODEL:-1.5b}"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
[ -x .venv/bin/python ] || python3 -m venv .venv
extras=local
[ "$MODEL" = 0.5b ] && extras=llama,model-small
time .venv/bin/python agentcli/local/build.py --python .venv/bin/python --gpu cuda -q
.venv/bin/python -m pip install -q -e ".[$extras]"
.venv/bin/agentcli local prepare "$MODEL"
.venv/bin/agentcli local status
.venv/bin/agentcli local bench "$MODEL" --runs 3
work="$(mktemp -d)/quickstart"
cp -r examples/quickstart/project "$work"
time env -u ANTHROPIC_API_KEY -u OPENAI_API_KEY .venv/bin/agentcli run "$(cat examples/quickstart/task.txt)" \
    -C "$work" --model "local/qwen2.5-coder-$MODEL" --max-turns 20 || true
.venv/bin/python examples/quickstart/check.py "$work" || true
# Decode reads every weight once a token: bandwidth / file size is the ceiling.
.venv/bin/python - "$MODEL" <<'PY'
import subprocess, sys
from agentcli.local import assets
size = assets.lookup(sys.argv[1]).size
name = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
                      capture_output=True, text=True).stdout.strip().splitlines()[0]
# Published peak bandwidths, GB/s.
peaks = {"H200": 4800, "H100 80GB HBM3": 3350, "H100 PCIe": 2000, "H100": 3350, "A100-SXM4-80GB": 2039,
         "A100": 1555, "L40S": 864, "L4": 300, "A10G": 600, "RTX 4090": 1008, "RTX 3090": 936, "T4": 320}
peak = next((v for k, v in peaks.items() if k in name), None)
if peak is None:
    print(f"bandwidth bound: unknown for {name}")
else:
    print(f"bandwidth bound for {name}: {peak} GB/s / {size / 1e9:.2f} GB = {peak * 1e9 / size:.0f} tok/s decode")
PY
