"""Settings of one session, gathered by the CLI from flags and the environment."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Settings:
    """Everything a session needs to know before it starts.

    `model` None means the default (by the keys set); `fallback` None means the default chain
    (the bundled model after the primary, where it is installed), [] means no failover.
    """

    workspace: Path = field(default_factory=Path.cwd)
    model: str | None = None
    fallback: list[str] | None = None
    base_url: str | None = None
    context_window: int | None = None
    max_turns: int | None = None
    max_output_tokens: int = 8192
    approval: str = "auto"
    allow_outside: bool = False
    extra_dirs: list[Path] = field(default_factory=list)
    library_dir: Path | None = None
    compact_threshold: float = 0.8
    cooldown_s: float = 300.0
    request_timeout: float = 600.0  # seconds without a byte from the provider before giving up
    headless: bool = True
    sandbox: str | None = None  # auto | on | off; None: AGENTCLI_SANDBOX, else auto

    @staticmethod
    def parse_fallback(text: str | None) -> list[str] | None:
        """"a,b" -> ["a", "b"]; "none" -> []; None or "" -> None (the default chain)."""
        if text is None or not text.strip():
            env = os.environ.get("AGENTCLI_FALLBACK")
            if not env:
                return None
            text = env
        if text.strip().lower() == "none":
            return []
        return [part.strip() for part in text.split(",") if part.strip()]
