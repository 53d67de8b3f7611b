"""Solved when the package and setup.cfg say 1.5.0; the changelog keeps its history."""
import sys
from pathlib import Path

ws = Path(sys.argv[1])
init = (ws / "weatherlib" / "__init__.py").read_text()
cfg = (ws / "setup.cfg").read_text()
log = (ws / "CHANGELOG.md").read_text()
if '__version__ = "1.5.0"' not in init:
    sys.exit("weatherlib/__init__.py does not say 1.5.0")
if "version = 1.5.0" not in cfg or "1.4.2" in cfg:
    sys.exit("setup.cfg does not say 1.5.0")
if "## 1.4.1" not in log:
    sys.exit("CHANGELOG.md lost its history")
