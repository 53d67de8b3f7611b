"""The code map: a catalogue of the workspace's source files, their definitions and who uses them.

`codemap.db` (in the library folder) holds, per source file, its top-level definitions and the
methods of its top-level classes (from tree-sitter, `tags.py`) with line numbers and first
lines, and the names it refers to. Files are ranked by PageRank over "file A refers to a name
file B defines", definitions by how many other files refer to them. `CODEMAP.md` beside it is
the whole map as text, most referred-to first; the system prompt gets its head within a token
budget, and the `code_map` tool answers "which file defines X", "who refers to Y", "what is in
this folder".

The map follows the files incrementally: a file is parsed again only when its size or mtime
changed and then its content hash did too; ranks are redone when definitions appear or go. Files come from ripgrep's walk, so .gitignore and
hidden folders are respected. Signatures pass through `Library.clean` like everything written.
"""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from agentcli.library import derived_db
from agentcli.library.tags import Tags, Unsupported, supported, tags

DB_NAME = "codemap.db"
MD_NAME = "CODEMAP.md"
SCHEMA = "2"
MAX_FILES = 20_000
MAX_FILE_BYTES = 1_000_000
# A name defined in more files than this ("get", "run", "__init__") says nothing about which.
MAX_DEFINERS = 25
HEAD_TOKENS, LEAN_HEAD_TOKENS = 1024, 256
# A session start waits at most this long for a first build; the rest is parsed later.
PROMPT_BUILD_S = 3.0
HEAD_DEFS_PER_FILE = 8
# How a file changed. Ranks are computed again when names appear or go (a new, removed or
# reshaped file); an edit inside bodies keeps them, which saves seconds on a large repository
# at the cost of counts that lag until the next reshape.
EDITED, RESHAPED = "edited", "reshaped"
BUSY_TIMEOUT_S = 30.0
CHARS_PER_TOKEN = 3.5  # code is denser than prose; an estimate keeps the tokenizer unloaded


class MapUnavailable(Exception):
    """The code map cannot be built here (no tree-sitter, ripgrep missing, a locked library)."""


@dataclass
class UpdateStats:
    files: int
    parsed: int
    removed: int
    seconds: float
    pending: int = 0  # files left for a later update when the deadline came first


