"""Solved when the answer gives 7 and no other number."""
import re
import sys

answer = open(sys.argv[2], encoding="utf-8").read()
numbers = set(re.findall(r"\b\d+\b", answer)) | ({"7"} if re.search(r"\bseven\b", answer, re.I) else set())
sys.exit(0 if numbers == {"7"} else f"numbers in the answer: {sorted(numbers)}")
