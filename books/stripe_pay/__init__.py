"""The Stripe Pay book for kognitos_books."""

__version__ = "0.1.0"
