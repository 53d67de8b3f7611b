"""Text helpers (moved here from helpers.py)."""


def normalize(name):
    """Collapse whitespace and title-case a name."""
    return " ".join(name.split()).title()


def initials(name):
    """The initials of a name, e.g. 'Ada Lovelace' -> 'AL'."""
    return "".join(part[0].upper() for part in name.split())
