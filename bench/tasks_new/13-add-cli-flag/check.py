"""Solved when --shout prints the greeting in capitals and the old behaviour is unchanged."""
import subprocess
import sys

CASES = (
    (["ada"], ["Hello, ada!"]),
    (["ada", "--shout"], ["HELLO, ADA!"]),
    (["--shout", "grace", "--times", "2"], ["HELLO, GRACE!", "HELLO, GRACE!"]),
    (["bob", "--times", "2"], ["Hello, bob!", "Hello, bob!"]),
)
for args, want in CASES:
    run = subprocess.run([sys.executable, "greet.py", *args], cwd=sys.argv[1],
                         capture_output=True, text=True, check=False, timeout=30)
    got = run.stdout.strip().splitlines()
    if run.returncode != 0 or got != want:
        sys.exit(f"greet.py {' '.join(args)} printed {got} {run.stderr.strip()[-150:]}")
