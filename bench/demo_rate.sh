#!/usr/bin/env bash
# How often the bundled model solves the demo task (examples/quickstart): N fresh runs of the
# same command scripts/demo runs, each checked by examples/quickstart/check.py.
#   bash bench/demo_rate.sh [N]        (MODEL=0.5b for the light model)
set -uo pipefail
cd "$(dirname "$0")/.."
n="${1:-5}"
solved=0
for i in $(seq 1 "$n"); do
    work="$(mktemp -d)/quickstart"
    cp -r examples/quickstart/project "$work"
    start=$(date +%s)
    env -u ANTHROPIC_API_KEY -u OPENAI_API_KEY -u AGENTCLI_MODEL -u OPENAI_BASE_URL \
        AGENTCLI_LOCAL_PREFIX_CACHE=0 .venv/bin/agentcli run "$(cat examples/quickstart/task.txt)" \
        -C "$work" --max-turns 30 ${MODEL:+--model "local/qwen2.5-coder-$MODEL"} >/dev/null 2>&1
    rc=$?
    if .venv/bin/python examples/quickstart/check.py "$work" >/dev/null 2>&1; then
        solved=$((solved + 1)); verdict=solved
    else
        verdict="not solved"
    fi
    echo "run $i: exit $rc, $verdict, $(( $(date +%s) - start ))s"
done
echo "solved $solved of $n (model: ${MODEL:-1.5b default}, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores)"
