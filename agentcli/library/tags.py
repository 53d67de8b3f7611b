"""Definitions and references in a source file, from tree-sitter.

For the code map: each file's top-level definitions (classes, functions, constants, types) and
the methods of its top-level classes, with line numbers and their first line; and the names it
refers to, with how often and where. The grammars are PyPI wheels (`tree-sitter-python`, ...);
the definition patterns are the tags queries each grammar ships (TypeScript reuses JavaScript's
and adds its own declarations).
"""

from __future__ import annotations

import importlib
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

# extension -> (grammar module, its language function, the module whose TAGS_QUERY it uses)
GRAMMARS = {
    ".py": ("tree_sitter_python", "language", "tree_sitter_python"),
    ".pyi": ("tree_sitter_python", "language", "tree_sitter_python"),
    ".js": ("tree_sitter_javascript", "language", "tree_sitter_javascript"),
    ".mjs": ("tree_sitter_javascript", "language", "tree_sitter_javascript"),
    ".cjs": ("tree_sitter_javascript", "language", "tree_sitter_javascript"),
    ".jsx": ("tree_sitter_javascript", "language", "tree_sitter_javascript"),
    ".ts": ("tree_sitter_typescript", "language_typescript", "tree_sitter_javascript"),
    ".tsx": ("tree_sitter_typescript", "language_tsx", "tree_sitter_javascript"),
    ".go": ("tree_sitter_go", "language", "tree_sitter_go"),
    ".rs": ("tree_sitter_rust", "language", "tree_sitter_rust"),
    ".java": ("tree_sitter_java", "language", "tree_sitter_java"),
    ".c": ("tree_sitter_c", "language", "tree_sitter_c"),
    ".h": ("tree_sitter_c", "language", "tree_sitter_c"),
    ".cc": ("tree_sitter_cpp", "language", "tree_sitter_cpp"),
    ".cpp": ("tree_sitter_cpp", "language", "tree_sitter_cpp"),
    ".cxx": ("tree_sitter_cpp", "language", "tree_sitter_cpp"),
    ".hpp": ("tree_sitter_cpp", "language", "tree_sitter_cpp"),
    ".rb": ("tree_sitter_ruby", "language", "tree_sitter_ruby"),
}
TS_EXTRA = """
(interface_declaration name: (type_identifier) @name) @definition.interface
(type_alias_declaration name: (type_identifier) @name) @definition.type
(enum_declaration name: (identifier) @name) @definition.enum
"""
# Node types that are names in some grammar; a grammar without one simply has none of it.
NAME_NODES = ("identifier", "type_identifier", "field_identifier", "property_identifier",
              "constant", "shorthand_property_identifier")
CONTAINERS = ("class", "impl", "interface", "struct", "module", "trait", "namespace", "enum", "object")
FUNCTIONS = ("function", "method", "lambda", "closure", "arrow", "constructor")
MAX_LINES_PER_REF = 20
SIGNATURE_CHARS = 120


@dataclass
class Definition:
    name: str
    kind: str  # function, class, method, constant, type, ...
    line: int  # 1-based
    signature: str  # the first line of the definition, trimmed
    parent: str | None = None  # the top-level class (or impl, module) a member belongs to


@dataclass
class Tags:
    language: str
    definitions: list[Definition] = field(default_factory=list)
    # name -> (how many times the file refers to it, the first lines where it does)
    references: dict[str, tuple[int, list[int]]] = field(default_factory=dict)


def supported(path: str) -> bool:
    ext = path[path.rfind("."):].lower() if "." in path else ""
    return ext in GRAMMARS


class Unsupported(Exception):
    """No grammar for this file here (its language, or tree-sitter itself, is not installed)."""


@lru_cache(maxsize=None)
def _grammar(ext: str) -> tuple[Any, Any, Any]:
    """(parser, definitions query, names query) for an extension; Unsupported if none."""
    try:
        from tree_sitter import Language, Parser, Query

        module, fn, tags_module = GRAMMARS[ext]
        language = Language(getattr(importlib.import_module(module), fn)())
        source = importlib.import_module(tags_module).TAGS_QUERY
    except (ImportError, KeyError, AttributeError) as exc:
        raise Unsupported(f"no tree-sitter grammar for {ext} files: {exc}") from None
    if ext in (".ts", ".tsx"):
        source += TS_EXTRA
    names = [n for n in NAME_NODES if language.id_for_node_kind(n, True) is not None]
    return (Parser(language), Query(language, source),
            Query(language, "\n".join(f"({n}) @ref" for n in names)))


def tags(path: str, source: bytes) -> Tags:
    """The definitions and references of one file. Raises Unsupported."""
    ext = path[path.rfind("."):].lower()
    parser, defs_query, names_query = _grammar(ext)
    from tree_sitter import QueryCursor

    tree = parser.parse(source)
    lines = source.split(b"\n")
    out = Tags(GRAMMARS[ext][0].removeprefix("tree_sitter_"))
    seen: set[tuple[int, int]] = set()
    def_names: set[int] = set()
    for _, captures in QueryCursor(defs_query).matches(tree.root_node):
        kind = next((k.split(".", 1)[1] for k in captures if k.startswith("definition.")), None)
        if kind is None or not captures.get("name"):
            continue
        node, name = captures[f"definition.{kind}"][0], captures["name"][0]
        place = _placement(node)
        if place is None or (node.start_byte, name.start_byte) in seen:
            continue
        seen.add((node.start_byte, name.start_byte))
        def_names.add(name.start_byte)
        parent = place if isinstance(place, str) else None
        if parent is not None and kind == "function":
            kind = "method"
        row = node.start_point[0]
        first = lines[row].decode("utf-8", "replace").strip() if row < len(lines) else ""
        out.definitions.append(Definition(name.text.decode("utf-8", "replace"), kind, row + 1,
                                          first[:SIGNATURE_CHARS], parent))
    out.definitions.sort(key=lambda d: d.line)
    counts: Counter[str] = Counter()
    where: dict[str, list[int]] = {}
    for node in QueryCursor(names_query).captures(tree.root_node).get("ref", []):
        if node.start_byte in def_names:
            continue
        name = node.text.decode("utf-8", "replace")
        counts[name] += 1
        rows = where.setdefault(name, [])
        if len(rows) < MAX_LINES_PER_REF:
            rows.append(node.start_point[0] + 1)
    out.references = {n: (c, where[n]) for n, c in counts.items()}
    return out


def _placement(node) -> bool | str | None:
    """True at module level, the container's name for a member of a top-level class (or impl,
    module), None when nested deeper or inside a function."""
    containers: list = []
    parent = node.parent
    while parent is not None and parent.parent is not None:
        kind = parent.type
        if _encloses(parent, node):
            if any(w in kind for w in FUNCTIONS) and "declarator" not in kind:
                return None
            if any(w in kind for w in CONTAINERS) and (
                    kind.endswith(("definition", "declaration", "item", "specifier"))
                    or kind in ("class", "module", "singleton_class")):
                containers.append(parent)
        parent = parent.parent
    if not containers:
        return True
    if len(containers) > 1:
        return None
    named = containers[0].child_by_field_name("name") or containers[0].child_by_field_name("type")
    return named.text.decode("utf-8", "replace") if named is not None else "?"


def _encloses(ancestor, node) -> bool:
    """Whether `node` is inside `ancestor`'s body (a C declarator is part of its function's head)."""
    body = ancestor.child_by_field_name("body")
    if body is not None:
        return body.start_byte <= node.start_byte and node.end_byte <= body.end_byte
    return ancestor.start_point[0] < node.start_point[0]
