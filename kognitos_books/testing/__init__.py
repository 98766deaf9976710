"""What a book author needs to test a book: a private kbooks home, a runtime, and a vcr
configuration that keeps secrets out of cassettes.

The pytest plugin (:mod:`kognitos_books.testing.plugin`) is registered automatically
through the ``pytest11`` entry point and provides the ``kbooks_home`` and ``kbooks_runtime``
fixtures. :class:`Listening` runs a trigger's listener for the length of a test.
"""

from .cassettes import SECRET_PATTERN, find_secrets, scrub_text, scrubbing_vcr
from .listening import Listening, wait_for

__all__ = ["SECRET_PATTERN", "Listening", "find_secrets", "scrub_text", "scrubbing_vcr",
           "wait_for"]
