"""``kbooks``: install books, manage connections, list and call procedures.

Thin on purpose: every command is a few lines over :class:`Runtime`. Errors become one
clear line (and a hint) with an exit code; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    import argparse

    from .plugins import Plugins
    from .runtime import Runtime

PROG = "kbooks"

DESCRIPTION = """\
Automate services in plain English with installable books.

Start here:
  kbooks books                       which books are installed, and whether they work
  kbooks install stripe_pay          connect a book (you are asked for its API key)
  kbooks procedures stripe_pay       what you can ask the book to do
  kbooks call "get a customer from stripe" email=jo@example.com
  kbooks run invoice.kog --dry-run   check an automation and see what it would send
  kbooks run invoice.kog             run it, one English command a line
"""

EPILOG = """\
environment:
  KBOOKS_HOME           where connections are stored (default: your config directory)
  KBOOKS_<BOOK>_<FIELD> a credential or setting, e.g. KBOOKS_STRIPE_PAY_API_KEY;
                        it wins over the stored value
  KBOOKS_DISABLE        books to ignore, comma-separated (e.g. stripe_pay)
  KBOOKS_TRACE=1        print every hook call to standard error
"""


def _version() -> str:
    from . import __version__

    return f"kbooks {__version__}"


_FORMATTER: list[Any] = []


def _formatter() -> type[argparse.HelpFormatter]:
    """argparse's formatter, told the terminal's width up front (argparse would import
    shutil for it on every start, even when no help is printed); made on first use, as
    ``kbooks run FILE`` parses its command line without argparse."""
    if not _FORMATTER:
        import argparse

        class Formatter(argparse.RawDescriptionHelpFormatter):
            def __init__(self, prog: str, indent_increment: int = 2,
                         max_help_position: int = 24, width: int | None = None) -> None:
                super().__init__(prog, indent_increment, max_help_position,
                                 _terminal_width() - 2 if width is None else width)

        _FORMATTER.append(Formatter)
    return _FORMATTER[0]  # type: ignore[no-any-return]


def _terminal_width() -> int:
    """``$COLUMNS``, else the terminal's width, else 80."""
    try:
        return int(os.environ.get("COLUMNS", "")) or os.get_terminal_size().columns
    except (ValueError, OSError):
        return 80


RUN_HELP = "run an English automation (a file, or - for standard input)"
RUN_DESCRIPTION = (
    "Run an automation: one English command per line. The whole file is checked\n"
    "first; if anything is wrong nothing runs (exit 2). A failing step stops the\n"
    "run (exit 1) and the report says which steps already took effect.\n\n"
    "  kbooks run invoice.kog\n"
    "  kbooks run invoice.kog --dry-run        # show the requests, send none\n"
    "  kbooks run welcome.kog --each customers.csv   # once per row, paced\n"
    "  kbooks run --resume run_1a2b3c          # finish an interrupted run\n"
    "  kbooks run fixed.kog --resume run_1a2b3c   # ... with the automation edited\n\n"
    "exit codes: 0 success, 1 a step failed, 2 invalid automation or usage")


#: The options of ``kbooks run``: each one's flags and ``add_argument`` keywords.
RUN_OPTIONS: tuple[tuple[tuple[str, ...], dict[str, Any]], ...] = (
    (("file",), dict(nargs="?", help="the automation file (*.kog), or - for stdin")),
    (("--json",), dict(action="store_true",
                       help="one JSON object per step, then a summary")),
    (("--dry-run",), dict(action="store_true",
                          help="check and print the requests that would be sent; send "
                               "nothing")),
    (("--preview",), dict(action="store_true",
                          help="send the reads and no write: show every write it would "
                               "make, per record, with totals per currency")),
    (("--connection",), dict(metavar="NAME", help="use this stored connection")),
    (("--yes",), dict(action="store_true",
                      help="confirm delete, void and pay steps on a live connection")),
    (("--each",), dict(metavar="ROWS.csv",
                       help="run once per CSV row; refer to cells as the row's COLUMN")),
    (("--concurrency",), dict(type=int, metavar="N",
                              help="rows run at the same time with --each (default: as "
                                   "many as the rate needs, from how long steps take)")),
    (("--rate",), dict(type=float, metavar="PER_SECOND",
                       help="at most this many steps a second with --each (default: 25 "
                            "test, 100 live; 0 for no limit)")),
    (("--fail-fast",), dict(action="store_true",
                            help="with --each, stop at the first failed row")),
    (("--resume",), dict(metavar="RUN_ID",
                         help="finish a run that stopped, on the connection it ran on; "
                              "with a file, go on with that automation (edited where "
                              "nothing took effect yet)")),
    (("--retries",), dict(type=int, metavar="N",
                          help="send a step again up to N times when it fails in passing "
                               "(network, rate limit, server error), with the same "
                               "idempotency key (default 2)")),
    (("--retry-delay",), dict(type=float, metavar="SECONDS",
                              help="wait before the first such retry, doubling after "
                                   "(default 1)")),
)


