"""Solved when no get_usr is left, get_user is defined, and both scripts still run."""
import subprocess
import sys
from pathlib import Path

ws = Path(sys.argv[1])
for f in ("users.py", "app.py", "report.py"):
    if "get_usr" in (ws / f).read_text():
        sys.exit(f"get_usr is still in {f}")
if "def get_user(" not in (ws / "users.py").read_text():
    sys.exit("users.py does not define get_user")
for script, out in (("app.py", "hello, ada"), ("report.py", "ada, grace")):
    run = subprocess.run([sys.executable, script], cwd=ws, capture_output=True, text=True, timeout=30)
    if run.returncode != 0 or run.stdout.strip() != out:
        sys.exit(f"{script} broke: {run.stderr.strip()[-200:]}")
