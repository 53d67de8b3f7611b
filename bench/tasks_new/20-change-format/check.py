"""Solved when format_duration writes 1h 05m 09s / 5m 09s and total_duration follows."""
import subprocess
import sys

code = """
from durations import format_duration, total_duration
cases = {3909: "1h 05m 09s", 309: "5m 09s", 7: "0m 07s", 59: "0m 59s", 3600: "1h 00m 00s",
         36061: "10h 01m 01s", 600: "10m 00s", 125.9: "2m 05s"}
for secs, want in cases.items():
    got = format_duration(secs)
    assert got == want, f"format_duration({secs}) is {got!r}, want {want!r}"
got = total_duration([("a", 1800), ("b", 1900)])
assert got == "1h 01m 40s", f"total_duration is {got!r}"
"""
run = subprocess.run([sys.executable, "-c", code], cwd=sys.argv[1], capture_output=True, text=True,
                     check=False, timeout=30)
sys.exit(0 if run.returncode == 0 else (run.stderr.strip().splitlines() or ["check failed"])[-1][-300:])
