"""kognitos_books: a small host for English automation books."""

__version__ = "0.1.0"
