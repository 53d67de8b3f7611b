"""Solved when is_leap_year is right for the usual cases and days_in_month still works."""
import subprocess
import sys

code = """
from dates import days_in_month, is_leap_year
assert [is_leap_year(y) for y in (2024, 2023, 1900, 2000, 2100, 1996)] == [True, False, False, True, False, True]
assert days_in_month(2) == 28
"""
run = subprocess.run([sys.executable, "-c", code], cwd=sys.argv[1], capture_output=True, text=True, timeout=30)
sys.exit(0 if run.returncode == 0 else run.stderr.strip()[-300:])
