"""Solved when slugify passes its doctests and a few more cases."""
import subprocess
import sys

ws = sys.argv[1]
code = """
import doctest, text_utils
from text_utils import slugify
failed, _ = doctest.testmod(text_utils)
assert failed == 0, "doctests fail"
assert slugify("A  B") == "a-b"
assert slugify("Über cool") in ("ber-cool", "über-cool")
assert slugify("---x---") == "x"
assert slugify("R2D2 & C3PO") == "r2d2-c3po"
"""
run = subprocess.run([sys.executable, "-c", code], cwd=ws, capture_output=True, text=True, timeout=30)
sys.exit(0 if run.returncode == 0 else run.stderr.strip()[-300:])
