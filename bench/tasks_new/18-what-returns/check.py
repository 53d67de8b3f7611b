"""Solved when the answer gives 29.5 (shipping_cost(6.5, "eu", express=True))."""
import re
import sys
from pathlib import Path

answer = Path(sys.argv[2]).read_text(encoding="utf-8")
sys.exit(0 if re.search(r"(?<![\d.])29\.50?(?![\d])", answer) else "the answer does not say 29.5")
