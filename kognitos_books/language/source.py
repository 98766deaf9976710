"""Reading an automation's text from a file or a stream: UTF-8, of a bounded size.

:func:`read_text` reads any text file the host takes (an automation, a CSV of rows) and
refuses, with a :class:`~kognitos_books.language.errors.LanguageError` placed at the byte
at fault, one that is too large, binary or not UTF-8.
"""

from __future__ import annotations

import codecs
import contextlib
import os
from typing import BinaryIO

import attrs

from .errors import LanguageError, source_lines

__all__ = ["AUTOMATION", "MAX_AUTOMATION_SIZE", "TextKind", "read_automation", "read_text"]

#: The largest automation read, in characters (and, for a file, in bytes): an automation is
#: written by hand; many rows go in a CSV file (kbooks run --each).
MAX_AUTOMATION_SIZE = 4 * 1024 * 1024


@attrs.frozen
class TextKind:
    """What :func:`read_text` reads, as its errors name it: ``what`` ("automation"), at
    most ``limit`` bytes of it, and the ``hint`` for one that is larger."""

    what: str
    limit: int
    hint: str

    def too_large(self, size: int, unit: str, source_name: str) -> LanguageError:
        return LanguageError(
            f"the {self.what} is too large: {size:,} {unit}, at most {self.limit:,}",
            source_name=source_name, hint=self.hint)


AUTOMATION = TextKind("automation", MAX_AUTOMATION_SIZE,
                      "run one automation for many records with kbooks run --each ROWS.csv")


def read_automation(source: str | os.PathLike[str] | BinaryIO,
                    source_name: str | None = None) -> str:
    """Read an automation as UTF-8 text (a byte-order mark is dropped): a file by its path,
    or an open binary stream such as ``sys.stdin.buffer``, named ``source_name`` in errors
    (default: the path, or the stream's name). See :func:`read_text`."""
    return read_text(source, AUTOMATION, source_name)


def read_text(source: str | os.PathLike[str] | BinaryIO, kind: TextKind,
              source_name: str | None = None) -> str:
    """Read a text file of ``kind``: at most ``kind.limit`` bytes, UTF-8, no NUL byte.

    A regular file larger than the limit is refused before it is read; a pipe or device
    is read up to the limit and refused there, so one that never ends (``/dev/zero``) is
    not read forever. A file that cannot be read, is too large, is binary, or is not UTF-8
    raises :class:`LanguageError` (placed at the offending byte's line and column where
    there is one).
    """
    if isinstance(source, (str, os.PathLike)):
        name = source_name or os.fspath(source)
    else:
        name = source_name or str(getattr(source, "name", "<stream>"))
    try:
        with open(source, "rb") if isinstance(source, (str, os.PathLike)) \
                else contextlib.nullcontext(source) as handle:
            data = _read_at_most(handle, kind, name)
    except OSError as error:
        raise LanguageError(
            f"cannot read the {kind.what}: {error.strerror or error}",
            source_name=name,
            hint="check the file name" if isinstance(error, FileNotFoundError) else None,
        ) from None
    plural = f"{kind.what}s"
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE,
                        codecs.BOM_UTF16_BE)):
        raise LanguageError(
            f"this file is UTF-16 or UTF-32 text; {plural} are UTF-8",
            source_name=name,
            hint="save the file as UTF-8",
        )
    nul = data.find(b"\0")
    if nul >= 0:
        article = "an" if kind.what[:1] in "aeiou" else "a"
        raise _byte_error(
            data, nul, name, f"this looks like a binary file, not {article} {kind.what}: it "
            "holds a NUL byte", f"{plural} are plain text files"
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise _byte_error(
            data, error.start, name,
            f"this file is not UTF-8 text: byte 0x{data[error.start]:02X} cannot be read",
            "save the file as UTF-8",
        ) from None


def _read_at_most(handle: BinaryIO, kind: TextKind, name: str) -> bytes:
    try:
        size = os.fstat(handle.fileno()).st_size
    except OSError:  # a stream with no file (io.BytesIO)
        size = 0
    if size > kind.limit:
        # refused before reading: a stray multi-gigabyte file must not be loaded
        raise kind.too_large(size, "bytes", name)
    chunks: list[bytes] = []
    read = 0
    while read <= kind.limit:  # a pipe or device reports no size, and may give less a read
        chunk = handle.read(kind.limit + 1 - read)
        if not chunk:
            break
        chunks.append(chunk)
        read += len(chunk)
    if read > kind.limit:
        raise kind.too_large(read, "bytes or more", name)
    return b"".join(chunks)


def _byte_error(data: bytes, offset: int, name: str, message: str, hint: str) -> LanguageError:
    before = source_lines(data[:offset].decode("utf-8-sig", "replace"))
    line = len(before)
    text = source_lines(data.decode("utf-8-sig", "replace"))[line - 1]
    return LanguageError(message, source_name=name, line=line, column=len(before[-1]) + 1,
                         line_text=text, hint=hint)
