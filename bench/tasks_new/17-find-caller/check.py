"""Solved when the answer names finish_checkout (and no other function as the caller)."""
import re
import sys
from pathlib import Path

answer = Path(sys.argv[2]).read_text(encoding="utf-8")
if not re.search(r"\bfinish_checkout\b", answer):
    sys.exit("the answer does not name finish_checkout")
others = [f for f in ("resend_all", "place_order", "cancel_order") if re.search(rf"\b{f}\b", answer)]
sys.exit(f"the answer also names {', '.join(others)}" if others else 0)
