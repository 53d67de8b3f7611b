"""Roman numerals."""

NUMERALS = [
    (1000, "M"), (900, "CM"), (500, "D"), (400, "CD"),
    (100, "C"), (90, "XC"), (50, "L"), (40, "XL"),
    (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I"),
]


def to_roman(num):
    """Write a number from 1 to 3999 in Roman numerals, e.g. 1994 -> 'MCMXCIV'."""
    if not 0 < num < 4000:
        raise ValueError("to_roman takes a number from 1 to 3999")
    out = []
    for value, letters in NUMERALS:
        while num >= value:
            out.append(letters)
            num -= value
    return "".join(out)
