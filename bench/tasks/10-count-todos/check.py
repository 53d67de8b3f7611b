"""Solved when the answer gives 4 and no other number."""
import re
import sys

answer = open(sys.argv[2], encoding="utf-8").read()
numbers = set(re.findall(r"\b\d+\b", answer)) | ({"4"} if re.search(r"\bfour\b", answer, re.I) else set())
sys.exit(0 if numbers == {"4"} else f"numbers in the answer: {sorted(numbers)}")
