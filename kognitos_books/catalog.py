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
        return _stat(path)
    listed: list[Any] = []
    for folder, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__" and not d.startswith("."))
        for name in sorted(files):
            if name.endswith(".py"):
                found = os.stat(os.path.join(folder, name))
                listed.append([os.path.join(folder, name), found.st_size, found.st_mtime_ns])
    return listed


def _stat(path: str) -> list[Any]:
    """``[name, size, time]`` of one file (``[name]`` when there is none)."""
    try:
        found = os.stat(path)
    except OSError:
        return [path]
    return [path, found.st_size, found.st_mtime_ns]


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
    _write_private(CACHE_NAME, json.dumps({"format": FORMAT, "fingerprint": now,
                                           "books": books, "commands": commands}).encode())


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
    path = os.path.join(home(), PROCEDURES_NAME)
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
    _write_private(PROCEDURES_NAME, json.dumps({"format": FORMAT, "fingerprint": now,
                                                "width": width, "books": books}).encode())


def _write_private(name: str, data: bytes) -> None:
    """Write ``data`` to ``name`` under the kbooks home, all at once (a reader finds the
    old file or the new one), the file 0600 and its folders 0700, as the home always is.
    Failing to write is not an error: what is kept only saves time."""
    root = home()
    path = os.path.join(root, name)
    temporary = f"{path}.{os.getpid()}.tmp"
    try:
        folder = root
        for part in ("", *os.path.dirname(name).split(os.sep)):
            folder = os.path.join(folder, part) if part else folder
            os.makedirs(folder, mode=0o700, exist_ok=True)
            os.chmod(folder, 0o700)
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(temporary, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temporary)


def _width() -> int:
    from .cli import _terminal_width

    return _terminal_width()


# ---------------------------------------------------------------------- kept for kbooks run
#
# ``kbooks run FILE`` of an automation checked before answers without the parser, the
# checker's work or the books' schemas: each kept answer is a file under cache/runs/, named
# by a digest of everything it was made from (see :func:`digest`) and of its own key, which
# it holds in full and which must be equal when it is read. Checked automations are the
# host's attrs classes; they are kept as plain values (``marshal``: text, numbers, tuples)
# with, for each class, its module, name and fields, and read back only into classes of this
# host whose fields are still the same, set as they were (no code runs, no constructor);
# anything else is never kept. A file is read only if this user owns it and nobody else may
# write it.

#: changes when what the run caches hold, or how, changes
RUN_FORMAT = 1
RUNS_DIR = os.path.join("cache", "runs")
#: answers kept at most under RUNS_DIR; the oldest go first
RUNS_KEPT = 256
#: files larger than this are read as ever (and nothing is kept for them)
KEPT_TEXT_LIMIT = 1 << 20
_PLAIN = (str, int, float, bool, bytes, type(None))


def digest(now: list[Any] | None) -> str | None:
    """A digest of ``now`` (the :func:`fingerprint`) and of the format of the run caches;
    None when nothing may be kept (no fingerprint, or ``KBOOKS_TRACE``)."""
    if now is None or os.environ.get("KBOOKS_TRACE"):
        return None
    import hashlib

    return hashlib.sha256(json.dumps([RUN_FORMAT, now]).encode()).hexdigest()


def zones_now(zones: Any) -> list[Any]:
    """What the time zones ``zones`` are read from: ``PYTHONTZPATH``, each folder of the
    zone database (its ``tzdata.zi``, rewritten by every update of it, and the folder
    itself) and each zone's own file there. The ``tzdata`` package, used where no folder
    has the zone, is a distribution: in the fingerprint. UTC is read without the zone
    database: nothing."""
    wanted = set(zones) - {"UTC"}
    if not wanted:
        return []
    import zoneinfo

    found: list[Any] = [os.environ.get("PYTHONTZPATH")]
    folders = [folder for folder in zoneinfo.TZPATH if os.path.isdir(folder)]
    found.extend(_stat(os.path.join(folder, "tzdata.zi")) + _stat(folder)
                 for folder in folders)
    for zone in sorted(wanted):
        for folder in folders:
            path = os.path.join(folder, zone)
            if os.path.isfile(path):
                found.append(_stat(path))
                break
        else:
            found.append([zone])
    return found


