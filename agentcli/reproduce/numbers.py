"""Numbers as text prints them: in a paper's quote, and in the output of a run.

Text is read as it is spaced: "Ridge 0.482 2,970.5 10" holds three numbers (0.482, 2970.5 and
10), never one glued "0.4822970.510". A comma or a thin space between groups of three digits is
a thousands separator; a unicode minus (or the en dash PDFs print for one) is a minus sign.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_MINUS = "\u2212\u2012\u2013\ufe63\uff0d-"  # the hyphen last: a literal in a [class]
_GROUP = ",\u2009\u202f\u00a0"
_NUMBER = re.compile(
    r"(?<![\w.])"                        # not part of a word ("R2", "C3") or of another number
    rf"(?P<sign>[+{_MINUS}])?"
    rf"(?P<int>\d{{1,3}}(?:[{_GROUP}]\d{{3}})+(?![\d])|\d+)?"
    r"(?:\.(?P<frac>\d+))?"
    rf"(?:[eE](?P<exp>[+{_MINUS}]?\d+))?")


@dataclass(frozen=True)
class Printed:
    """One number as printed: its value, the digits after the point (negative for 1e5-style
    large numbers) and how many significant digits the print carries."""

    value: float
    decimals: int
    significant: int
    text: str


def numbers_in(text: str) -> list[Printed]:
    """Every number printed in `text`, in order."""
    found = []
    for m in _NUMBER.finditer(text):
        whole, frac = m.group("int"), m.group("frac")
        if whole is None and frac is None:
            continue
        digits = re.sub(rf"[{_GROUP}]", "", whole or "")
        exp_text = m.group("exp")
        exponent = int(_plain_minus(exp_text)) if exp_text else 0
        sign = -1.0 if m.group("sign") and m.group("sign") != "+" else 1.0
        mantissa = float(f"{digits or '0'}.{frac or '0'}")
        value = sign * mantissa * 10.0 ** exponent
        significant = len((digits + (frac or "")).lstrip("0")) or 1
        found.append(Printed(value, len(frac or "") - exponent, significant, m.group(0)))
    return found


def _plain_minus(text: str) -> str:
    return re.sub(rf"[{_MINUS}]", "-", text)


def _same(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def printed_in_quote(value: float, quote: str) -> bool:
    """Whether the quote prints `value` itself (not a number derived from it)."""
    return any(_same(p.value, float(value)) for p in numbers_in(quote))


# A print with fewer significant digits than this is too coarse to stand for a value it only
# rounds to ("0.5" in a log is no evidence of an accuracy of 0.47); it must then equal it.
MIN_SIGNIFICANT = 3


def found_in_output(value: float, text: str) -> Printed | None:
    """The first number in a run's output that is `value` as printed: equal to it, or `value`
    rounded to that number's digits (99.438 for 99.43820224719101) when it carries at least
    MIN_SIGNIFICANT significant digits. A coarser value is never matched by a finer print, so a
    paper's 99.4 is not found in a log that printed 99.438."""
    value = float(value)
    for p in numbers_in(text):
        if _same(p.value, value):
            return p
        if p.decimals > 0 and p.significant >= MIN_SIGNIFICANT and \
                abs(value - p.value) <= 0.5 * 10.0 ** -p.decimals * (1 + 1e-9):
            return p
    return None
