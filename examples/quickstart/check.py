"""Exit 0 when the quickstart task is solved: report.py prints the average of the readings."""
import subprocess
import sys

run = subprocess.run([sys.executable, "report.py"], cwd=sys.argv[1], capture_output=True, text=True,
                     timeout=30)
if run.returncode == 0 and run.stdout.strip() == "average: 21.2 C over 4 readings":
    print("check: solved (report.py prints the average)")
    sys.exit(0)
print(f"check: not solved yet: {(run.stdout + run.stderr).strip().splitlines()[-1:]}")
sys.exit(1)
