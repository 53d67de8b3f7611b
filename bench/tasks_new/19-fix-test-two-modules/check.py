"""Solved when the untouched tests pass and apply_discount itself is right (the bug is in pricing.py)."""
import subprocess
import sys
from pathlib import Path

ws = Path(sys.argv[1])
code = """
from inventory.pricing import apply_discount, with_tax
assert apply_discount(200, 10) == 180, f"apply_discount(200, 10) is {apply_discount(200, 10)}"
assert apply_discount(19.99, 15) == 16.99, f"apply_discount(19.99, 15) is {apply_discount(19.99, 15)}"
assert with_tax(10) == 12
"""


def python(*args):
    run = subprocess.run([sys.executable, *args], cwd=ws, capture_output=True, text=True, check=False,
                         timeout=30)
    lines = run.stderr.strip().splitlines()
    errors = [line for line in lines if "Error" in line and not line.startswith(" ")]
    return run.returncode == 0, (errors or lines or ["check failed"])[-1][-200:]


if (ws / "test_cart.py").read_text() != (Path(__file__).parent / "repo" / "test_cart.py").read_text():
    sys.exit("test_cart.py was changed")
ok, why = python("-m", "unittest", "test_cart")
if not ok:
    sys.exit(f"tests fail: {why}")
ok, why = python("-c", code)
sys.exit(0 if ok else why)
