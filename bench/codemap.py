"""Code map figures on a large repository: a real package's source release from PyPI.

Downloads the sdist (`pip download --no-binary :all: --no-deps`), unpacks it, and prints: source
files and definitions mapped, the first build, an update with nothing changed, an update after
one file changed, the prompt head's render time and size, symbol lookups, and the files' size.

    python bench/codemap.py                       # django 5.1.4
    python bench/codemap.py --sdist sympy==1.13.3
    python bench/codemap.py --path ~/src/project  # a copy of a tree already on disk
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def fetch(spec: str, into: Path) -> Path:
    """The unpacked sdist of `spec` (name==version) under `into`."""
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary",
                    ":all:", "--dest", str(into), spec], check=True)
    archive = next(p for p in into.iterdir() if p.name.endswith((".tar.gz", ".tgz")))
    with tarfile.open(archive) as tar:
        tar.extractall(into / "src", filter="data")
    return next((into / "src").iterdir())


def timed(fn):
    started = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - started


def run(tree: Path) -> dict:
    from agentcli.library import Library
    from agentcli.library.codemap import HEAD_TOKENS, LEAN_HEAD_TOKENS, CodeMap
    from agentcli.library.codemap_tool import describe

    library = Library(Path(tempfile.mkdtemp(prefix="agentcli-codemap-lib-")))
    cmap = CodeMap(tree, library)
    first, first_s = timed(cmap.update)
    again, again_s = timed(cmap.update)
    db = cmap._conn()
    top = tree / db.execute("SELECT path FROM files ORDER BY rank DESC LIMIT 1").fetchone()[0]
    top.write_text(top.read_text(encoding="utf-8") + "\n# a comment: no definition changes\n",
                   encoding="utf-8")
    edited, edited_s = timed(cmap.update)
    top.write_text(top.read_text(encoding="utf-8") + "\n\ndef added_by_bench():\n    pass\n",
                   encoding="utf-8")
    changed, changed_s = timed(cmap.update)
    head, head_s = timed(lambda: cmap.render(max_tokens=HEAD_TOKENS, members=False))
    lean, _ = timed(lambda: cmap.render(max_tokens=LEAN_HEAD_TOKENS, members=False))
    names = [n for (n,) in db.execute("SELECT name FROM defs ORDER BY refs DESC LIMIT 200")]
    lookups = sorted(timed(lambda n=n: describe(cmap, n))[1] for n in names)
    figures = {
        "tree": str(tree), "files": first.files, "parsed": first.parsed,
        "definitions": db.execute("SELECT count(*) FROM defs").fetchone()[0],
        "references": db.execute("SELECT count(*) FROM refs").fetchone()[0],
        "build_s": first_s, "noop_update_s": again_s, "noop_parsed": again.parsed,
        "edited_update_s": edited_s, "edited_parsed": edited.parsed,
        "one_file_update_s": changed_s, "one_file_parsed": changed.parsed,
        "head_ms": head_s * 1000, "head_chars": len(head), "lean_head_chars": len(lean),
        "lookup_ms_p50": statistics.median(lookups) * 1000,
        "lookup_ms_p95": lookups[int(len(lookups) * 0.95)] * 1000,
        "db_mb": cmap.path.stat().st_size / 1e6,
        "md_mb": (library.root / "CODEMAP.md").stat().st_size / 1e6,
    }
    cmap.close()
    shutil.rmtree(library.root, ignore_errors=True)
    return figures


def report(m: dict) -> str:
    return "\n".join([
        f"code map of {m['tree']}",
        f"mapped:          {m['files']:,} source files, {m['definitions']:,} definitions, "
        f"{m['references']:,} (file, name) references",
        f"first build:     {m['build_s']:.1f} s (every file parsed by tree-sitter, ranked, CODEMAP.md written)",
        f"nothing changed: {m['noop_update_s'] * 1000:.0f} ms ({m['noop_parsed']} files parsed)",
        f"body edited:     {m['edited_update_s'] * 1000:.0f} ms ({m['edited_parsed']} file parsed, "
        "CODEMAP.md rewritten, ranks kept)",
        f"function added:  {m['one_file_update_s'] * 1000:.0f} ms ({m['one_file_parsed']} file parsed, "
        "ranks and CODEMAP.md redone)",
        f"prompt head:     {m['head_chars']:,} chars ({m['lean_head_chars']:,} for small models), "
        f"rendered in {m['head_ms']:.0f} ms",
        f"symbol lookup:   p50 {m['lookup_ms_p50']:.1f} ms, p95 {m['lookup_ms_p95']:.1f} ms "
        "(definitions and users of the 200 most used names)",
        f"on disk:         codemap.db {m['db_mb']:.1f} MB, CODEMAP.md {m['md_mb']:.1f} MB",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sdist", default="django==5.1.4", help="a PyPI package==version to map")
    parser.add_argument("--path", type=Path, help="map a copy of this tree instead")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="agentcli-codemap-"))
    try:
        # A copy: the bench edits one file to time an update.
        tree = Path(shutil.copytree(args.path, work / "tree")) if args.path else fetch(args.sdist, work)
        print(report(run(tree)))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
