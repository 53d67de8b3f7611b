"""Solved when the answer names the port 8042."""
import re
import sys

answer = open(sys.argv[2], encoding="utf-8").read()
sys.exit(0 if re.search(r"\b8042\b", answer) else "the answer does not say 8042")
