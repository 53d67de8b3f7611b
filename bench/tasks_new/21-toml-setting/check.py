"""Solved when tool.ruff.line-length is 100 and the rest of pyproject.toml (comments too) is as it was."""
import sys
from pathlib import Path

try:
    import tomllib
except ImportError:  # Python < 3.11
    import tomli as tomllib

ws = Path(sys.argv[1])
orig_text = (Path(__file__).parent / "repo" / "pyproject.toml").read_text()
text = (ws / "pyproject.toml").read_text()
try:
    got = tomllib.loads(text)
except tomllib.TOMLDecodeError as exc:
    sys.exit(f"pyproject.toml is no longer valid TOML: {exc}")
want = tomllib.loads(orig_text)
want["tool"]["ruff"]["line-length"] = 100
ruff = got.get("tool", {}).get("ruff", {}).get("line-length")
if ruff != 100:
    sys.exit(f"tool.ruff.line-length is {ruff}")
if got != want:
    tools, want_tools = got.get("tool", {}), want["tool"]
    changed = [k for k in sorted({*got, *want} - {"tool"}) if got.get(k) != want.get(k)]
    changed += [f"tool.{k}" for k in sorted({*tools, *want_tools}) if tools.get(k) != want_tools.get(k)]
    sys.exit(f"other settings changed: {', '.join(changed)}")
comments = [line for line in orig_text.splitlines() if line.startswith("#")]
if any(c not in text for c in comments):
    sys.exit("a comment in pyproject.toml was lost")
