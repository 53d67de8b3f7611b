"""Solved when test_roman.py passes on roman.py (unchanged) and fails on each of a few broken copies of it."""
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ws = Path(sys.argv[1])
orig = (Path(__file__).parent / "repo" / "roman.py").read_text()
MUTANTS = {  # what the tests must catch: old text -> broken text
    "repeats (while -> if)": ("while num >= value:", "if num >= value:"),
    "4 without IV": ('(4, "IV"), ', ""),
    "9 without IX": ('(9, "IX"), ', ""),
    "40 without XL": (', (40, "XL")', ""),
    "900 without CM": ('(900, "CM"), ', ""),
    "90 written XL": ('(90, "XC")', '(90, "XL")'),
}


def run_tests(folder: Path) -> tuple[bool, str]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    run = subprocess.run([sys.executable, "-m", "unittest", "test_roman"], cwd=folder, env=env,
                         capture_output=True, text=True, check=False, timeout=60)
    ran = re.search(r"Ran (\d+) test", run.stderr)
    return run.returncode == 0 and bool(ran) and int(ran.group(1)) > 0, run.stderr.strip()


if not (ws / "test_roman.py").is_file():
    sys.exit("there is no test_roman.py")
if (ws / "roman.py").read_text() != orig:
    sys.exit("roman.py was changed")
ok, out = run_tests(ws)
if not ok:
    sys.exit(f"test_roman does not pass (or runs no test): {(out.splitlines() or ['?'])[-1][-200:]}")
tmp = Path(tempfile.mkdtemp(prefix="roman-mutants-"))
try:
    for name, (old, new) in MUTANTS.items():
        assert old in orig, name
        copy = tmp / re.sub(r"\W+", "_", name)
        shutil.copytree(ws, copy, ignore=shutil.ignore_patterns("__pycache__"))
        (copy / "roman.py").write_text(orig.replace(old, new, 1))
        if run_tests(copy)[0]:
            sys.exit(f"the tests still pass when roman.py is broken: {name}")
finally:
    shutil.rmtree(tmp, ignore_errors=True)
