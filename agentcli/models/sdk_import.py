"""Provider SDKs imported with only the parts a call needs.

`import anthropic` loads about 3,300 modules (a second on a small machine); a streamed Messages
call uses about 1,000 of them. The SDKs' package `__init__` files mostly re-export names from
their submodules, and that is what loads the rest. Here such an `__init__` becomes lazy: a name
is imported from its submodule the first time it is read. The SDK itself is not changed: every
name is still there, and the package root runs its own `__init__` in full the first time
something reads a name that only that code defines.

Which names each `__init__` re-exports is read from its source once and kept in the user cache
dir (by file, size and mtime), so later runs skip the parsing.
"""

from __future__ import annotations

import atexit
import importlib
import importlib.machinery
import json
import os
import sys
import threading
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

from agentcli.paths import cache_root

_lock = threading.Lock()
_installed: set[str] = set()


def load(root: str) -> ModuleType:
    """The SDK package `root` (e.g. "anthropic"), imported lazily the first time."""
    with _lock:
        fresh = root not in sys.modules and root not in _installed
        if fresh:
            sys.meta_path.insert(0, _Finder(root, _Exports.open(root)))
            _installed.add(root)
    module = importlib.import_module(root)
    if fresh:
        _setup_logging(root)
    return module


class LazyClient:
    """An SDK client built on first use, or ahead of it by `get` from another thread (the chat
    builds it while the user types; a call that comes first waits for that build)."""

    def __init__(self, root: str, build: Callable[[ModuleType], Any]):
        self.root = root
        self._build = build
        self._made: tuple[ModuleType, Any] | None = None
        self._lock = threading.Lock()

    def get(self) -> tuple[ModuleType, Any]:
        """(the SDK module, the client)."""
        with self._lock:
            if self._made is None:
                sdk = load(self.root)
                self._made = (sdk, self._build(sdk))
            return self._made


class LazyConnection:
    """For an adapter whose SDK client is a `LazyClient` in `self._connection`."""

    _connection: LazyClient

    def prepare(self) -> None:
        """Import the SDK and build its client now rather than at the first call."""
        self._connection.get()

    @property
    def _sdk(self) -> Any:
        return self._connection.get()[0]

    @property
    def _client(self) -> Any:
        return self._connection.get()[1]


def _setup_logging(root: str) -> None:
    """What the root `__init__` would have done first: honour ANTHROPIC_LOG / OPENAI_LOG."""
    try:
        importlib.import_module(f"{root}._utils._logs").setup_logging()
    except Exception:  # another SDK layout: its logging switch is all that is missed
        pass


class _Finder:
    """Finds the SDK's packages as usual, giving the re-exporting ones a lazy loader."""

    def __init__(self, root: str, exports: _Exports):
        self.root = root
        self.exports = exports

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname != self.root and not fullname.startswith(self.root + "."):
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if (spec is None or spec.submodule_search_locations is None or not spec.origin
                or not spec.origin.endswith("__init__.py")):
            return spec
        names, pure = self.exports.of(spec.origin, fullname)
        if not pure and fullname != self.root:
            return spec  # an `__init__` with code of its own runs as written
        spec.loader = _LazyInit(spec.loader, names, pure)
        return spec


class _LazyInit:
    """Runs no `__init__`; the module looks names up in it when they are first read. For the
    root, whose `__init__` also runs code, any other name runs that `__init__` in full."""

    def __init__(self, real: Any, names: dict[str, list], pure: bool):
        self.real, self.names, self.pure = real, names, pure

    def __getattr__(self, name: str) -> Any:  # resource readers and the like: the real loader's
        return getattr(self.real, name)

    def create_module(self, spec: Any) -> None:
        return None  # the default module object

    def exec_module(self, module: ModuleType) -> None:
        names, real, pure = self.names, self.real, self.pure
        whole = threading.RLock()

        def __getattr__(attr: str) -> Any:
            where = names.get(attr)
            if where is not None:
                source = importlib.import_module(where[0])
                value = source if where[1] is None else getattr(source, where[1])
                setattr(module, attr, value)
                return value
            if pure or (attr.startswith("__") and attr != "__all__") or _is_submodule(module, attr):
                # `from . import x` asks for x before importing it: the import system does the rest
                raise AttributeError(f"module {module.__name__!r} has no attribute {attr!r}")
            with whole:
                if vars(module).get("__getattr__") is __getattr__:
                    del module.__getattr__
                    real.exec_module(module)
            return getattr(module, attr)

        module.__getattr__ = __getattr__  # type: ignore[method-assign]
        if pure:
            module.__all__ = [n for n in names if not n.startswith("_")]


def _is_submodule(package: ModuleType, name: str) -> bool:
    return any(os.path.exists(os.path.join(where, name + ".py")) or
               os.path.isdir(os.path.join(where, name)) for where in package.__path__)


class _Exports:
    """Per `__init__` file: {name: [module, attribute or None]} and whether it only re-exports."""

    def __init__(self, path: Path | None, data: dict[str, Any]):
        self.path, self.data, self.dirty = path, data, False

    @classmethod
    def open(cls, root: str) -> _Exports:
        path = None
        try:
            path = cache_root() / "sdk" / f"{root}-exports.json"
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(path, data if isinstance(data, dict) else {})
        except (OSError, ValueError):
            return cls(path, {})

    def of(self, origin: str, package: str) -> tuple[dict[str, list], bool]:
        st = os.stat(origin)
        stamp = [st.st_size, st.st_mtime_ns]
        hit = self.data.get(origin)
        if isinstance(hit, dict) and hit.get("stamp") == stamp:
            return hit["names"], hit["pure"]
        names, pure = _parse(origin, package)
        with _lock:
            self.data[origin] = {"stamp": stamp, "names": names, "pure": pure}
            if not self.dirty:
                self.dirty = True
                atexit.register(self.save)
        return names, pure

    def save(self) -> None:
        if self.path is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(self.data), encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError:  # a read-only cache: the next run parses again
            pass


def _parse(origin: str, package: str) -> tuple[dict[str, list], bool]:
    """The names an `__init__` imports from its package's modules, and whether importing them
    is all it does (docstring, `from __future__`, `__all__` aside)."""
    import ast
    from importlib.util import resolve_name

    with open(origin, "rb") as f:
        tree = ast.parse(f.read(), origin)
    names: dict[str, list] = {}
    pure = True
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.level > 0 and all(a.name != "*" for a in node.names):
            base = resolve_name("." * node.level + (node.module or ""), package)
            for alias in node.names:
                target = [base, alias.name] if node.module else [f"{base}.{alias.name}", None]
                names[alias.asname or alias.name] = target
            continue
        harmless = (isinstance(node, ast.ImportFrom) and node.module == "__future__") or (
            isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)) or (
            isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) and t.id == "__all__"
                                                 for t in node.targets))
        pure = pure and harmless
    return names, pure
