"""Solved when Book has an optional year shown by __str__, and main.py still prints the same shelf."""
import subprocess
import sys

code = """
import dataclasses
from books import Book, shelf
assert "year" in [f.name for f in dataclasses.fields(Book)], "Book has no year field"
dune = Book("Dune", "Frank Herbert", 1965)
assert str(dune) == "Dune by Frank Herbert (1965)", str(dune)
assert str(Book("Dune", "Frank Herbert", year=1965)) == "Dune by Frank Herbert (1965)"
assert Book("Emma", "Jane Austen").year is None, "year should default to None"
assert str(Book("Emma", "Jane Austen")) == "Emma by Jane Austen", str(Book("Emma", "Jane Austen"))
assert shelf([Book("B", "x", 2001), Book("A", "y")]) == "A by y\\nB by x (2001)"
"""


def python(*args):
    return subprocess.run([sys.executable, *args], cwd=sys.argv[1], capture_output=True, text=True,
                          check=False, timeout=30)


run = python("-c", code)
if run.returncode != 0:
    sys.exit((run.stderr.strip().splitlines() or ["check failed"])[-1][-300:])
run = python("main.py")
if run.stdout.split("\n")[:2] != ["Dune by Frank Herbert", "Neuromancer by William Gibson"]:
    sys.exit(f"main.py printed {run.stdout!r} {run.stderr.strip()[-200:]}")
