"""Solved when node prints all three pages and paginate keeps every item for other sizes too."""
import shutil
import subprocess
import sys

ws = sys.argv[1]
if not shutil.which("node"):
    sys.exit("node is not installed here; this task needs it")
run = subprocess.run(["node", "paginate.js"], cwd=ws, capture_output=True, text=True, check=False, timeout=30)
want = ["page 1: apple, banana, cherry", "page 2: date, elderberry, fig", "page 3: grape"]
if run.returncode != 0 or run.stdout.strip().splitlines() != want:
    sys.exit(f"node paginate.js printed {run.stdout.strip().splitlines()} {run.stderr.strip()[-200:]}")
code = """
const assert = require("assert");
const { paginate } = require("./paginate.js");
assert.deepStrictEqual(paginate([1], 2), [[1]]);
assert.deepStrictEqual(paginate([], 2), []);
assert.deepStrictEqual(paginate([1, 2, 3, 4, 5, 6], 3), [[1, 2, 3], [4, 5, 6]]);
assert.deepStrictEqual(paginate([1, 2, 3, 4, 5], 1), [[1], [2], [3], [4], [5]]);
assert.deepStrictEqual(paginate([1, 2, 3, 4, 5], 2), [[1, 2], [3, 4], [5]]);
"""
run = subprocess.run(["node", "-e", code], cwd=ws, capture_output=True, text=True, check=False, timeout=30)
errors = [line for line in run.stderr.splitlines() if "Error" in line] or ["?"]
sys.exit(0 if run.returncode == 0 else f"paginate is still wrong: {errors[0][-200:]}")
