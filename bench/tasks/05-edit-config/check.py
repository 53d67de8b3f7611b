"""Solved when debug is false, max_connections is 50 and nothing else changed."""
import json
import sys
from pathlib import Path

ws = Path(sys.argv[1])
try:
    cfg = json.loads((ws / "config.json").read_text())
except ValueError as exc:
    sys.exit(f"config.json is no longer valid JSON: {exc}")
want = json.loads((Path(__file__).parent / "repo" / "config.json").read_text())
want.update(debug=False, max_connections=50)
sys.exit(0 if cfg == want else f"config.json is {cfg}")
