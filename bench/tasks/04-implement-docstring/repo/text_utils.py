"""Text helpers for the blog."""


def slugify(title):
    """Turn a post title into a URL slug.

    Lowercase the title, replace every run of characters that are not letters or digits with a
    single hyphen, and strip hyphens from both ends.

    >>> slugify("Hello, World!")
    'hello-world'
    >>> slugify("  Python 3.12 -- what's new?  ")
    'python-3-12-what-s-new'
    """
    raise NotImplementedError


def word_count(text):
    """How many words the text has."""
    return len(text.split())
