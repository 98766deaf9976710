"""Asking for credentials, checking them, and keeping them safe.

The store is one JSON file, ``credentials.json``, in the kbooks home directory
(``$KBOOKS_HOME``, else the user config directory). The directory is kept at mode 0700
and the file at 0600: a loosened mode is tightened whenever the store is read or written,
and a directory or file of another user is refused, never read or changed. Every change
(install, uninstall, a new default) reads and writes the store under a lock on the home
directory, so concurrent changes are all kept; it writes ``.credentials.json.tmp`` and
renames it over the old store, so a crash never leaves half a store, and a copy left by a
writer that was killed is removed by the next change. A store that cannot be read is
reported, never overwritten; so is a FIFO, a device, a directory or a link in its place.

Where a credential comes from, first match wins:

1. the environment variable ``KBOOKS_<BOOK>_<FIELD>`` (``KBOOKS_STRIPE_PAY_API_KEY``);
2. at install time, the prompt (hidden on a terminal; one line of standard input
   otherwise); at run time, the stored connection.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any

import attrs

from .catalog import home
from .model import Book, ConfigurationError, Credential, CredentialsRejected, Secret, mask

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Windows
    fcntl = None  # type: ignore[assignment]

STORE_NAME = "credentials.json"
STORE_VERSION = 1
#: What the store is written to before it is renamed into place. Only the holder of the
#: lock writes it, so the name can be fixed, and the next change removes what a writer
#: killed before its rename left (and the random-named copies of older kbooks).
TEMPORARY = f".{STORE_NAME}.tmp"
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
# A FIFO put in the store's place answers at once (with nothing) instead of waiting for a
# writer, so that it is refused rather than hanging the command.
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
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
    """Create ``path`` if needed and make sure only its owner can enter it (0700). A
    directory of another user is refused (:class:`ConfigurationError`), never changed."""
    fd = _open_private_dir(path, create=True)
    assert fd is not None
    os.close(fd)
    return path


def _open_private_dir(path: Path, *, create: bool) -> int | None:
    """``path`` opened, checked to be a directory of this user and made 0700 (through the
    descriptor, so what is checked is what is used); None if it does not exist and
    ``create`` is false."""
    if create:
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # KBOOKS_HOME names a file, or a place that cannot be written
            why = "it is not a directory" if isinstance(exc, FileExistsError) else (
                exc.strerror or str(exc))
            raise ConfigurationError(f"cannot keep files in {path}: {why}",
                                     hint="KBOOKS_HOME must name a directory you can write "
                                     "to") from None
    try:
        fd = os.open(path, os.O_RDONLY | _DIRECTORY | os.O_CLOEXEC)
    except FileNotFoundError:
        if create:
            raise
        return None
    except NotADirectoryError:
        raise ConfigurationError(f"cannot keep files in {path}: it is not a directory",
                                 hint="KBOOKS_HOME must name a directory you can write "
                                 "to") from None
    try:
        found = os.fstat(fd)
        if _not_mine(found):
            # It may be a trap set to collect what is written there: refused, not changed.
            raise ConfigurationError(
                f"the directory {path} belongs to another user (uid {found.st_uid}); kbooks "
                "keeps keys only where no one else can read or change them",
                hint=f"set KBOOKS_HOME to a directory of your own, or make this one yours: "
                f"chown {os.geteuid()} {path} && chmod 700 {path}")
        problem = _tighten(fd, found, 0o700)
        if problem:
            raise ConfigurationError(
                f"the directory {path} is open to other users "
                f"(mode {stat.S_IMODE(found.st_mode):o}) and cannot be made private "
                f"({problem})", hint=f"chmod 700 {path}")
    except BaseException:
        os.close(fd)
        raise
    return fd


def _not_mine(found: os.stat_result) -> bool:
    return hasattr(os, "geteuid") and found.st_uid != os.geteuid()


def _tighten(fd: int, found: os.stat_result, wanted: int) -> str | None:
    """Give the open file ``fd`` mode ``wanted``; why that failed, if it did and the mode
    lets others in (a mode that is only stricter than wanted is fine as it is)."""
    if stat.S_IMODE(found.st_mode) == wanted:
        return None
    try:
        os.fchmod(fd, wanted)
    except OSError as exc:
        if found.st_mode & 0o077:
            return exc.strerror or type(exc).__name__
    return None


def _kind(mode: int) -> str:
    for test, kind in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a device"),
                       (stat.S_ISBLK, "a device"), (stat.S_ISDIR, "a directory"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISLNK, "a symbolic link")):
        if test(mode):
            return kind
    return "not a file"


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

    def _read(self, home: int | None = None) -> dict[str, Any]:
        """The store's content, checked; ``home`` is the home directory when the caller
        holds it locked. Reading needs no lock: the store is only ever replaced whole."""
        if home is not None:
            return self._load(home)
        opened = _open_private_dir(self.home, create=False)
        if opened is None:
            return {"version": STORE_VERSION, "books": {}}
        try:
            return self._load(opened)
        finally:
            os.close(opened)

    def _load(self, home: int) -> dict[str, Any]:
        try:
            found = os.lstat(STORE_NAME, dir_fd=home)
            if not stat.S_ISREG(found.st_mode):
                raise self._not_a_file(found.st_mode)
            fd = os.open(STORE_NAME, os.O_RDONLY | _NOFOLLOW | _NONBLOCK | os.O_CLOEXEC,
                         dir_fd=home)
        except FileNotFoundError:
            return {"version": STORE_VERSION, "books": {}}
        except OSError as exc:
            raise self._corrupt(f"cannot be read ({type(exc).__name__})") from None
        with os.fdopen(fd, "rb") as fh:
            found = os.fstat(fd)  # what was opened, should it have been swapped since
            if not stat.S_ISREG(found.st_mode):
                raise self._not_a_file(found.st_mode)
            if _not_mine(found):
                raise self._corrupt(
                    f"belongs to another user (uid {found.st_uid})",
                    hint="kbooks reads keys only from a file of its own user: move it away "
                    "and run kbooks install again")
            problem = _tighten(fd, found, 0o600)
            if problem:
                raise self._corrupt(f"is open to other users and cannot be made private "
                                    f"({problem})", hint=f"chmod 600 {self.path}")
            try:
                text = fh.read().decode("utf-8")
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

    def _corrupt(self, why: str, hint: str | None = None) -> ConfigurationError:
        return ConfigurationError(
            f"the credential store {self.path} {why}; it was left untouched",
            hint=hint or "repair it by hand, or move it away and run kbooks install again",
        )

    def _not_a_file(self, mode: int) -> ConfigurationError:
        kind = _kind(mode)
        if stat.S_ISLNK(mode):
            # Followed, it would be read from one place and replaced by a file in another.
            with contextlib.suppress(OSError):
                kind += f" to {os.readlink(self.path)}"
            return self._corrupt(f"is {kind}, not a regular file",
                                 hint="kbooks keeps the store as a file of its own: put the "
                                 "file itself in the link's place")
        return self._corrupt(f"is {kind}, not a regular file",
                             hint="move it away and run kbooks install again")

    @contextlib.contextmanager
    def _locked(self) -> Iterator[int]:
        """The home directory, created if needed, locked against other processes' changes
        to the store for the block (the lock is on the directory itself, so no file is
        left for it). Copies left by writers that were killed are removed first."""
        home = _open_private_dir(self.home, create=True)
        assert home is not None
        try:
            if fcntl is not None:
                fcntl.flock(home, fcntl.LOCK_EX)
            for name in os.listdir(home):
                if name.startswith(f".{STORE_NAME}."):
                    with contextlib.suppress(FileNotFoundError, IsADirectoryError,
                                             PermissionError):
                        os.unlink(name, dir_fd=home)
            yield home
        finally:
            os.close(home)  # (which lets go of the lock)

    def _write(self, home: int, data: dict[str, Any]) -> None:
        """Replace the store with ``data`` (0600, atomically); the caller holds the lock."""
        fd = os.open(TEMPORARY, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW
                     | os.O_CLOEXEC, 0o600, dir_fd=home)
        try:
            os.fchmod(fd, 0o600)  # (whatever the umask)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(json.dumps(data, indent=2, sort_keys=True) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(TEMPORARY, STORE_NAME, src_dir_fd=home, dst_dir_fd=home)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(TEMPORARY, dir_fd=home)
            raise
        with contextlib.suppress(OSError):  # not every file system syncs a directory
            os.fsync(home)  # so that the rename survives a power loss too

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
        with self._locked() as home:
            data = self._read(home)
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
            self._write(home, data)

    def remove(self, book: str, name: str | None = None) -> list[str]:
        """Remove one connection (or all of ``book``'s); returns the names removed."""
        with self._locked() as home:
            data = self._read(home)
            entry = data["books"].get(book)
            if not entry:
                return []
            if name is None:
                removed = sorted(entry["connections"])
                del data["books"][book]
                data.get("endpoints", {}).pop(book, None)
            else:
                if name not in entry["connections"]:
                    return []
                removed = [name]
                del entry["connections"][name]
                data.get("endpoints", {}).get(book, {}).pop(name, None)
                if not entry["connections"]:
                    del data["books"][book]
                elif entry.get("default") == name:
                    entry["default"] = sorted(entry["connections"])[0]
            self._write(home, data)
        return removed

    # ---------------------------------------------------------------- endpoints

    def endpoint(self, book: str, name: str, url: str) -> tuple[str, Secret] | None:
        """The id and signing secret of the event endpoint registered for ``url`` with the
        connection ``book``/``name`` (``environment`` for the environment's credentials),
        when one was stored."""
        found = self._read().get("endpoints", {}).get(book, {}).get(name, {}).get(url)
        return None if found is None else (found["id"], Secret(found["secret"]))

    def save_endpoint(self, book: str, name: str, url: str, endpoint_id: str,
                      secret: Secret) -> None:
        """Keep the signing secret of the endpoint ``endpoint_id`` for ``url``."""
        with self._locked() as home:
            data = self._read(home)
            kept = data.setdefault("endpoints", {}).setdefault(book, {}).setdefault(name, {})
            kept[url] = {"id": endpoint_id, "secret": secret.reveal()}
            self._write(home, data)

    def forget_endpoint(self, book: str, name: str, url: str) -> bool:
        """Forget the endpoint stored for ``url``; False when there was none."""
        with self._locked() as home:
            data = self._read(home)
            kept = data.get("endpoints", {}).get(book, {}).get(name, {})
            if url not in kept:
                return False
            del kept[url]
            self._write(home, data)
        return True

    def set_default(self, book: str, name: str) -> None:
        """Make ``name`` the default connection of ``book``."""
        with self._locked() as home:
            data = self._read(home)
            entry = data["books"].get(book)
            if not entry or name not in entry["connections"]:
                raise ConfigurationError(f"{book} has no connection named {name!r}",
                                         hint="kbooks connections lists them")
            entry["default"] = name
            self._write(home, data)


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


def _endpoints_ok(value: Any) -> bool:
    """``{book: {connection: {url: {"id", "secret"}}}}``"""
    return isinstance(value, dict) and all(
        isinstance(names, dict) and all(
            isinstance(urls, dict) and all(
                _text_map(found) and {"id", "secret"} <= set(found) for found in urls.values())
            for urls in names.values())
        for names in value.values())


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
    if not _endpoints_ok(data.get("endpoints", {})):
        return "has a malformed list of event endpoints"
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
            import getpass

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
