"""The paper as text: a PDF (through pypdf), Markdown or plain text file becomes PAPER.md.

PAPER.md keeps the PDF's page numbers as `## Page N` lines, so claims can cite pages and the
checks can find a quote on the page it claims to be on.
"""

from __future__ import annotations

import contextlib
import logging
import re
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path

from agentcli.reproduce import PAPER_MD, STATE_DIR

PAGE_MARKER = re.compile(r"^## Page (\d+)\s*$", re.MULTILINE)
TEXT_SUFFIXES = {".md", ".markdown", ".txt", ".text", ".rst", ".tex"}
# Ligatures that PDF fonts often keep as one glyph; numbers and symbols are left as printed.
_LIGATURES = {"\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl",
              "\u00ad": ""}


class PaperError(Exception):
    """The paper could not be read; the message says why and what to do, in one line."""


@dataclass
class Paper:
    """PAPER.md as written: where it is, how many pages it marks (0 for unpaged text)."""

    path: Path
    pages: int
    source: Path


def extract(source: Path, workdir: Path) -> Paper:
    """Write `workdir/PAPER.md` from `source` (PDF, Markdown or text) and keep a copy of the
    source under `.reproduce/`. Raises PaperError with a one-line reason."""
    source = Path(source)
    if not source.is_file():
        raise PaperError(f"no such file: {source}")
    try:
        head = source.read_bytes()[:5]
    except OSError as exc:
        raise PaperError(f"cannot read {source}: {exc.strerror or exc}") from None
    if head.startswith(b"%PDF") or source.suffix.lower() == ".pdf":
        pages = pdf_pages(source)
        body = render_pages(pages)
        header = (f"# Paper: {source.name}\n\n"
                  f"> Extracted by agentcli from `{source.name}` ({len(pages)} pages) with pypdf. "
                  "Each page starts with a `## Page N` line; cite pages by these numbers. Tables "
                  "and equations may come out of order: read numbers in their context.\n")
        count = len(pages)
    else:
        text = read_text(source)
        header = f"# Paper: {source.name}\n\n> Copied by agentcli from `{source.name}`.\n"
        body = text
        count = len(PAGE_MARKER.findall(text))
    workdir.mkdir(parents=True, exist_ok=True)
    out = workdir / PAPER_MD
    out.write_text(header + "\n" + body.rstrip() + "\n", encoding="utf-8")
    keep = workdir / STATE_DIR
    keep.mkdir(exist_ok=True)
    if source.resolve() != (keep / source.name).resolve():
        shutil.copyfile(source, keep / source.name)
    return Paper(out, count, source)


def pdf_pages(path: Path) -> list[str]:
    """The text of each page of a PDF, cleaned; raises PaperError if none has any text."""
    with _quiet_pypdf():
        return _pdf_pages(path)


@contextlib.contextmanager
def _quiet_pypdf():
    """pypdf logs its repairs of damaged files ("EOF marker not found") to stderr; the user
    gets one line from us instead."""
    logger = logging.getLogger("pypdf")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def _pdf_pages(path: Path) -> list[str]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted and not reader.decrypt(""):
            raise PaperError(f"{path.name} is encrypted with a password; save a decrypted copy first")
        raw_pages = list(reader.pages)
    except PaperError:
        raise
    except (PdfReadError, OSError, ValueError, KeyError, TypeError) as exc:
        raise PaperError(f"{path.name} is not a readable PDF: {exc}") from None
    except Exception as exc:  # pypdf raises many kinds on damaged files; the message is what counts
        raise PaperError(f"{path.name} is not a readable PDF: {type(exc).__name__}: {exc}") from None
    if not raw_pages:
        raise PaperError(f"{path.name} has no pages")
    pages = []
    for page in raw_pages:
        try:
            pages.append(clean(page.extract_text() or ""))
        except Exception as exc:  # one broken page must not lose the others
            pages.append(f"[agentcli: pypdf could not extract this page: {type(exc).__name__}]")
    if not any(p.strip() for p in pages):
        raise PaperError(f"no text could be extracted from {path.name} (a scanned image?): run OCR on "
                         "it (e.g. ocrmypdf) or pass a .md or .txt version of the paper")
    return pages


def render_pages(pages: list[str]) -> str:
    parts = []
    for number, text in enumerate(pages, start=1):
        body = text.strip() or "[agentcli: no text on this page; a figure or a scanned image]"
        parts.append(f"## Page {number}\n\n{body}\n")
    return "\n".join(parts)


def read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PaperError(f"cannot read {path}: {exc.strerror or exc}") from None
    if b"\x00" in data[:4096]:
        raise PaperError(f"{path.name} is neither a PDF nor text; pass a .pdf, .md or .txt file")
    text = clean(data.decode("utf-8", errors="replace"))
    if not text.strip():
        raise PaperError(f"{path.name} is empty")
    return text


def clean(text: str) -> str:
    """Ligatures spelled out, trailing spaces dropped, runs of blank lines shortened."""
    for glyph, letters in _LIGATURES.items():
        text = text.replace(glyph, letters)
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines))


def split_pages(text: str) -> dict[int, str]:
    """PAPER.md's text by page number; {} when it has no page markers."""
    marks = list(PAGE_MARKER.finditer(text))
    pages: dict[int, str] = {}
    for i, mark in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        pages[int(mark.group(1))] = text[mark.end():end]
    return pages
