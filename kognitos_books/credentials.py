"""Asking for credentials, checking them, and keeping them safe.

The store is one JSON file, ``credentials.json``, in the kbooks home directory
(``$KBOOKS_HOME``, else the user config directory). The directory is kept at mode 0700
and the file at 0600; every write goes to a temporary file that replaces the old one
atomically, so a crash never leaves half a store. A store that cannot be read is
reported, never overwritten.

Where a credential comes from, first match wins:

1. the environment variable ``KBOOKS_<BOOK>_<FIELD>`` (``KBOOKS_STRIPE_PAY_API_KEY``);
2. at install time, the prompt (hidden on a terminal; one line of standard input
   otherwise); at run time, the stored connection.
"""

from __future__ import annotations

import getpass
import json
import os
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

import attrs

from .catalog import home
from .model import Book, ConfigurationError, Credential, CredentialsRejected, Secret, mask

STORE_NAME = "credentials.json"
STORE_VERSION = 1
#: The longest answer read for a credential, in characters: keys are far shorter, and
#: standard input that never ends a line (``< /dev/zero``) must not be read forever.
MAX_ANSWER = 4096


def home_dir() -> Path:
    """The kbooks home: ``$KBOOKS_HOME`` or the platform's user config directory."""
    return Path(home())


def env_name(book: str, field: str) -> str:
    """The environment variable that overrides ``field`` of ``book``."""
    return f"KBOOKS_{book}_{field}".upper().replace("-", "_")


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` if needed and make sure only its owner can enter it (0700). A path
    that cannot be such a directory (``$KBOOKS_HOME`` names a file, or a place that cannot
    be written) raises :class:`ConfigurationError`."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        os.chmod(path, 0o700)
    except OSError as exc:
        why = "it is not a directory" if isinstance(exc, FileExistsError) else (
            exc.strerror or str(exc))
        raise ConfigurationError(f"cannot keep files in {path}: {why}",
                                 hint="KBOOKS_HOME must name a directory you can write to"
                                 ) from None
    return path


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically with mode 0600."""
    ensure_private_dir(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


@attrs.frozen
class StoredConnection:
    """One saved connection of a book. Credentials are :class:`Secret` values."""

    book: str
    name: str
    credentials: Mapping[str, Secret]
    settings: Mapping[str, str]
    mode: str
    default: bool = False
    created: float = 0.0
    source: str = "store"

    @property
    def masked(self) -> dict[str, str]:
        return {k: v.masked for k, v in self.credentials.items()}


class CredentialStore:
    """The credential store under a kbooks home directory."""

    def __init__(self, home: Path | None = None) -> None:
        self.home = Path(home) if home is not None else home_dir()
        self.path = self.home / STORE_NAME

    def __repr__(self) -> str:
        return f"CredentialStore({str(self.path)!r})"

    # ---------------------------------------------------------------- raw file

    def _read(self) -> dict[str, Any]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {"version": STORE_VERSION, "books": {}}
        except NotADirectoryError:  # the home is a file, or under one: say that
            ensure_private_dir(self.home)
            raise self._corrupt("cannot be read (NotADirectoryError)") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise self._corrupt(f"cannot be read ({type(exc).__name__})") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise self._corrupt(f"is not valid JSON (line {exc.lineno}, column {exc.colno})"
                                ) from None
        problem = _shape_problem(data)
        if problem:
            raise self._corrupt(problem)
        return data

    def _corrupt(self, why: str) -> ConfigurationError:
        return ConfigurationError(
            f"the credential store {self.path} {why}; it was left untouched",
            hint="repair it by hand, or move it away and run kbooks install again",
        )

    def _write(self, data: dict[str, Any]) -> None:
        ensure_private_dir(self.home)
        write_private(self.path, json.dumps(data, indent=2, sort_keys=True) + "\n")

    # ---------------------------------------------------------------- API

    def connections(self, book: str | None = None) -> list[StoredConnection]:
        """Every stored connection (of ``book`` when given), default first."""
        data = self._read()
        found = []
        for book_name, entry in sorted(data["books"].items()):
            if book is not None and book_name != book:
                continue
            for name, conn in sorted(entry["connections"].items()):
                found.append(_stored(book_name, name, conn, entry.get("default") == name))
        return sorted(found, key=lambda c: (c.book, not c.default, c.name))

    def check(self) -> None:
        """Raise :class:`ConfigurationError` if the store exists and cannot be read as a
        store; before anything is verified or written."""
        self._read()

    def get(self, book: str, name: str | None = None) -> StoredConnection | None:
        """The connection ``name`` of ``book`` (its default when ``name`` is None)."""
        data = self._read()
        entry = data["books"].get(book)
        if not entry:
            return None
        name = name or entry.get("default")
        conn = entry["connections"].get(name) if name else None
        if conn is None:
            return None
        return _stored(book, name, conn, entry.get("default") == name)

    def save(self, book: str, name: str, credentials: Mapping[str, str],
             settings: Mapping[str, str], mode: str, *, make_default: bool = False) -> None:
        """Add or replace a connection. The first connection of a book is its default."""
        data = self._read()
        entry = data["books"].setdefault(book, {"default": None, "connections": {}})
        entry["connections"][name] = {
            "credentials": dict(credentials),
            "settings": dict(settings),
            "mode": mode,
            "created": time.time(),
        }
        if make_default or not entry.get("default") or entry["default"] not in entry[
                "connections"]:
            entry["default"] = name
        self._write(data)

    def remove(self, book: str, name: str | None = None) -> list[str]:
        """Remove one connection (or all of ``book``'s); returns the names removed."""
        data = self._read()
        entry = data["books"].get(book)
        if not entry:
            return []
        if name is None:
            removed = sorted(entry["connections"])
            del data["books"][book]
        else:
            if name not in entry["connections"]:
                return []
            removed = [name]
            del entry["connections"][name]
            if not entry["connections"]:
                del data["books"][book]
            elif entry.get("default") == name:
                entry["default"] = sorted(entry["connections"])[0]
        self._write(data)
        return removed

    def set_default(self, book: str, name: str) -> None:
        data = self._read()
        entry = data["books"].get(book)
        if not entry or name not in entry["connections"]:
            raise ConfigurationError(f"{book} has no connection named {name!r}",
                                     hint="kbooks connections lists them")
        entry["default"] = name
        self._write(data)


def _stored(book: str, name: str, conn: Mapping[str, Any], default: bool) -> StoredConnection:
    return StoredConnection(
        book=book,
        name=name,
        credentials={k: Secret(v) for k, v in conn["credentials"].items()},
        settings=dict(conn.get("settings", {})),
        mode=conn.get("mode", "test"),
        default=default,
        created=conn.get("created", 0.0),
    )


def _text_map(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str)
                                           for k, v in value.items())


def _shape_problem(data: Any) -> str | None:
    """What is wrong with a store's content (a hand edit, a newer kbooks), or None.

    Everything that is read back is checked here, so that a damaged store is reported as
    such rather than failing later in some other way, or being written over by an install.
    """
    if not isinstance(data, dict) or not isinstance(data.get("books"), dict):
        return "does not have the expected layout (a 'books' object)"
    version = data.get("version", STORE_VERSION)
    if not isinstance(version, int) or isinstance(version, bool) or version > STORE_VERSION:
        return (f"has version {version!r}, which this kbooks does not know (it writes "
                f"version {STORE_VERSION}); it may come from a newer kbooks")
    for book, entry in data["books"].items():
        if not isinstance(entry, dict) or not isinstance(entry.get("connections"), dict):
            return f"has a malformed entry for {book!r}"
        default = entry.get("default")
        if default is not None and (not isinstance(default, str)
                                    or default not in entry["connections"]):
            return f"names {default!r} as the default connection of {book}, which it lacks"
        for name, conn in entry["connections"].items():
            if (not isinstance(conn, dict) or not _text_map(conn.get("credentials"))
                    or not _text_map(conn.get("settings", {}))
                    or not isinstance(conn.get("mode", "test"), str)
                    or isinstance(conn.get("created", 0.0), bool)
                    or not isinstance(conn.get("created", 0.0), int | float)):
                return f"has a malformed connection {book}/{name}"
    return None


# -------------------------------------------------------------------- prompting


def ask_credentials(
    book: Book,
    *,
    stdin: IO[str] | None = None,
    stderr: IO[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, Secret]:
    """Collect every credential ``book`` declares, checking each value's format.

    Environment variables win; otherwise a terminal gets a hidden prompt, and
    non-terminal standard input is read one value per line.
    """
    stdin = stdin or sys.stdin
    stderr = stderr or sys.stderr
    environ = os.environ if environ is None else environ
    values: dict[str, Secret] = {}
    for cred in book.credentials:
        value = environ.get(env_name(book.name, cred.name))
        if value is None:
            value = _prompt(cred, stdin, stderr)
        value = value.strip()
        problem = cred.problem(value)
        if problem:
            shown = mask(value) if cred.secret else value
            raise CredentialsRejected(
                f"{problem} (got {shown!r})" if value else problem,
                hint=cred.help or None,
            )
        values[cred.name] = Secret(value)
    return values


def _prompt(cred: Credential, stdin: IO[str] | None, stderr: IO[str]) -> str:
    label = f"{cred.label}: "
    if stdin is None:  # closed (kbooks install BOOK <&-)
        raise CredentialsRejected(f"no value for {cred.label}: standard input is closed",
                                  hint="pipe one value per line, or set the environment "
                                  "variable")
    if stdin.isatty():
        if cred.secret:
            try:
                return getpass.getpass(label, stream=stderr)  # type: ignore[arg-type]
            except EOFError:
                return ""
        stderr.write(label)
        stderr.flush()
        return _read_line(cred, stdin)
    line = _read_line(cred, stdin)
    if not line:
        raise CredentialsRejected(
            f"no value for {cred.label}: standard input ended",
            hint="pipe one value per line, or set the environment variable",
        )
    return line


def _read_line(cred: Credential, stdin: IO[str]) -> str:
    line = stdin.readline(MAX_ANSWER + 1)
    if len(line.rstrip("\r\n")) > MAX_ANSWER:
        raise CredentialsRejected(
            f"the value for {cred.label} is longer than {MAX_ANSWER:,} characters",
            hint="pipe one value per line, or set the environment variable")
    return line
