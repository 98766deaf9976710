"""What a book author needs to test a book: a private kbooks home, a runtime, and a vcr
configuration that keeps secrets out of cassettes.

The pytest plugin (:mod:`kognitos_books.testing.plugin`) is registered automatically
through the ``pytest11`` entry point and provides the ``kbooks_home`` and ``kbooks_runtime``
fixtures.
"""

from .cassettes import SECRET_PATTERN, find_secrets, scrub_text, scrubbing_vcr

__all__ = ["SECRET_PATTERN", "find_secrets", "scrub_text", "scrubbing_vcr"]
