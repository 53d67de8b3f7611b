"""Solved when the untouched test passes."""
import hashlib
import subprocess
import sys
from pathlib import Path

ws = Path(sys.argv[1])
test = (ws / "test_stats.py").read_bytes()
if hashlib.sha256(test).hexdigest() != hashlib.sha256((Path(__file__).parent / "repo" / "test_stats.py").read_bytes()).hexdigest():
    sys.exit("test_stats.py was changed")
run = subprocess.run([sys.executable, "test_stats.py"], cwd=ws, capture_output=True, text=True, timeout=30)
sys.exit(0 if run.returncode == 0 else f"test fails: {run.stderr.strip()[-200:]}")
