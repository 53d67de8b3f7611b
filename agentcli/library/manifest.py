"""`library.json`: which layout a library folder has, so an older agentcli never writes into a
library a newer one laid out differently, and a folder that cannot be a library is refused in
one line before anything is written.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from agentcli import __version__
from agentcli.library.archive import ArchiveError

MANIFEST_NAME = "library.json"
LIBRARY_FORMAT = 1


def check(root: Path) -> None:
    """Make sure `root` can be used as a library by this agentcli, marking a new one.

    Raises ArchiveError (one line) for a library from a newer agentcli, a damaged manifest, or a
    folder that cannot be created or written.
    """
    root = Path(root)
    path = root / MANIFEST_NAME
    if root.exists() and not root.is_dir():
        raise ArchiveError(f"cannot use the library folder {root}: it is a file, not a folder")
    try:
        root.mkdir(parents=True, exist_ok=True)
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        _write(root, path)
        return
    except (OSError, UnicodeDecodeError) as exc:
        raise ArchiveError(f"cannot use the library folder {root}: {_reason(exc)}") from exc
    try:
        data = json.loads(text)
        version = data["format"]
        if not isinstance(version, int):
            raise TypeError(version)
    except (ValueError, KeyError, TypeError):
        raise ArchiveError(f"{path} is damaged (no format number); move it aside and agentcli "
                           "will write a new one") from None
    if version > LIBRARY_FORMAT:
        by = data.get("written_by") or "a newer agentcli"
        raise ArchiveError(f"the library {root} was laid out by {by} (library format {version}; "
                           f"this agentcli {__version__} reads {LIBRARY_FORMAT}): upgrade agentcli, "
                           "or use --library to keep this session elsewhere")


def _write(root: Path, path: Path) -> None:
    data = {"format": LIBRARY_FORMAT, "written_by": f"agentcli {__version__}"}
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{MANIFEST_NAME}.", dir=root)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(json.dumps(data) + "\n")
        os.replace(tmp, path)  # two processes starting at once both write the same thing
    except OSError as exc:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        raise ArchiveError(f"cannot use the library folder {root}: {_reason(exc)}") from exc


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc)
