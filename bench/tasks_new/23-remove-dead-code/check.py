"""Solved when legacy_checksum and its line are gone, the report is otherwise the same, sales.py untouched."""
import subprocess
import sys
from pathlib import Path

ws = Path(sys.argv[1])
orig = Path(__file__).parent / "repo"
if (ws / "sales.py").read_text() != (orig / "sales.py").read_text():
    sys.exit("sales.py was changed")
src = (ws / "report.py").read_text()
if "legacy_checksum" in src:
    sys.exit("legacy_checksum is still in report.py")
for name in ("def revenue(", "def format_row(", "def main("):
    if name not in src:
        sys.exit(f"report.py lost {name[4:-1]}")
want = ("north    120   1140.00\nsouth     80    880.00\neast      45    551.25\n"
        "total    245   2571.25\n")
run = subprocess.run([sys.executable, "report.py"], cwd=ws, capture_output=True, text=True, check=False,
                     timeout=30)
if run.returncode != 0 or run.stdout != want:
    sys.exit(f"report.py prints {run.stdout!r} {run.stderr.strip()[-200:]}")
