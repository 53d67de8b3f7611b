"""Solved when main.py runs and prints the guests, helpers.py is not back and utils/text.py is unchanged."""
import subprocess
import sys
from pathlib import Path

ws = Path(sys.argv[1])
orig = Path(__file__).parent / "repo"
if (ws / "helpers.py").exists():
    sys.exit("helpers.py was brought back")
if (ws / "utils" / "text.py").read_text() != (orig / "utils" / "text.py").read_text():
    sys.exit("utils/text.py was changed")
run = subprocess.run([sys.executable, "main.py"], cwd=ws, capture_output=True, text=True, check=False,
                     timeout=30)
want = ["AL: Ada Lovelace", "GH: Grace Hopper", "AT: Alan Turing"]
if run.returncode != 0 or run.stdout.strip().splitlines() != want:
    error = (run.stderr.strip().splitlines() or [""])[-1]
    sys.exit(f"main.py: {run.stdout.strip().splitlines()} {error[-200:]}")
