"""Solved when the countdown includes 1."""
import subprocess
import sys

run = subprocess.run([sys.executable, "countdown.py", "3"], cwd=sys.argv[1], capture_output=True, text=True, timeout=30)
sys.exit(0 if run.stdout.split() == ["3", "2", "1", "liftoff"] else f"output: {run.stdout.split()} {run.stderr[-200:]}")
