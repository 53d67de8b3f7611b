"""Books on a shelf."""
from dataclasses import dataclass


@dataclass
class Book:
    title: str
    author: str

    def __str__(self):
        return f"{self.title} by {self.author}"


def shelf(books):
    """One line per book, sorted by title."""
    return "\n".join(str(b) for b in sorted(books, key=lambda b: b.title))