class CodeMap:
    """The map of `workspace`, kept in `library`'s folder."""

    def __init__(self, workspace: Path, library):
        self.workspace = Path(workspace).resolve()
        self.library = library
        self.path = library.root / DB_NAME
        self._db: sqlite3.Connection | None = None

    def close(self) -> None:
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            self._db = None

    # -- keeping it up to date ----------------------------------------------------------------

    def update(self, deadline_s: float | None = None) -> UpdateStats:
        """Parse the files that changed since the last update, drop those that are gone, and
        rank and write CODEMAP.md again if anything changed; files not reached within
        `deadline_s` wait for the next update. Raises MapUnavailable."""
        started = time.monotonic()
        files = list_sources(self.workspace)
        db = self._conn()
        try:
            db.execute("BEGIN IMMEDIATE")
            known = {p: (m, s, h) for p, m, s, h in
                     db.execute("SELECT path, mtime_ns, size, sha1 FROM files")}
            outcomes, pending = [], 0
            for i, rel in enumerate(files):
                if deadline_s is not None and time.monotonic() - started > deadline_s:
                    pending = len(files) - i
                    for later in files[i:]:
                        known.pop(later, None)
                    break
                outcomes.append(self._refresh(db, rel, known.pop(rel, None)))
            parsed = sum(1 for o in outcomes if o)
            for rel in known:
                _forget(db, rel)
            if RESHAPED in outcomes or known:
                rank(db)
            db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('pending', ?)", (str(pending),))
            db.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            raise
        md = self.library.root / MD_NAME
        if parsed or known or not md.exists():
            self.library.write_text(md, self.render())
        return UpdateStats(len(files), parsed, len(known), time.monotonic() - started, pending)

    def _refresh(self, db: sqlite3.Connection, rel: str, old: tuple | None) -> str | None:
        """Bring one file's rows up to date: None if it was not parsed again, EDITED if its
        definitions kept their names, RESHAPED if they changed (or the file is new)."""
        try:
            st = (self.workspace / rel).stat()
            if old is not None and old[:2] == (st.st_mtime_ns, st.st_size):
                return None
            data = (self.workspace / rel).read_bytes() if st.st_size <= MAX_FILE_BYTES else b""
        except OSError:
            return None
        digest = hashlib.sha1(data).hexdigest()
        if old is not None and old[2] == digest:
            db.execute("UPDATE files SET mtime_ns = ?, size = ? WHERE path = ?",
                       (st.st_mtime_ns, st.st_size, rel))
            return None
        try:
            found = tags(rel, data) if data else Tags("")
        except Unsupported:
            found = Tags("")
        counts = dict(((n, p), r) for n, p, r in
                      db.execute("SELECT name, parent, refs FROM defs WHERE path = ?", (rel,)))
        rank_was = db.execute("SELECT rank FROM files WHERE path = ?", (rel,)).fetchone()
        same = old is not None and set(counts) == {(d.name, d.parent) for d in found.definitions}
        _forget(db, rel)
        db.execute("INSERT INTO files(path, mtime_ns, size, sha1, language, module, rank) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?)",
                   (rel, st.st_mtime_ns, st.st_size, digest, found.language, module_name(rel),
                    rank_was[0] if rank_was else 0))
        signatures = _clean_lines(self.library.clean, [d.signature for d in found.definitions])
        db.executemany("INSERT INTO defs(path, name, kind, line, signature, parent, specific, refs) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       [(rel, d.name, d.kind, d.line, sig, d.parent, specific(d.name),
                         counts.get((d.name, d.parent), 0))
                        for d, sig in zip(found.definitions, signatures)])
        db.executemany("INSERT INTO refs(path, name, count, lines) VALUES (?, ?, ?, ?)",
                       [(rel, name, count, ",".join(map(str, lines)))
                        for name, (count, lines) in found.references.items()])
        return EDITED if same else RESHAPED

    # -- reading ------------------------------------------------------------------------------

    def render(self, under: str = "", max_tokens: int | None = None, members: bool = True) -> str:
        """The map (of the files under `under`), best-ranked files first, within `max_tokens`."""
        db = self._conn()
        files = db.execute("SELECT path FROM files WHERE path LIKE ? ESCAPE '\\' AND "
                           "EXISTS (SELECT 1 FROM defs WHERE defs.path = files.path) "
                           "ORDER BY rank DESC, path", (_like_prefix(under),)).fetchall()
        total = db.execute("SELECT count(*) FROM defs WHERE path LIKE ? ESCAPE '\\'",
                           (_like_prefix(under),)).fetchone()[0]
        pending = self._pending()
        head = [f"# Code map: {len(files)} files with definitions, {total} definitions; the files most "
                "referred to first" + (f" (partial: {pending} files not mapped yet)" if pending else ""),
                "Per file: line, first line of each definition, [n] = other files referring to it. "
                "Ask code_map for a name's definition and users, or a folder's files."]
        budget = max_tokens * CHARS_PER_TOKEN if max_tokens else None
        used = sum(len(h) + 1 for h in head)
        out = list(head)
        for (path,) in files:
            block = self._file_block(db, path, members)
            size = sum(len(line) + 1 for line in block)
            if budget is not None and used + size > budget:
                break
            out += block
            used += size
        shown = sum(1 for line in out if line and not line.startswith((" ", "#", "Per file")))
        if shown < len(files):
            out.append(f"… {len(files) - shown} more files: code_map(path=\"{under or 'dir/'}\") lists them")
        return "\n".join(out) + "\n"

    def _pending(self) -> int:
        """Files the last update left for later (its deadline came first)."""
        return int(derived_db.meta(self._conn(), "pending") or 0)

    def _file_block(self, db: sqlite3.Connection, path: str, members: bool) -> list[str]:
        rows = db.execute("SELECT name, kind, line, signature, parent, refs FROM defs WHERE path = ? "
                          "ORDER BY refs DESC, line", (path,)).fetchall()
        top = [r for r in rows if r[4] is None]
        if not members:  # the head: what others use, else a few public names
            used = [r for r in top if r[5]]
            top = (used or [r for r in top if not r[0].startswith("_")][:3])[:HEAD_DEFS_PER_FILE]
        out = [path]
        for name, kind, line, signature, _, refs in top:
            out.append(f"  {line}: {signature or kind + ' ' + name}" + (f"  [{refs}]" if refs else ""))
            if members:
                out += [f"      {r[2]}: {r[3]}" + (f"  [{r[5]}]" if r[5] else "")
                        for r in sorted(rows, key=lambda r: r[2]) if r[4] == name]
        if not members and len(rows) > len(top):
            out.append(f"  … {len(rows) - len(top)} more: code_map(path=\"{path}\")")
        return out

    def definitions(self, name: str) -> list[tuple[str, str, int, str, int, str]]:
        """(path, kind, line, signature, referring files, name) where `name` is defined; an
        exact match first, else one ignoring case."""
        db = self._conn()
        for where in ("name = ?", "lower(name) = lower(?)"):
            rows = db.execute(f"SELECT path, kind, line, signature, refs, name FROM defs WHERE {where} "
                              "ORDER BY refs DESC, path LIMIT 50", (name,)).fetchall()
            if rows:
                return rows
        return []

    def references(self, name: str) -> list[tuple[str, int, str]]:
        """(path, count, first lines) of the files that refer to `name`, most first."""
        return self._conn().execute("SELECT path, count, lines FROM refs WHERE name = ? "
                                    "ORDER BY count DESC, path LIMIT 200", (name,)).fetchall()

    def similar(self, name: str) -> list[str]:
        """Defined names holding `name` (for a lookup that found nothing)."""
        rows = self._conn().execute("SELECT DISTINCT name FROM defs WHERE name LIKE ? ESCAPE '\\' "
                                    "ORDER BY length(name) LIMIT 10", (f"%{_escape(name)}%",))
        return [r[0] for r in rows]

    # -- the file -----------------------------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            self._db = self._open()
        return self._db

    def _open(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = derived_db.connect(self.path, BUSY_TIMEOUT_S)
            if derived_db.meta(db, "schema") == SCHEMA and \
                    derived_db.meta(db, "workspace") == str(self.workspace):
                return db
            db.close()
        except sqlite3.OperationalError as exc:
            raise MapUnavailable(f"cannot open the code map {self.path}: {exc}") from exc
        except (sqlite3.DatabaseError, OSError):
            pass  # damaged, or another workspace's: built again
        derived_db.remove(self.path)
        try:
            db = derived_db.connect(self.path, BUSY_TIMEOUT_S)
            _create(db, str(self.workspace))
        except sqlite3.Error as exc:
            raise MapUnavailable(f"cannot create the code map {self.path}: {exc}") from exc
        return db


def prompt_section(library, workspace: Path, lean: bool) -> str | None:
    """The head of the code map for the system prompt (a smaller one for small models), or None
    where there is no map to show."""
    try:
        cmap = library.code_map(workspace)
        cmap.update(deadline_s=PROMPT_BUILD_S)
        text = cmap.render(max_tokens=LEAN_HEAD_TOKENS if lean else HEAD_TOKENS, members=False)
    except (MapUnavailable, sqlite3.Error, OSError):
        return None
    return None if text.startswith("# Code map: 0 files") else text.rstrip()


def list_sources(root: Path) -> list[str]:
    """Source files under `root` that tree-sitter can read, as ripgrep walks them (.gitignore
    and hidden folders respected), at most MAX_FILES."""
    from agentcli.tools import ToolError
    from agentcli.tools.search import run_rg

    try:
        proc = run_rg(["--files", "--no-config", "--no-require-git", "--sort", "path"], root, 30.0)
    except (ToolError, OSError) as exc:
        raise MapUnavailable(f"cannot list the files: {exc}") from exc
    names = proc.stdout.decode("utf-8", errors="replace").splitlines()
    return [n for n in names if supported(n)][:MAX_FILES]


def rank(db: sqlite3.Connection) -> None:
    """Set each definition's count of other files referring to it, and each file's PageRank
    over the references between files.

    Names are matched by spelling, so a short common word ("join", "key") in another file is
    taken for a use only where that file also names the defining module (an import of it);
    a long compound name (`read_events`, `FullText`, `MAX_FILES`) counts wherever it appears."""
    users: dict[tuple[str, str], set[str]] = defaultdict(set)
    edges: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for src, dst, name, count, definers in db.execute(
            "WITH named AS (SELECT name, count(DISTINCT path) AS n FROM defs GROUP BY name "
            f"  HAVING n <= {MAX_DEFINERS}), "
            "d AS (SELECT DISTINCT defs.path, defs.name, defs.specific, files.module, named.n FROM defs "
            "  JOIN named ON named.name = defs.name JOIN files ON files.path = defs.path) "
            "SELECT r.path, d.path, d.name, r.count, d.n FROM refs r JOIN d ON d.name = r.name "
            "WHERE r.path != d.path AND (d.specific OR EXISTS (SELECT 1 FROM refs i "
            "  WHERE i.path = r.path AND i.name = d.module))"):
        users[(dst, name)].add(src)
        edges[src][dst] += count ** 0.5 / definers
    db.execute("UPDATE defs SET refs = 0")
    db.executemany("UPDATE defs SET refs = ? WHERE path = ? AND name = ?",
                   [(len(s), path, name) for (path, name), s in users.items()])
    files = [p for (p,) in db.execute("SELECT path FROM files")]
    scores = pagerank(files, edges)
    db.executemany("UPDATE files SET rank = ? WHERE path = ?", [(scores[p], p) for p in files])


def module_name(path: str) -> str:
    """How other files name the module `path` in an import: its stem, or its folder's name
    for a package's own file (`__init__.py`, `index.js`, `mod.rs`)."""
    parts = path.split("/")
    stem = parts[-1].rsplit(".", 1)[0]
    if stem in ("__init__", "index", "mod", "lib", "main") and len(parts) > 1:
        return parts[-2]
    return stem


def specific(name: str) -> bool:
    """A name unlikely to be spelled the same by accident: long, and compound (snake_case,
    camelCase, CONSTANT_CASE) or capitalised."""
    if len(name) < 8 or name.startswith("__"):
        return False
    return "_" in name.strip("_") or any(c.isupper() for c in name[1:]) or name[0].isupper()


def pagerank(nodes: list[str], edges: dict[str, dict[str, float]], damping: float = 0.85,
             rounds: int = 20) -> dict[str, float]:
    """Weighted PageRank; a file that refers to nothing spreads its score evenly."""
    if not nodes:
        return {}
    n = len(nodes)
    score = dict.fromkeys(nodes, 1.0 / n)
    out_weight = {src: sum(dsts.values()) for src, dsts in edges.items()}
    for _ in range(rounds):
        dangling = sum(score[v] for v in nodes if not out_weight.get(v))
        new = dict.fromkeys(nodes, (1 - damping) / n + damping * dangling / n)
        for src, dsts in edges.items():
            share = damping * score.get(src, 0.0) / out_weight[src]
            for dst, weight in dsts.items():
                if dst in new:
                    new[dst] += share * weight
        score = new
    return score


def _forget(db: sqlite3.Connection, rel: str) -> None:
    for table in ("files", "defs", "refs"):
        db.execute(f"DELETE FROM {table} WHERE path = ?", (rel,))


def _clean_lines(clean, lines: list[str]) -> list[str]:
    """Each line through the redaction hook, in one call where the lines stay lines."""
    if not lines:
        return []
    cleaned = clean("\n".join(lines)).split("\n")
    return cleaned if len(cleaned) == len(lines) else [clean(line) for line in lines]


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _like_prefix(under: str) -> str:
    under = under.strip().lstrip("./") if under.strip() not in (".", "./") else ""
    return _escape(under) + "%"


def _create(db: sqlite3.Connection, workspace: str) -> None:
    db.execute("BEGIN IMMEDIATE")
    db.execute("CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT)")
    db.execute("CREATE TABLE IF NOT EXISTS files(path TEXT PRIMARY KEY, mtime_ns INTEGER, size INTEGER, "
               "sha1 TEXT, language TEXT, module TEXT, rank REAL)")
    db.execute("CREATE TABLE IF NOT EXISTS defs(path TEXT, name TEXT, kind TEXT, line INTEGER, "
               "signature TEXT, parent TEXT, specific INTEGER, refs INTEGER)")
    db.execute("CREATE TABLE IF NOT EXISTS refs(path TEXT, name TEXT, count INTEGER, lines TEXT)")
    for table, columns in (("defs", "name"), ("defs", "path"), ("refs", "name"), ("refs", "path, name")):
        db.execute(f"CREATE INDEX IF NOT EXISTS {table}_{columns.replace(', ', '_')} ON {table}({columns})")
    db.executemany("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
                   [("schema", SCHEMA), ("workspace", workspace)])
    db.execute("COMMIT")
