"""Solved when withdraw refuses non-positive and too-large amounts (ValueError) and works otherwise."""
import subprocess
import sys

code = """
from account import Account
a = Account("ada", 100)
assert a.withdraw(30) == 70, "withdraw(30) from 100 should leave 70"
assert a.withdraw(70) == 0, "withdrawing the whole balance should be allowed"
for bad in (-5, 0, 1):
    try:
        a.withdraw(bad)
    except ValueError:
        pass
    else:
        raise AssertionError(f"withdraw({bad}) with balance 0 did not raise ValueError")
    assert a.balance == 0, f"balance changed to {a.balance} after a refused withdraw({bad})"
b = Account("bob", 50)
try:
    b.withdraw(50.01)
except ValueError:
    pass
else:
    raise AssertionError("withdraw(50.01) from 50 did not raise ValueError")
assert b.balance == 50 and b.deposit(5) == 55
"""
run = subprocess.run([sys.executable, "-c", code], cwd=sys.argv[1], capture_output=True, text=True,
                     check=False, timeout=30)
sys.exit(0 if run.returncode == 0 else (run.stderr.strip().splitlines() or ["check failed"])[-1][-300:])
