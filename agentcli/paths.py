"""agentcli's folder in the user's cache: models, the prefix cache, SDK export maps, crash logs."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from agentcli.config import env


def cache_root() -> Path:
    """AGENTCLI_CACHE_DIR, else `agentcli` in the platform's user cache dir."""
    own = env().cache_dir
    if own is not None:
        return own
    if sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    elif os.name == "nt":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "agentcli"