def _entry(kept: str, key: list[Any]) -> str:
    import hashlib

    name = hashlib.sha256(json.dumps([kept, key]).encode()).hexdigest()
    return os.path.join(RUNS_DIR, f"{name}.kept")


def load_kept(kept: str | None, key: list[Any]) -> Any:
    """The answer kept under ``key`` (plain values: text, numbers, lists) while the digest
    ``kept`` holds, or None."""
    if kept is None:
        return None
    data = _read_private(_entry(kept, key))
    if data is None:
        return None
    import marshal

    try:
        entry = marshal.loads(data)
        if not isinstance(entry, dict) or entry.get("format") != RUN_FORMAT or entry.get(
                "digest") != kept or entry.get("key") != key:
            return None
        return _Decoder(entry["classes"]).value(entry["value"])
    except Exception:  # a damaged, foreign or outdated file (a class changed): made again
        return None


def keep(kept: str | None, key: list[Any], value: Any) -> bool:
    """Keep ``value`` under ``key`` while the digest ``kept`` holds; whether it was (a
    value holding what cannot be kept, such as an object of a book's own, is not)."""
    if kept is None:
        return False
    import marshal

    encoder = _Encoder()
    try:
        encoded = encoder.value(value)
        data = marshal.dumps({"format": RUN_FORMAT, "digest": kept, "key": key,
                              "classes": encoder.classes, "value": encoded})
        _Decoder(encoder.classes).value(encoded)  # (what cannot be read back is not kept)
    except (_NotKept, ValueError, RecursionError):
        return False
    _write_private(_entry(kept, key), data)
    _trim(os.path.join(home(), RUNS_DIR))
    return True


class _NotKept(Exception):
    """A value that cannot be kept (or read back)."""


def _fields(cls: type) -> list[str]:
    return [field.name for field in cls.__attrs_attrs__]  # type: ignore[attr-defined]


class _Encoder:
    """A value as plain values: every node a tuple ``(tag, ...)``, every class by its
    number in :attr:`classes` (``[module, name, fields]``)."""

    def __init__(self) -> None:
        self.classes: list[list[Any]] = []
        self._numbers: dict[type, int] = {}

    def _class(self, cls: type, fields: list[str] | None) -> int:
        number = self._numbers.get(cls)
        if number is None:
            if cls.__module__.partition(".")[0] != __name__.partition(".")[0] or issubclass(
                    cls, BaseException) or hasattr(cls, "__attrs_post_init__"):
                raise _NotKept(f"{cls.__module__}.{cls.__qualname__}")
            number = self._numbers[cls] = len(self.classes)
            self.classes.append([cls.__module__, cls.__qualname__, fields])
        return number

    def value(self, value: Any) -> Any:
        kind = type(value)
        if kind in _PLAIN:
            return value
        if kind is tuple:
            return ("t", tuple(map(self.value, value)))
        if kind is list:
            return ("l", tuple(map(self.value, value)))
        if kind is dict:
            return ("d", tuple(map(self.value, value)), tuple(map(self.value, value.values())))
        if kind is frozenset or kind is set:
            return ("f" if kind is frozenset else "s", tuple(map(self.value, value)))
        if hasattr(kind, "__attrs_attrs__"):
            names = _fields(kind)
            return ("a", self._class(kind, names),
                    tuple(self.value(getattr(value, name)) for name in names))
        if isinstance(value, list):  # a list with attributes of its own (a Program)
            return ("L", self._class(kind, None), tuple(map(self.value, value)),
                    self.value(dict(vars(value))))
        if isinstance(value, str):  # (a text of a kind of its own, as checker.Unknown)
            return ("S", self._class(kind, None), str(value))
        import datetime
        import decimal

        if kind is decimal.Decimal:
            return ("D", str(value))
        if kind is datetime.date:
            return ("date", value.isoformat())
        if kind is datetime.datetime and value.tzinfo is None:
            return ("datetime", value.isoformat())
        raise _NotKept(kind.__qualname__)


