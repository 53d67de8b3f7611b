"""Solved when the answer names billing/render.py."""
import sys

answer = open(sys.argv[2], encoding="utf-8").read()
sys.exit(0 if "billing/render.py" in answer or "billing.render" in answer else "billing/render.py not named")