def _run_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``kbooks run``."""
    for flags, options in RUN_OPTIONS:
        p.add_argument(*flags, **options)


def _run_defaults() -> dict[str, Any]:
    """What ``kbooks run`` takes each option to be when it is not given (as argparse does:
    False for a flag, else None)."""
    return {flags[0].lstrip("-").replace("-", "_"): options.get(
        "default", False if options.get("action") == "store_true" else None)
        for flags, options in RUN_OPTIONS}


def build_parser(plugins: Plugins | None,
                 book_commands: Sequence[Sequence[str]] = ()) -> argparse.ArgumentParser:
    """The full command-line parser, including commands that books contribute. Without
    ``plugins``, ``book_commands`` (name, help) stand for them, enough to print the help."""
    import argparse

    parser = argparse.ArgumentParser(
        prog=PROG, description=DESCRIPTION, epilog=EPILOG,
        formatter_class=_formatter(),
    )
    parser.add_argument("--version", action="version", version=_version())
    parser.add_argument("--debug", action="store_true",
                        help="show a traceback when something fails")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(name: str, help: str, run: Callable[[argparse.Namespace], int],
            description: str | None = None) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=description or help,
                           formatter_class=_formatter())
        p.set_defaults(run=run)
        return p

    p = add("books", "list installed books and their state", cmd_books)
    p.add_argument("--json", action="store_true", help="print JSON")

    p = add("install", "connect a book: ask for its credentials, verify and store them",
            cmd_install, description=(
                "Connect a book. You are asked for each credential (hidden on a terminal;\n"
                "read one per line from standard input otherwise). KBOOKS_<BOOK>_<FIELD>\n"
                "environment variables answer instead of the prompt. The credentials are\n"
                "checked, verified with the service, then stored (file mode 0600).\n\n"
                "  kbooks install stripe_pay\n"
                "  kbooks install stripe_pay --connection sandbox "
                "--set api_base=http://127.0.0.1:12111"))
    p.add_argument("book", help="the book's name, e.g. stripe_pay")
    p.add_argument("--connection", default="default", metavar="NAME",
                   help="name of this connection (default: %(default)s)")
    p.add_argument("--set", action="append", default=[], metavar="SETTING=VALUE",
                   help="a book setting, e.g. api_base=URL (repeatable)")
    p.add_argument("--default", action="store_true",
                   help="make this the book's default connection")

    p = add("uninstall", "forget a book's connection (all of them without --connection)",
            cmd_uninstall)
    p.add_argument("book")
    p.add_argument("--connection", metavar="NAME")

    p = add("connections", "list stored connections, secrets masked", cmd_connections)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--default", metavar="BOOK/NAME",
                   help="make the stored connection NAME the default of BOOK")

    p = add("procedures", "list what books can do, with their inputs", cmd_procedures,
            description=(
                "List what books can do, with their inputs: every book's, one book's, or\n"
                "what one book can do with one noun (by name, plural or alias).\n\n"
                "  kbooks procedures\n"
                "  kbooks procedures stripe_pay\n"
                "  kbooks procedures stripe_pay invoice"))
    p.add_argument("book", nargs="?")
    p.add_argument("noun", nargs="?", help="only this noun's procedures, e.g. invoice")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = add("call", "call one procedure by name with FIELD=VALUE inputs", cmd_call,
            description=(
                "Call one procedure. FIELD=VALUE passes text; FIELD:=JSON passes a number,\n"
                "true/false or a JSON object.\n\n"
                '  kbooks call "create a customer in stripe" email=jo@example.com name="Jo"\n'
                '  kbooks call stripe_pay.price.create unit_amount:=1000 currency=usd '
                "product=prod_123"))
    p.add_argument("procedure", help="English name or id (see kbooks procedures)")
    p.add_argument("inputs", nargs="*", metavar="FIELD=VALUE")
    p.add_argument("--connection", metavar="NAME")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--yes", action="store_true",
                   help="confirm a delete, void or pay on a live connection")

    p = add("run", RUN_HELP, cmd_run, description=RUN_DESCRIPTION)
    _run_arguments(p)

    p = add("runs", "list recent runs from the journal, or show one run's steps", cmd_runs,
            description=(
                "List recent runs from the journal, newest first; with a run's id, show that\n"
                "run and each of its steps (row, step, line, command, state, record, error).\n\n"
                "  kbooks runs\n"
                "  kbooks runs run_1a2b3c"))
    p.add_argument("run_id", nargs="?", metavar="RUN_ID", help="show this run's steps")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--limit", type=int, default=20, help="runs listed (default: %(default)s)")

    from .triggers import commands as triggers

    p = add("listen", triggers.LISTEN_HELP, cmd_listen,
            description=triggers.LISTEN_DESCRIPTION)
    triggers.configure_listen(p)
    p = add("events", triggers.EVENTS_HELP, cmd_events,
            description=triggers.EVENTS_DESCRIPTION)
    triggers.configure_events(p)

    p = add("mcp", "serve the books' procedures as tools to agents (Model Context Protocol)",
            cmd_mcp, description=MCP_DESCRIPTION)
    p.add_argument("--connection", metavar="NAME", help="use this stored connection")
    p.add_argument("--http", action="store_true",
                   help="serve streamable HTTP at http://HOST:PORT/mcp instead of standard "
                        "input/output")
    p.add_argument("--host", default="127.0.0.1",
                   help="with --http, the address to listen on (default: %(default)s)")
    p.add_argument("--port", type=int, default=8000,
                   help="with --http, the port (default: %(default)s)")

    books_added: list[list[str]] = []  # (name, help) of the books' commands

    def register(name: str, *, help: str, configure: Callable[[argparse.ArgumentParser], None],
                 run: Callable[[argparse.Namespace], int]) -> None:
        if name in sub.choices:
            raise ValueError(f"command {name!r} is already taken")
        p = add(name, help, run)
        configure(p)
        books_added.append([name, help])

    for name, help in book_commands:
        add(name, help, _missing_command)
    for status in plugins.statuses() if plugins is not None else ():
        if status.state != "ok":
            continue
        try:
            plugins.register_commands(status.name, register)  # type: ignore[union-attr]
        except Exception as exc:  # one book's bad command must not break the CLI
            print(f"{PROG}: warning: {status.name} could not add its commands: {exc}",
                  file=sys.stderr)
    parser.set_defaults(book_commands=books_added)
    return parser


def _missing_command(args: argparse.Namespace) -> int:  # pragma: no cover - never run
    raise AssertionError("a command kept for the help was run")


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["--version"]:
        # Answer without loading any book.
        print(_version())
        return 0
    if args_list[:1] == ["procedures"] and 2 <= len(args_list) <= 4:
        # What a book can do, kept from the last time it was listed (see catalog.py): no
        # book, SDK or schema is loaded while nothing it was made from has changed.
        from . import catalog

        words = args_list[1:]
        as_json = "--json" in words
        rest = [w for w in words if w != "--json"]
        if 1 <= len(rest) <= 2 and not any(w.startswith("-") for w in rest):
            rows = catalog.load_procedures(catalog.fingerprint(), rest[0],
                                           rest[1] if len(rest) == 2 else None,
                                           terminal_width=_terminal_width())
            if rows is not None:
                return show_procedures(rows, as_json=as_json)
    kept_between_runs = args_list in ([], ["--help"], ["-h"], ["books"], ["books", "--json"])
    if kept_between_runs:
        # What these show is kept between runs (see catalog.py): no book is loaded.
        from . import catalog

        now = catalog.fingerprint()
        kept = catalog.load(now)
        if kept is not None:
            if args_list[:1] == ["books"]:
                return show_books(kept["books"], as_json=args_list[1:] == ["--json"])
            build_parser(None, kept["commands"]).print_help()
            return 0
    from .plugins import Plugins

    plugins = Plugins()
    args = _quick_run(args_list)
    if args is None:
        parser = build_parser(plugins)
        if kept_between_runs:  # (before --help prints and exits)
            catalog.save(now, book_rows(plugins.statuses()),
                         parser.get_default("book_commands"))
        args = parser.parse_args(args_list)
    if not getattr(args, "run", None):
        parser.print_help()
        return 0
    args.plugins = plugins
    try:
        return int(args.run(args) or 0)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (kbooks procedures | head); stop quietly, like other tools.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:
        return report(exc, debug=args.debug)


class _NotQuick(Exception):
    """The command line is not one the quick ``run`` parser takes as it is."""


def _quick_run(args: list[str]) -> Any:
    """``kbooks run ...`` parsed without the parser of every command and of the books'
    commands (which loads every book, and each book's commands), or None for anything
    that command line would not parse to as it is: another command, help, a mistake (the
    full parser says what is wrong), a global option. ``kbooks run FILE`` alone needs no
    argparse at all: every option is as :func:`_run_defaults` says."""
    if args[:1] != ["run"] or "-h" in args or "--help" in args:
        return None
    found: Any
    if len(args) == 2 and not args[1].startswith("-"):
        from types import SimpleNamespace

        found = SimpleNamespace(**{**_run_defaults(), "file": args[1]})
    else:
        import argparse

        class QuickParser(argparse.ArgumentParser):
            def error(self, message: str) -> NoReturn:
                raise _NotQuick(message)

        parser = QuickParser(prog=f"{PROG} run", description=RUN_DESCRIPTION,
                             formatter_class=_formatter())
        _run_arguments(parser)
        try:
            found = parser.parse_args(args[1:])
        except _NotQuick:
            return None
    found.command, found.run, found.debug = "run", cmd_run, False
    return found


def report(exc: BaseException, *, debug: bool = False) -> int:
    """Print ``exc`` as one line (plus a hint) and return its exit code."""
    from .model import KbooksError

    if debug:
        import traceback

        traceback.print_exception(exc)
    if isinstance(exc, KbooksError):
        render = getattr(exc, "render", None)
        if callable(render):
            # errors with a place render themselves: location, line, caret and hint
            print(render(), file=sys.stderr)
        else:
            print(f"{PROG}: error: {exc.message}", file=sys.stderr)
            if exc.hint:
                print(f"  hint: {exc.hint}", file=sys.stderr)
        return exc.exit_code
    print(f"{PROG}: error: unexpected {type(exc).__name__}: {exc}", file=sys.stderr)
    if not debug:
        print("  hint: run again with --debug for the traceback", file=sys.stderr)
    return 1


def _runtime(args: argparse.Namespace) -> Runtime:
    return _kept_runtime()(plugins=args.plugins, connection=getattr(args, "connection", None))


_KEPT_RUNTIME: list[Any] = []


def _kept_runtime() -> type[Runtime]:
    """:class:`Runtime` keeping, between runs of ``kbooks``, each book's ``describe_inputs``
    answers and each checked automation (see ``catalog.py``), made on first use."""
    if _KEPT_RUNTIME:
        return _KEPT_RUNTIME[0]  # type: ignore[no-any-return]
    import hashlib

    from . import catalog
    from .runtime import Runtime

    class KeptRuntime(Runtime):
        """What it checks is kept under a digest of everything the check depends on:
        every distribution installed, the books' and the host's files, the Python version,
        ``KBOOKS_DISABLE`` (the catalog's fingerprint), and with each automation its text,
        name, the context and columns it is checked with, each book's time zone and the
        zone database's files. Nothing is kept while a book is broken, with
        ``KBOOKS_TRACE``, or once the books change in this process."""

        _kept: tuple[int, str | None] | None = None
        _kept_inputs: dict[str, Any] | None = None
        _inputs_changed = False

        def kept_digest(self) -> str | None:
            """The digest what is kept is kept under (None: keep nothing)."""
            if self._kept is None:
                found = catalog.digest(catalog.fingerprint())
                if found is not None and any(s.state == "broken"
                                             for s in self.plugins.statuses()):
                    found = None
                self._kept = (self.plugins.generation, found)
            generation, found = self._kept
            return found if generation == self.plugins.generation else None

        def inputs(self, book: str, noun: str, verb: str) -> tuple[Any, ...]:
            kept = self.kept_digest()
            if kept is None:
                return super().inputs(book, noun, verb)
            if self._kept_inputs is None:
                found = catalog.load_kept(kept, ["inputs"])
                self._kept_inputs = found if isinstance(found, dict) else {}
            name = "\0".join((book, noun, verb))
            fields = self._kept_inputs.get(name)
            if fields is None:
                fields = self._kept_inputs[name] = super().inputs(book, noun, verb)
                self._inputs_changed = True
            return fields  # type: ignore[no-any-return]

        def check(self, text: str, *, source_name: str = "<automation>",
                  given: Iterable[str] = (), columns: Iterable[str] | None = None
                  ) -> list[Any]:
            kept = self.kept_digest()
            if kept is None:
                return super().check(text, source_name=source_name, given=given,
                                     columns=columns)
            from .checker import Program

            zones = [[b.name, self.time_zone(b.name)] for b in self.plugins.books()]
            key = ["program", hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest(),
                   source_name, sorted(given), None if columns is None else sorted(columns),
                   zones]
            found = catalog.load_kept(kept, key)
            if isinstance(found, dict) and isinstance(found.get("program"), Program) and \
                    catalog.zones_now(found["zones"]) == found["zone_files"]:
                return found["program"]
            try:
                steps = super().check(text, source_name=source_name, given=given,
                                      columns=columns)
            finally:
                if self._inputs_changed:
                    self._inputs_changed = not catalog.keep(kept, ["inputs"],
                                                            self._kept_inputs)
            # the zones its dates were read in: the books' and the one the text names
            from .language import ast
            from .language.parser import parse

            used = sorted({zone for _, zone in zones} | {
                s.name.value for s in parse(text, source_name).statements
                if isinstance(s, ast.Zone)})
            catalog.keep(kept, key, {"program": steps, "zones": used,
                                     "zone_files": catalog.zones_now(used)})
            return steps

    _KEPT_RUNTIME.append(KeptRuntime)
    return KeptRuntime


def _automation_text(rt: Runtime, path: str) -> str:
    """The automation in the file ``path``, as ``read_automation`` reads it. Bytes read
    before are answered from what was kept (see :func:`_kept_runtime`), without the
    language's parser; a pipe, a device or a large file is read as ever."""
    import stat

    from . import catalog

    kept = rt.kept_digest() if hasattr(rt, "kept_digest") else None
    raw = None
    if kept is not None:
        try:  # (O_NONBLOCK: opening a named pipe does not wait for a writer)
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        except OSError:
            fd = -1
        if fd >= 0:
            try:
                found = os.fstat(fd)
                if stat.S_ISREG(found.st_mode) and found.st_size <= catalog.KEPT_TEXT_LIMIT:
                    with os.fdopen(os.dup(fd), "rb") as fh:
                        raw = fh.read(catalog.KEPT_TEXT_LIMIT + 1)
            except OSError:
                raw = None
            finally:
                os.close(fd)
    if raw is not None:
        import hashlib

        key = ["text", hashlib.sha256(raw).hexdigest()]
        text = catalog.load_kept(kept, key)
        if isinstance(text, str):
            return text
    from .language.parser import AUTOMATION, read_automation

    if raw is None or len(raw) > AUTOMATION.limit:
        return read_automation(path)
    import io

    text = read_automation(io.BytesIO(raw), path)  # (the bytes looked up: no other)
    catalog.keep(kept, key, text)
    return text


# ---------------------------------------------------------------------- commands


def cmd_books(args: argparse.Namespace) -> int:
    return show_books(book_rows(args.plugins.statuses()), as_json=args.json)


def book_rows(statuses: Sequence[Any]) -> list[dict[str, Any]]:
    """Each book as ``kbooks books --json`` shows it."""
    return [{
        "name": s.name, "state": s.state, "reason": s.reason or None,
        "distribution": s.distribution, "version": s.version,
        "title": s.book.title if s.book else None,
        "target": s.book.target if s.book else None,
        "nouns": [n.name for n in s.book.nouns] if s.book else [],
    } for s in statuses]


def show_books(books: Sequence[dict[str, Any]], *, as_json: bool) -> int:
    if as_json:
        import json

        print(json.dumps(list(books), indent=2))
        return 0
    if not books:
        print("No books installed. A book is a Python package; pip install one, e.g. "
              "kognitos-book-stripe-pay.")
        return 0
    for b in books:
        if b["state"] == "ok" and b["title"] is not None:
            nouns = ", ".join(b["nouns"])
            print(f"{b['name']:<14} ok        {b['title']} {b['version'] or ''}".rstrip())
            print(f"{'':<14}           say \"... {b['target']}\"; knows: {nouns}")
        else:
            print(f"{b['name']:<14} {b['state']:<9} {b['reason'] or ''}".rstrip())
    return 0


def cmd_install(args: argparse.Namespace) -> int:
    from .credentials import CredentialStore

    rt = _runtime(args)
    settings = {}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep:
            from .model import ConfigurationError

            raise ConfigurationError(f"--set {item!r} is not SETTING=VALUE")
        settings[key.strip()] = value.strip()
    book = rt.book(args.book)
    print(f"Installing {book.title} ({book.name}) as connection {args.connection!r}.",
          file=sys.stderr)
    conn = rt.install(book.name, connection=args.connection, settings=settings,
                      make_default=args.default)
    store = CredentialStore()
    print(f"Connected: {book.name}/{args.connection} in {conn.mode} mode"
          + (f" ({conn.account})" if conn.account else "")
          + f", key {conn.masked}. Stored in {store.path}")
    return 0


def cmd_uninstall(args: argparse.Namespace) -> int:
    rt = _runtime(args)
    removed = rt.uninstall(args.book, connection=args.connection)
    if not removed:
        from .model import ConfigurationError

        raise ConfigurationError(
            f"no connection to remove for {args.book}"
            + (f" named {args.connection!r}" if args.connection else ""),
            hint="kbooks connections lists what is stored")
    print(f"Removed {args.book}: " + ", ".join(removed))
    return 0


def cmd_connections(args: argparse.Namespace) -> int:
    import json

    from .credentials import CredentialStore

    if args.default:
        book, sep, name = args.default.partition("/")
        if not sep or not book or not name:
            from .model import ConfigurationError

            raise ConfigurationError(f"--default {args.default!r} is not BOOK/NAME",
                                     hint="e.g. kbooks connections --default stripe_pay/live")
        CredentialStore().set_default(book, name)
        print(f"{book}/{name} is now the default connection of {book}.")
        return 0
    conns = CredentialStore().connections()
    rows: list[dict[str, Any]] = [{
        "book": c.book, "name": c.name, "default": c.default, "mode": c.mode,
        "credentials": c.masked, "settings": dict(c.settings),
    } for c in conns]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print("No connections. Add one with: kbooks install BOOK")
        return 0
    for r in rows:
        creds = " ".join(f"{k}={v}" for k, v in r["credentials"].items())
        marker = "*" if r["default"] else " "
        extra = " ".join(f"{k}={v}" for k, v in r["settings"].items())
        print(f"{marker} {r['book']}/{r['name']:<12} {r['mode']:<5} {creds} {extra}".rstrip())
    return 0


def cmd_procedures(args: argparse.Namespace) -> int:
    rt = _runtime(args)
    book = rt.book(args.book) if args.book else None
    procs = rt.procedures(args.book)
    kept = _procedure_rows(rt, procs)
    if book is not None:
        from . import catalog

        nouns = {w: n.name for n in book.nouns for w in (n.name, n.plural, *n.aliases)}
        catalog.save_procedures(catalog.fingerprint(), book.name, nouns, kept,
                                [args.book])
    if args.noun:
        assert book is not None
        noun = book.noun(args.noun)
        if noun is None:
            from .language.errors import closest
            from .model import ConfigurationError

            named = {w: n.name for n in book.nouns for w in (n.name, n.plural, *n.aliases)}
            close = list(dict.fromkeys(named[w] for w in closest(args.noun, named)))
            raise ConfigurationError(
                f"{book.name} has no noun {args.noun!r}"
                + (f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""),
                hint=f"its nouns: {', '.join(n.name for n in book.nouns)}")
        kept = [row for row in kept if row["json"]["noun"] == noun.name]
    return show_procedures(kept, as_json=args.json)


def _procedure_rows(rt: Runtime, procs: Sequence[Any]) -> list[dict[str, Any]]:
    """Each procedure as ``kbooks procedures`` shows it: its JSON, and its lines of text
    (kept between runs by catalog.py, so both must be plain values)."""
    import textwrap

    width = max(40, _terminal_width() - 2)
    rows = []
    for p in procs:
        lines = [f"{p.english}" + (" with" if p.inputs and p.verb != "get" else ""),
                 f"    id: {p.id}"]
        noun = rt.book(p.book).noun(p.noun)
        if p.verb == "add" and noun is not None and noun.parent:
            lines.append(f"    adds to: the {noun.parent} remembered last, or name it: "
                         f'the {noun.parent} is "..."')
        elif p.verb not in ("get", "create"):
            lines.append(f'    acts on: the {p.noun} remembered last, or name it: the id is '
                         '"..."')
        asks = noun is not None and noun.needs_confirmation(p.verb)
        if asks:
            lines.append("    live: asks first on a live connection (--yes confirms)")
        required = [f.name for f in p.inputs if f.required]
        optional = [f.name for f in p.inputs if not f.required]
        for label, names in (("required", required),
                             ("whose" if p.verb == "get" else "inputs", optional)):
            if names:
                lines.append(textwrap.fill(", ".join(names), width=width,
                                           initial_indent=f"    {label}: ",
                                           subsequent_indent=" " * (len(label) + 6),
                                           break_on_hyphens=False))
        rows.append({"text": lines, "json": {
            "id": p.id, "book": p.book, "english": p.english, "verb": p.verb, "noun": p.noun,
            "many": p.many, "needs_confirmation": asks,
            "inputs": [{"name": f.name, "type": f.type, "required": f.required,
                        "choices": list(f.choices)} for f in p.inputs]}})
    return rows


def show_procedures(rows: Sequence[dict[str, Any]], *, as_json: bool) -> int:
    if as_json:
        import json

        print(json.dumps([row["json"] for row in rows], indent=2))
        return 0
    for row in rows:
        print("\n".join(row["text"]))
    return 0


def parse_inputs(items: Sequence[str]) -> dict[str, Any]:
    """``FIELD=text`` and ``FIELD:=json`` command-line inputs to a dict.

    The JSON is strict: ``NaN`` and ``Infinity``, integers of more digits than Python
    reads and nesting deeper than it can follow are refused, and so are bytes that are not
    UTF-8 (the shell passes them on as they are), each as :class:`InvalidCall`.
    """
    import json

    from .model import InvalidCall

    class NotANumber(ValueError):
        pass

    def no_constant(name: str) -> Any:
        raise NotANumber(f"{name} is not a JSON number")

    values: dict[str, Any] = {}
    for item in items:
        if ":=" in item and item.index(":=") < item.find("=") + 1:
            key, sep, raw = item.partition(":=")
        elif "=" in item:
            key, sep, raw = item.partition("=")
        else:
            raise InvalidCall(f"input {item!r} is not FIELD=VALUE or FIELD:=JSON")
        # Python keeps each byte of an argument that is not UTF-8 as U+DC80..U+DCFF
        undecoded = next((c for c in item if "\udc80" <= c <= "\udcff"), None)
        if undecoded is not None:
            raise InvalidCall(f"input {key!r} is not UTF-8 text: byte "
                              f"0x{ord(undecoded) - 0xDC00:02X} cannot be read")
        if sep == "=":
            values[key] = raw
            continue
        try:
            values[key] = json.loads(raw, parse_constant=no_constant)
        except json.JSONDecodeError as exc:
            raise InvalidCall(f"{key}:= needs JSON ({exc.msg}): {raw!r}") from None
        except NotANumber as exc:
            raise InvalidCall(f"{key}:= needs JSON ({exc})") from None
        except ValueError:  # what int() refuses to read
            raise InvalidCall(f"{key}:= takes integers of at most "
                              f"{sys.get_int_max_str_digits():,} digits") from None
        except RecursionError:
            raise InvalidCall(f"{key}:= needs JSON nested less deeply") from None
    return values


def cmd_call(args: argparse.Namespace) -> int:
    import json

    from .automation import NeedsConfirmation
    from .model import Record

    rt = _runtime(args)
    inputs = parse_inputs(args.inputs)
    try:
        result = rt.call(args.procedure, inputs, yes=args.yes)
    except NeedsConfirmation as exc:
        # the same rule as for a run's steps: nothing is sent until it is confirmed
        if not _confirm(exc.question):
            raise
        result = rt.call(args.procedure, inputs, yes=True)
    if result is not None and not isinstance(result, Record) and not args.json:
        return _show_records(result)
    records = [result] if isinstance(result, Record) else list(result or [])
    for record in records:
        if args.json:
            print(json.dumps(dict(record.data), default=str))
        else:
            print(f"{record.noun} {record.id}")
    return 0


def _show_records(result: Iterable[Any]) -> int:
    """A list for people: a line a record, the first :data:`~.automation.COUNT_UPTO` of
    them, then how many there are (counted no further: ``--json`` prints every one)."""
    import itertools

    from .automation import COUNT_UPTO, LazyRecords, shown_of

    records = LazyRecords(result)
    count, complete = records.count(COUNT_UPTO)
    for record in itertools.islice(records, COUNT_UPTO):
        print(f"{record.noun} {record.id}")
    if complete:
        print(f"{count} found" if count else "none found")
    else:
        print(f"… {shown_of(COUNT_UPTO, records)}; --json prints them all")
    return 0


#: The largest rows file ``--each`` reads, in bytes. Rows are held in memory and journaled
#: with the run: a million rows of three short columns (45 MiB) take about 430 MiB once
#: read, and a run of them, at Stripe's 100 requests a second, about three hours.
MAX_ROWS_SIZE = 64 * 1024 * 1024


def _read_rows(path: str) -> list[dict[str, str]]:
    """The rows of a CSV file for ``--each``, keyed by column name (as fields are written).

    Anything but clean CSV is refused with the line at fault before a step runs: a row with
    more or fewer cells than the first line names would shift or drop values silently. The
    file is read as an automation is (:func:`~kognitos_books.language.parser.read_text`):
    UTF-8, no NUL byte, at most :data:`MAX_ROWS_SIZE` bytes, so a device or pipe that never
    ends is refused at that size.
    """
    import csv
    import io

    from .language.errors import LanguageError
    from .language.parser import TextKind, read_text
    from .model import ConfigurationError
    from .runtime import field_key

    line = 0

    def refuse(message: str, hint: str | None = None) -> ConfigurationError:
        return ConfigurationError(f"{path}:{line}: {message}" if line else f"{path}: {message}",
                                  hint=hint)

    try:
        text = read_text(path, TextKind("rows file", MAX_ROWS_SIZE,
                                        f"split the rows into files of at most "
                                        f"{MAX_ROWS_SIZE // 2**20} MiB and run each"))
    except LanguageError as exc:  # said as the rows' other problems are
        raise ConfigurationError(f"{exc.location}: {exc.message}", hint=exc.hint) from None
    rows: list[dict[str, str]] = []
    try:
        with io.StringIO(text, newline="") as fh:
            reader = csv.reader(fh, strict=True)
            header = next(reader, None)
            line = reader.line_num
            if header is None:
                raise refuse("the file is empty", hint="the first line names the columns")
            columns = [field_key(name) for name in header]
            for number, name in enumerate(columns, 1):
                if not name:
                    raise refuse(f"column {number} has no name",
                                 hint="the first line names the columns")
                if columns.index(name) != number - 1:
                    raise refuse(f'the column "{name}" is named twice')
            for cells in reader:
                line = reader.line_num
                if not cells:
                    continue  # a blank line
                if len(cells) != len(columns):
                    raise refuse(f"{len(cells)} cells, but the first line names "
                                 f"{len(columns)} columns",
                                 hint="quote cells that contain commas")
                rows.append(dict(zip(columns, cells, strict=True)))
    except csv.Error as exc:
        line += 1  # the line the row at fault starts on
        if "field limit" in str(exc):
            raise refuse(f"a cell is longer than {csv.field_size_limit():,} characters",
                         hint="a quote that is not closed takes in the lines after it"
                         ) from None
        raise refuse(f"not valid CSV: {exc}") from None
    if not rows:
        raise ConfigurationError(f"{path} has no rows", hint="the first line names the columns")
    return rows


def _confirm(question: str) -> bool:
    """Ask on the terminal (on standard error, so standard output stays the report)."""
    if not sys.stdin.isatty():
        return False
    sys.stderr.write(f"{question} [y/N] ")
    sys.stderr.flush()
    answer = sys.stdin.readline()
    return answer.strip().lower() in ("y", "yes")


class _Report:
    """Prints each step as it finishes: a line for people, or JSON lines.

    A bulk run on a terminal also keeps one progress line on standard error (rows done,
    rate, time left, failures), redrawn at most ten times a second; piped, it shows none.
    """

    #: seconds between redraws of the progress line
    REDRAW = 0.1

    def __init__(self, as_json: bool, bulk: bool) -> None:
        import threading

        self.as_json = as_json
        self.bulk = bulk
        self.tty = sys.stderr.isatty()
        self.shown = False  # a progress line is on the screen
        self.drawn_at = 0.0
        # steps finish on the rows' threads, progress on the main one
        self.lock = threading.Lock()

    def step(self, outcome) -> None:  # type: ignore[no-untyped-def]
        import json

        from .automation import record_json, summarize

        if self.as_json:
            line = json.dumps({
                "row": outcome.row + 1 if self.bulk else None, "step": outcome.step,
                "line": outcome.line, "command": outcome.command, "state": outcome.state,
                "result": record_json(outcome.result),
                "requests": [str(r) for r in outcome.plan.requests] if outcome.plan else None,
                "strategy": outcome.plan.strategy if outcome.plan else None,
                "error": outcome.error, "code": outcome.error_code,
                "request_id": outcome.request_id, "attempts": outcome.attempts,
                "kind": outcome.kind, "scope": list(outcome.scope),
            }, default=str)
            with self.lock:
                print(line, flush=True)
            return
        if outcome.kind in ("say", "show", "stop", "fail"):
            self.said(outcome, summarize)
            return
        if self.bulk and outcome.state != "failed":
            return  # the progress line speaks for rows that went well
        mark = {"succeeded": "ok", "failed": "FAILED", "planned": "plan",
                "restored": "done"}.get(outcome.state, outcome.state)
        where = f"row {outcome.row + 1} " if self.bulk else ""
        head = f"{where}step {outcome.step} (line {outcome.line}) {mark:<6} {outcome.command}"
        if outcome.scope:
            head += f"  (for {' / '.join(outcome.scope)})"
        with self.lock:
            self._clear()
            if outcome.state == "planned" and outcome.plan:
                print(f"{head}\n    strategy: {outcome.plan.strategy}")
                for request in outcome.plan.requests:
                    print(f"    {request}")
            elif outcome.state == "failed":
                print(f"{head}\n    error: {outcome.error}", flush=True)
            else:
                print(f"{head}\n    -> {summarize(outcome.result)}", flush=True)

    def said(self, outcome, summarize) -> None:  # type: ignore[no-untyped-def]
        """What ``say`` and ``show`` put in the run's output, and where ``stop`` or
        ``fail`` ended it."""
        where = f"row {outcome.row + 1} " if self.bulk else ""
        if outcome.kind == "say":
            text = str(outcome.result)
        elif outcome.kind == "show":
            text = summarize(outcome.result)
        elif outcome.kind == "stop":
            text = f"{where}stopped at line {outcome.line}" if outcome.state != "planned" \
                else f"(line {outcome.line}) stop"
        else:
            text = (f"{where}FAILED at line {outcome.line}: {outcome.error}"
                    if outcome.state != "planned" else
                    f"(line {outcome.line}) fail with \"{outcome.error or ''}\"")
        with self.lock:
            self._clear()
            print(text, flush=True)

    def _clear(self) -> None:
        # Take the progress line off the screen so that a report does not run into it; the
        # next redraw puts it back.
        if self.shown:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()
            self.shown = False

    def progress(self, progress) -> None:  # type: ignore[no-untyped-def]
        import time

        if not self.tty or self.as_json:
            return
        now = time.monotonic()
        last = progress.done >= progress.total
        if not last and now - self.drawn_at < self.REDRAW:
            return
        self.drawn_at = now
        elapsed = max(now - progress.started, 1e-6)
        ran = progress.done - progress.restored  # rows a resume took from the journal
        rate = ran / elapsed
        left = f"{(progress.total - progress.done) / rate:4.0f}s left" if rate else "   ?s left"
        width = 24
        filled = int(width * progress.done / max(progress.total, 1))
        bar = "#" * filled + "-" * (width - filled)
        with self.lock:
            sys.stderr.write(f"\r[{bar}] {progress.done}/{progress.total} rows  "
                             f"{rate:5.1f}/s  {left}  {progress.failed} failed\x1b[K")
            self.shown = True
            if last:
                self.close()
            sys.stderr.flush()

    def close(self) -> None:
        """End the progress line (the run finished or stopped early)."""
        if self.shown:
            sys.stderr.write("\n")
            sys.stderr.flush()
            self.shown = False


def cmd_run(args: argparse.Namespace) -> int:
    import time

    from .automation import RetryPolicy
    from .model import ConfigurationError

    rt = _runtime(args)
    report = _Report(args.json, bulk=bool(args.each))
    started = time.monotonic()
    if args.rate is not None and not 0 <= args.rate < float("inf"):  # (nan too)
        raise ConfigurationError("--rate must be 0 (no limit) or a number of steps a second")
    retry = None
    if args.retries is not None or args.retry_delay is not None:
        if args.retries is not None and args.retries < 0:
            raise ConfigurationError("--retries must be 0 or more")
        if args.retry_delay is not None and not args.retry_delay > 0:
            raise ConfigurationError("--retry-delay must be more than 0 seconds")
        default = RetryPolicy()
        retry = RetryPolicy(default.retries if args.retries is None else args.retries,
                            default.delay if args.retry_delay is None else args.retry_delay)
    if args.resume:
        if args.each or args.dry_run:
            raise ConfigurationError("--resume goes on with the run's own rows and sends "
                                     "what is left; it takes no --each or --dry-run")
        edited = None
        if args.file:
            # the automation edited after a failure: allowed where nothing done changes
            from .language import read_automation

            edited = (sys.stdin.read() if args.file == "-" else read_automation(args.file))
        info = rt.journal.run(args.resume)
        report.bulk = bool(info and info.options.get("rows") is not None)
        try:
            result = rt.resume(args.resume, yes=args.yes, confirm=_confirm,
                               on_step=report.step, on_progress=report.progress, retry=retry,
                               on_start=lambda modes, dry: _announce(modes, dry, args.resume),
                               text=edited, source_name=args.file)
        finally:
            report.close()
    else:
        if not args.file:
            raise ConfigurationError("which automation?", hint="kbooks run FILE, or - for stdin")
        if args.file == "-":
            from .language import read_automation

            if sys.stdin is None:
                raise ConfigurationError("standard input is closed",
                                         hint="pipe the automation in, or name its file")
            text, source = read_automation(sys.stdin.buffer, "<stdin>"), "<stdin>"
        else:
            text, source = _automation_text(rt, args.file), args.file
        rows = _read_rows(args.each) if args.each else None
        if args.concurrency is not None and args.concurrency < 1:
            raise ConfigurationError("--concurrency must be at least 1")
        try:
            if args.preview and args.dry_run:
                raise ConfigurationError("give either --dry-run (sends nothing) or --preview "
                                         "(sends the reads), not both")
            result = rt.run(text, source_name=source, dry_run=args.dry_run, rows=rows,
                            preview=args.preview,
                            yes=args.yes, confirm=_confirm, on_step=report.step,
                            on_progress=report.progress, concurrency=args.concurrency,
                            rate=args.rate, fail_fast=args.fail_fast, retry=retry,
                            on_start=_announce)
        finally:
            report.close()
    elapsed = time.monotonic() - started
    return _finish(result, args.json, elapsed)


def _announce(modes: dict[str, str], dry_run: bool, resuming: str | None = None) -> None:
    """Say, before anything is sent, what is about to happen and in which mode (on standard
    error, so that it shows with --json too)."""
    if resuming:
        print(f"Resuming {resuming}.", file=sys.stderr)
    if dry_run:
        print("Dry run: checking and planning only; nothing will be sent.", file=sys.stderr)
        return
    for book, mode in sorted(modes.items()):
        shout = "LIVE" if mode == "live" else mode
        print(f"Using {book} in {shout} mode.", file=sys.stderr)


def _finish(result, as_json: bool, elapsed: float) -> int:  # type: ignore[no-untyped-def]
    from .automation import describe_record
    from .model import Record

    failures = result.failures
    if as_json:
        import json

        print(json.dumps({"run_id": result.run_id, "ok": result.ok, "dry_run": result.dry_run,
                          "modes": result.modes, "rows": result.rows,
                          "failed_rows": [r + 1 for r in result.failed_rows],
                          "steps": len(result.steps), "seconds": round(elapsed, 3),
                          **({"preview": True, "would": result.would_lines()}
                             if result.preview else {})}))
        return 0 if result.ok else 1
    if result.preview:
        for line in result.would_lines():
            print(line)
        print("Preview: the reads were sent; no write was." if result.ok else
              "Preview stopped: a step failed.")
        return 0 if result.ok else 1
    if result.dry_run:
        count = len(result.steps)
        print(f"Checked {count} step{'s' if count != 1 else ''}; nothing was sent.")
        return 0
    if result.ok:
        done = len([s for s in result.steps if s.state in ("succeeded", "restored")])
        print(f"Done: {done} step{'s' if done != 1 else ''} in {elapsed:.2f}s "
              f"(run {result.run_id}).")
        return 0
    if result.rows > 1:
        print(f"{len(result.failed_rows)} of {result.rows} rows failed "
              f"(run {result.run_id}); the other rows finished.", file=sys.stderr)
    else:
        failed = failures[0]
        effects = [s for s in result.steps if s.took_effect]
        if failed.kind == "step":
            print(f"Stopped: step {failed.step} (line {failed.line}) failed: {failed.error}",
                  file=sys.stderr)
        else:  # "fail with ..." or a condition that could not be decided
            print(f"Stopped at line {failed.line}: {failed.error}", file=sys.stderr)
        if effects:
            print("Already took effect:", file=sys.stderr)
            for s in effects:
                shown = describe_record(s.result) if isinstance(s.result, Record) else ""
                print(f"    step {s.step} (line {s.line}) {s.command} -> {shown}",
                      file=sys.stderr)
        if failed.kind == "fail":
            return 1  # the automation said so: there is nothing to fix and resume
        if failed.may_have_taken_effect:
            print(f"Step {failed.step} may have taken effect: its answer was lost, so "
                  f"whether it acted is not known. kbooks run --resume {result.run_id} "
                  "finishes it safely: it is sent again with the same idempotency key, "
                  "so it is not done twice.", file=sys.stderr)
            return 1
        if not effects:
            print("Nothing took effect.", file=sys.stderr)
    print(f"  hint: fix the cause, then: kbooks run --resume {result.run_id}"
          + (" (give the edited file too, if the fix is in it)" if result.rows <= 1 else ""),
          file=sys.stderr)
    return 1


def cmd_listen(args: argparse.Namespace) -> int:
    from .triggers.commands import cmd_listen as listen

    return listen(args, _runtime(args))


def cmd_events(args: argparse.Namespace) -> int:
    from .triggers.commands import cmd_events as events

    return events(args, _runtime(args))


def cmd_runs(args: argparse.Namespace) -> int:
    import json

    from .model import ConfigurationError

    rt = _runtime(args)
    if args.run_id:
        return show_run(rt, args.run_id, as_json=args.json)
    if args.limit < 1:
        raise ConfigurationError("--limit must be at least 1")
    runs = rt.journal.runs(min(args.limit, 2**63 - 1))  # (SQLite's largest integer)
    if args.json:
        print(json.dumps([{
            "id": r.id, "source": r.source, "state": r.state, "started": r.started,
            "finished": r.finished, "mode": r.mode, "steps_done": r.steps_done,
            "steps_failed": r.steps_failed, "error": r.error} for r in runs], indent=2))
        return 0
    if not runs:
        print("No runs yet.")
        return 0
    for r in runs:
        print(f"{r.id}  {_when(r.started)}  {r.state:<11} {r.steps_done} done, "
              f"{r.steps_failed} failed  {r.source}" + (f"  ({r.error})" if r.error else ""))
    return 0


def show_run(rt: Runtime, run_id: str, *, as_json: bool) -> int:
    """``kbooks runs RUN_ID``: the run as the journal knows it, then each step it began
    (rows counted from 1, as ``kbooks run`` reports them; steps of a bulk run show theirs)."""
    import json

    from .model import ConfigurationError

    info = rt.journal.run(run_id)
    if info is None:
        raise ConfigurationError(f"no run {run_id!r} in the journal",
                                 hint="kbooks runs lists them")
    steps = rt.journal.steps(run_id)
    rows = info.options.get("rows")
    total = len(rows) if rows is not None else None  # rows of a bulk run
    bulk = total is not None
    if as_json:
        print(json.dumps({
            "id": info.id, "source": info.source, "state": info.state, "mode": info.mode,
            "connection": info.connection, "started": info.started,
            "finished": info.finished, "error": info.error,
            "rows": total, "steps_done": info.steps_done,
            "steps_failed": info.steps_failed,
            "steps": [{"row": s.row + 1 if bulk else None, "step": s.step, "line": s.line,
                       "command": s.command, "state": s.state, "noun": s.noun,
                       "record_id": s.record_id, "error": s.error,
                       "idempotency_key": s.idempotency_key} for s in steps],
        }, indent=2))
        return 0
    mode = info.mode or "-"
    print(f"{info.id}  {info.state}")
    print(f"    source:   {info.source}")
    print(f"    mode:     {mode}" + (f" (connection {info.connection})"
                                     if info.connection else ""))
    print(f"    started:  {_when(info.started)}")
    finished = info.finished
    print("    finished: " + (f"{_when(finished)} ({finished - info.started:.2f}s)"
                               if finished is not None else "-"))
    if info.error:
        print(f"    error:    {info.error}")
    print(f"    steps:    {info.steps_done} done, {info.steps_failed} failed"
          + (f", over {total} row{'s' if total != 1 else ''}" if bulk else ""))
    for s in steps:
        where = f"row {s.row + 1} " if bulk else ""
        record = f" -> {s.noun or 'record'} {s.record_id}" if s.record_id else ""
        print(f"{where}step {s.step} (line {s.line}) {s.state:<9} {s.command}{record}")
        if s.error:
            print(f"    error: {s.error}")
    if info.state not in ("succeeded", "running"):
        print(f"  hint: kbooks run --resume {info.id} finishes it")
    return 0


def _when(timestamp: float) -> str:
    import datetime

    return datetime.datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M:%S")


# ---------------------------------------------------------------------- kbooks mcp


MCP_DESCRIPTION = (
    "Serve every installed book's procedures, and check_automation and run_automation,\n"
    "as tools of a Model Context Protocol server, for agents. On a live connection a\n"
    "destructive tool needs confirm: true; a write retried with the same arguments is\n"
    "not done twice.\n\n"
    "  kbooks mcp                         # standard input/output (what MCP clients start)\n"
    "  kbooks mcp --connection sandbox\n"
    "  kbooks mcp --http --port 8000      # streamable HTTP at http://127.0.0.1:8000/mcp")


def cmd_mcp(args: argparse.Namespace) -> int:
    from .mcp import serve
    from .model import ConfigurationError

    if not 0 < args.port < 65536:
        raise ConfigurationError("--port must be from 1 to 65535")
    serve(_runtime(args), http=args.http, host=args.host, port=args.port)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
