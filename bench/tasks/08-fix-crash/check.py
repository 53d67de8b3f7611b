"""Solved when main.py prints the right total."""
import subprocess
import sys

run = subprocess.run([sys.executable, "main.py"], cwd=sys.argv[1], capture_output=True, text=True, timeout=30)
sys.exit(0 if run.returncode == 0 and run.stdout.strip() == "total: 3.75" else f"main.py: {(run.stdout + run.stderr).strip()[-200:]}")
