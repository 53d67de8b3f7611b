"""PAPER.md from a PDF the tests generate (and from Markdown), keeping page numbers."""

from __future__ import annotations

import pytest

from agentcli.reproduce.paper import PaperError, extract, split_pages
from reproduce_helpers import write_pdf


def test_pdf_text_lands_on_its_own_numbered_page(tmp_path):
    pdf = write_pdf(tmp_path / "paper.pdf")
    paper = extract(pdf, tmp_path / "work")
    text = paper.path.read_text()
    assert paper.pages == 2 and paper.path.name == "PAPER.md"
    pages = split_pages(text)
    assert sorted(pages) == [1, 2]
    assert "We study the five numbers 1, 2, 3, 4 and 10." in pages[1]
    assert "Table 1: mean 4.0, median 3." in pages[2] and "Table 1" not in pages[1]
    assert text.startswith("# Paper: paper.pdf\n")
    # A copy of the source stays with the reproduction.
    assert (tmp_path / "work" / ".reproduce" / "paper.pdf").read_bytes() == pdf.read_bytes()


def test_ligatures_are_spelled_out(tmp_path):
    pdf = write_pdf(tmp_path / "lig.pdf", [["The \ufb01nal model took 12 steps."]])
    text = extract(pdf, tmp_path / "w").path.read_text()
    assert "The final model took 12 steps." in text


def test_a_page_without_text_is_marked_not_dropped(tmp_path):
    pdf = write_pdf(tmp_path / "fig.pdf", [["Page one has words."], [], ["Page three too."]])
    pages = split_pages(extract(pdf, tmp_path / "w").path.read_text())
    assert sorted(pages) == [1, 2, 3]
    assert "no text on this page" in pages[2]


def test_a_pdf_with_no_text_at_all_says_to_run_ocr(tmp_path):
    pdf = write_pdf(tmp_path / "scan.pdf", [[], []])
    with pytest.raises(PaperError, match="no text could be extracted from scan.pdf.*OCR"):
        extract(pdf, tmp_path / "w")
    assert not (tmp_path / "w" / "PAPER.md").exists()


def test_an_encrypted_pdf_is_a_clear_error(tmp_path):
    from pypdf import PdfReader, PdfWriter

    plain = write_pdf(tmp_path / "plain.pdf")
    writer = PdfWriter()
    for page in PdfReader(plain).pages:
        writer.add_page(page)
    writer.encrypt(user_password="secret", owner_password="owner")
    locked = tmp_path / "locked.pdf"
    with open(locked, "wb") as f:
        writer.write(f)
    with pytest.raises(PaperError, match="locked.pdf is encrypted with a password"):
        extract(locked, tmp_path / "w")


def test_a_damaged_pdf_is_one_line(tmp_path):
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(b"%PDF-1.7\n1 0 obj <<>> garbage")
    with pytest.raises(PaperError) as info:
        extract(bad, tmp_path / "w")
    assert str(info.value).startswith("bad.pdf is not a readable PDF") and "\n" not in str(info.value)


def test_markdown_is_copied_with_its_page_markers(tmp_path):
    src = tmp_path / "paper.md"
    src.write_text("# A paper\n\n## Page 1\n\nIntro.\n\n## Page 2\n\nResult: 0.91.\n")
    paper = extract(src, tmp_path / "w")
    assert paper.pages == 2
    assert "Result: 0.91." in split_pages(paper.path.read_text())[2]


def test_plain_text_without_pages_is_fine(tmp_path):
    src = tmp_path / "paper.txt"
    src.write_text("Accuracy was 91.3% on the test set.\r\n")
    paper = extract(src, tmp_path / "w")
    assert paper.pages == 0 and "Accuracy was 91.3% on the test set." in paper.path.read_text()


@pytest.mark.parametrize("content, message", [
    (b"", "empty.txt is empty"),
    (b"\x00\x01\x02binary", "neither a PDF nor text"),
])
def test_unusable_text_files(tmp_path, content, message):
    name = "empty.txt" if not content else "blob.bin"
    src = tmp_path / name
    src.write_bytes(content)
    with pytest.raises(PaperError, match=message):
        extract(src, tmp_path / "w")


def test_a_missing_file(tmp_path):
    with pytest.raises(PaperError, match="no such file"):
        extract(tmp_path / "nope.pdf", tmp_path / "w")