class _Decoder:
    """What :class:`_Encoder` made, back: each class looked up where it was found, and
    used only if it is still the host's and has the same fields."""

    def __init__(self, classes: list[list[Any]]) -> None:
        import importlib

        self.classes: list[type] = []
        for module, qualname, fields in classes:
            if module.partition(".")[0] != __name__.partition(".")[0]:
                raise _NotKept(module)
            found: Any = importlib.import_module(module)
            for part in qualname.split("."):
                found = getattr(found, part)
            if not isinstance(found, type) or (
                    fields is not None and (not hasattr(found, "__attrs_attrs__")
                                            or _fields(found) != fields)):
                raise _NotKept(f"{module}.{qualname} has changed")
            self.classes.append(found)
        self._fields = [_fields(c) if hasattr(c, "__attrs_attrs__") else [] for c in
                        self.classes]

    def value(self, node: Any) -> Any:
        if type(node) in _PLAIN:
            return node
        if type(node) is not tuple:
            raise _NotKept(type(node).__name__)
        tag = node[0]
        if tag == "t":
            return tuple(map(self.value, node[1]))
        if tag == "l":
            return list(map(self.value, node[1]))
        if tag == "d":
            return dict(zip(map(self.value, node[1]), map(self.value, node[2]), strict=True))
        if tag == "f":
            return frozenset(map(self.value, node[1]))
        if tag == "s":
            return set(map(self.value, node[1]))
        if tag == "a":
            cls = self.classes[node[1]]
            made: Any = object.__new__(cls)
            for name, item in zip(self._fields[node[1]], node[2], strict=True):
                object.__setattr__(made, name, self.value(item))
            return made
        if tag == "L":
            cls = self.classes[node[1]]
            if not issubclass(cls, list):
                raise _NotKept(cls.__qualname__)
            listed: list[Any] = list.__new__(cls)
            listed.extend(map(self.value, node[2]))
            listed.__dict__.update(self.value(node[3]))
            return listed
        if tag == "S":
            cls = self.classes[node[1]]
            if not issubclass(cls, str):
                raise _NotKept(cls.__qualname__)
            return str.__new__(cls, node[2])
        import datetime
        import decimal

        if tag == "D":
            return decimal.Decimal(node[1])
        if tag == "date":
            return datetime.date.fromisoformat(node[1])
        if tag == "datetime":
            return datetime.datetime.fromisoformat(node[1])
        raise _NotKept(str(tag))


def _trim(folder: str) -> None:
    """Remove the oldest files of ``folder`` past :data:`RUNS_KEPT`."""
    try:
        entries = [e for e in os.scandir(folder) if e.name.endswith(".kept")]
        if len(entries) <= RUNS_KEPT:
            return
        entries.sort(key=lambda e: e.stat().st_mtime_ns)
        for entry in entries[:len(entries) - RUNS_KEPT]:
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
    except OSError:
        return


def _read_private(name: str) -> bytes | None:
    """The bytes of ``name`` under the kbooks home, if it is a file of this user's that no
    one else may write."""
    import stat

    try:
        fd = os.open(os.path.join(home(), name), os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    try:
        found = os.fstat(fd)
        if not stat.S_ISREG(found.st_mode) or found.st_mode & 0o022 or (
                hasattr(os, "getuid") and found.st_uid != os.getuid()):
            return None
        with os.fdopen(os.dup(fd), "rb") as fh:
            return fh.read()
    except OSError:
        return None
    finally:
        os.close(fd)
