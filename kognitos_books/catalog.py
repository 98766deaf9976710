"""What ``kbooks books`` and ``kbooks --help`` show, kept between runs of ``kbooks``.

Describing the installed books means importing them, and the host's model, pluggy and
attrs with them: most of the time ``kbooks books`` or ``kbooks --help`` takes. What they
show changes only when a book, the host or what is installed changes, so the last answer is
kept in ``<kbooks home>/cache/books.json`` with a *fingerprint* of everything it was made
from, and used again only while that fingerprint is unchanged:

* every distribution on ``sys.path`` (its ``.dist-info`` or ``.egg-info`` name, which holds
  its version, and the time it was last written): an install, upgrade or removal of
  anything changes it;
* the size and time of every Python file of each book's top-level package (found without
  importing it) and of this host: an edited book, installed editable, changes it;
* the Python version, ``KBOOKS_DISABLE`` and the format of this file.

Nothing is kept when a book is broken (what would fix it, a missing dependency, say, is
not in the fingerprint), and ``KBOOKS_TRACE`` bypasses it (the hooks must run to be traced).
This module imports nothing beyond the standard library's cheapest parts.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from typing import Any

from .entrypoints import GROUP, distributions, entry_points_of

#: where the kbooks home is set (credentials.py, which imports attrs, shares it)
HOME_ENV = "KBOOKS_HOME"
#: changes when what this file holds changes shape
FORMAT = 1
CACHE_NAME = os.path.join("cache", "books.json")


def home() -> str:
    """The kbooks home: ``$KBOOKS_HOME`` or the platform's user config directory (here, as
    the credential store's module costs more to import than these commands take)."""
    env = os.environ.get(HOME_ENV)
    if env:
        return os.path.expanduser(env)
    import platformdirs

    return platformdirs.user_config_dir("kbooks", appauthor=False)


def fingerprint() -> list[Any] | None:
    """Everything the books' descriptions are made from, as plain values; None when it
    cannot be told cheaply (distributions served by an import hook or a zip file)."""
    found = distributions()
    if found is None:
        return None  # the path holds more than plain directories
    installed: list[Any] = []
    for path in sorted(found):
        try:
            installed.append([path, os.stat(path).st_mtime_ns])
        except OSError:
            continue
    points = entry_points_of(found, GROUP)
    sources: list[Any] = [_files(os.path.dirname(os.path.abspath(__file__)))]
    for point in sorted(points, key=lambda p: (p.name, p.value)):
        sources.append([point.name, point.value, _module_files(point.value)])
    return [FORMAT, sys.version, os.environ.get("KBOOKS_DISABLE", ""), installed, sources]


def _module_files(value: str) -> list[Any] | None:
    """Sizes and times of the files of the top-level module an entry point names."""
    from importlib.util import find_spec

    top = value.partition(":")[0].strip().partition(".")[0]
    try:
        spec = find_spec(top)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if spec.submodule_search_locations:
        return [_files(location) for location in spec.submodule_search_locations]
    return _files(spec.origin) if spec.origin else None


def _files(path: str) -> list[Any]:
    """``[name, size, time]`` of a file, or of every ``.py`` file under a directory."""
    if not os.path.isdir(path):
        try:
            found = os.stat(path)
        except OSError:
            return [path]
        return [path, found.st_size, found.st_mtime_ns]
    listed: list[Any] = []
    for folder, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__" and not d.startswith("."))
        for name in sorted(files):
            if name.endswith(".py"):
                found = os.stat(os.path.join(folder, name))
                listed.append([os.path.join(folder, name), found.st_size, found.st_mtime_ns])
    return listed


def load(now: list[Any] | None) -> dict[str, Any] | None:
    """The kept answer, if it was made from what is installed ``now`` (the
    :func:`fingerprint`)."""
    if now is None or os.environ.get("KBOOKS_TRACE"):
        return None
    try:
        with open(os.path.join(home(), CACHE_NAME), encoding="utf-8") as fh:
            kept = json.load(fh)
    except (OSError, ValueError):
        return None
    if not isinstance(kept, dict) or kept.get("format") != FORMAT:
        return None
    return kept if kept.get("fingerprint") == now else None


def save(now: list[Any] | None, books: list[dict[str, Any]],
         commands: list[list[str]]) -> None:
    """Keep ``books`` (as ``kbooks books --json`` shows them) and the books' ``commands``
    (name, help), made from what is installed ``now``, for the next ``kbooks books`` or
    ``kbooks --help``. Failing to write is not an error: the cache only saves time."""
    if now is None or os.environ.get("KBOOKS_TRACE") or any(
            b["state"] == "broken" for b in books):
        return
    root = home()
    path = os.path.join(root, CACHE_NAME)
    temporary = f"{path}.{os.getpid()}.tmp"
    try:
        for folder in (root, os.path.dirname(path)):  # private, as the home always is
            os.makedirs(folder, mode=0o700, exist_ok=True)
            os.chmod(folder, 0o700)
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"format": FORMAT, "fingerprint": now, "books": books,
                       "commands": commands}, fh)
        os.replace(temporary, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temporary)


PROCEDURES_NAME = os.path.join("cache", "procedures.json")


def load_procedures(now: list[Any] | None, book: str, noun: str | None, *,
                    terminal_width: int) -> list[dict[str, Any]] | None:
    """The kept ``kbooks procedures BOOK [NOUN]`` rows, if they were made from what is
    installed ``now``, for a terminal as wide (None: list them afresh)."""
    if now is None or os.environ.get("KBOOKS_TRACE"):
        return None
    try:
        with open(os.path.join(home(), PROCEDURES_NAME), encoding="utf-8") as fh:
            kept = json.load(fh)
    except (OSError, ValueError):
        return None
    if not isinstance(kept, dict) or kept.get("format") != FORMAT or kept.get(
            "fingerprint") != now or kept.get("width") != terminal_width:
        return None
    entry = kept.get("books", {}).get(book)
    if not isinstance(entry, dict):
        return None
    rows = entry.get("rows")
    if not isinstance(rows, list):
        return None
    if noun is None:
        return rows
    name = entry.get("nouns", {}).get(noun.lower())
    if name is None:
        return None  # (listed afresh, to say what is wrong)
    return [row for row in rows if row["json"]["noun"] == name]


def save_procedures(now: list[Any] | None, book: str, nouns: dict[str, str],
                    rows: list[dict[str, Any]], names: list[str]) -> None:
    """Keep a book's procedure rows (under each name it was asked by) for the next
    ``kbooks procedures``; failing to write only costs time."""
    if now is None or os.environ.get("KBOOKS_TRACE"):
        return
    root = home()
    path = os.path.join(root, PROCEDURES_NAME)
    width = _width()
    try:
        with open(path, encoding="utf-8") as fh:
            kept = json.load(fh)
        if kept.get("fingerprint") != now or kept.get("width") != width:
            kept = {}
    except (OSError, ValueError, AttributeError):
        kept = {}
    books = kept.get("books", {}) if isinstance(kept, dict) else {}
    for name in {book, *names}:
        books[name] = {"nouns": nouns, "rows": rows}
    temporary = f"{path}.{os.getpid()}.tmp"
    try:
        for folder in (root, os.path.dirname(path)):
            os.makedirs(folder, mode=0o700, exist_ok=True)
            os.chmod(folder, 0o700)
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"format": FORMAT, "fingerprint": now, "width": width,
                       "books": books}, fh)
        os.replace(temporary, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temporary)


def _width() -> int:
    from .cli import _terminal_width

    return _terminal_width()
