"""Exit 0 when the quickstart task is solved: the untouched test passes and report.py prints the
average of the readings."""
import subprocess
import sys
from pathlib import Path

work = Path(sys.argv[1])
original = Path(__file__).resolve().parent / "project" / "test_report.py"
if (work / "test_report.py").read_bytes() != original.read_bytes():
    print("check: not solved: test_report.py was changed")
    sys.exit(1)
test = subprocess.run([sys.executable, "test_report.py"], cwd=work, capture_output=True, text=True, timeout=30)
run = subprocess.run([sys.executable, "report.py"], cwd=work, capture_output=True, text=True, timeout=30)
if test.returncode == 0 and run.stdout.strip() == "average: 21.2 C over 4 readings":
    print("check: solved (the test passes and report.py prints the average)")
    sys.exit(0)
print(f"check: not solved yet: {(test.stdout + test.stderr + run.stdout + run.stderr).strip().splitlines()[-1:]}")
sys.exit(1)
