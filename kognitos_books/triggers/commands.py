"""``kbooks listen`` and ``kbooks events``: the command line of triggers.

Only argparse is imported until a command runs (uvicorn and the books load then).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..runtime import Runtime

LISTEN_HELP = "run automations when their books report events, or on schedules"
LISTEN_DESCRIPTION = """\
Run the when and every blocks of FILEs: each handler runs once per event (or per schedule
slot), even when the event is delivered twice, out of order, or while a handler's earlier
run was cut short (the run is resumed with its idempotency keys).

Deliveries: kbooks registers one endpoint per book at URL/BOOK (found again on the next
start, never made twice; its signing secret kept in the credential store), verifies every
delivery's signature (unsigned, forged or stale ones get 400 and run nothing), answers 200
once the event is recorded, and runs the automation after. On start it catches up on the
events it missed while it was down. --poll reads the events instead and needs no URL.

  kbooks listen paid.kb --url https://hooks.example.com/kbooks --port 8080
  kbooks listen paid.kb daily.kb --poll 5
  kbooks listen paid.kb --role receive --url ...   (and in another process: --role work)
"""

EVENTS_HELP = "list recent events and what ran for each, or replay one"
EVENTS_DESCRIPTION = """\
List the events kbooks listen recorded, newest first, with each handler's outcome; replay
one (run its handlers again, on purpose: new runs, new idempotency keys); or list the
events each book reports and how automations name them.

  kbooks events
  kbooks events --types stripe_pay
  kbooks events replay evt_1Nx...
  kbooks events replay evt_1Nx... paid.kb
"""


def configure_listen(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE", help="automations with when or "
                        "every blocks")
    parser.add_argument("--url", help="the public URL deliveries reach this listener at "
                        "(each book's endpoint is URL/BOOK); on loopback it defaults to the "
                        "listener's own address, which a service on this machine (the "
                        "sandbox) can reach")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to serve on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=8765,
                        help="port to serve on, 0 for any free one (default: %(default)s)")
    parser.add_argument("--poll", type=float, metavar="SECONDS",
                        help="read the books' events every SECONDS instead of receiving "
                        "deliveries (needs no public URL)")
    parser.add_argument("--workers", type=int, default=4,
                        help="handlers run at once (default: %(default)s)")
    parser.add_argument("--role", choices=("all", "receive", "work"), default="all",
                        help="receive events, run handlers, or both (default)")
    parser.add_argument("--connection", metavar="NAME")
    parser.add_argument("--yes", action="store_true",
                        help="let handlers delete, void or pay on a live connection")
    parser.add_argument("--remove-endpoint", action="store_true",
                        help="delete the books' endpoints for --url and forget their "
                        "secrets, then exit")
    parser.add_argument("--check", action="store_true",
                        help="check the files and show what would listen, then exit")


def configure_events(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", nargs="?", choices=("replay",),
                        help="replay EVENT_ID [FILE...]: run its handlers again (those of "
                        "FILEs, else of the automations that ran for it)")
    parser.add_argument("args", nargs="*", metavar="EVENT_ID [FILE]")
    parser.add_argument("--types", nargs="?", const="", metavar="BOOK",
                        help="list the events each book (or BOOK) reports, with their "
                        "English")
    parser.add_argument("--limit", type=int, default=20,
                        help="events listed (default: %(default)s)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--connection", metavar="NAME")


def _files(paths: list[str]) -> list[tuple[str, str]]:
    from ..language import read_automation

    return [(path, read_automation(path)) for path in paths]


def cmd_listen(args: argparse.Namespace, rt: Runtime) -> int:
    from ..model import ConfigurationError
    from .listener import Listener

    if args.workers < 1:
        raise ConfigurationError("--workers must be at least 1")
    if args.poll is not None and not args.poll > 0:
        raise ConfigurationError("--poll must be a number of seconds more than 0")
    files = _files(args.files)
    listener = Listener(rt, files, url=args.url, host=args.host, port=args.port,
                        poll=args.poll, workers=args.workers, role=args.role, yes=args.yes,
                        say=lambda line: print(line, flush=True))
    if args.check:
        for handler in listener.handlers:
            what = (f"{handler.book}: {handler.trigger.type}" if handler.trigger
                    else f"schedule {handler.schedule.cron} ({handler.zone})")
            print(f"{handler.source}:{handler.line}  {handler.opener}  ->  {what}  "
                  f"[{len(handler.program)} step(s)]")
        return 0
    if args.remove_endpoint:
        if not args.url:
            raise ConfigurationError("--remove-endpoint needs the --url it was made for")
        removed = listener.remove_endpoints()
        print("\n".join(f"removed {url}" for url in removed) or "no endpoint to remove")
        return 0
    from ..signals import stopping_on_signals

    # (while its receiver serves, the server handles both signals, to the same end)
    with stopping_on_signals(listener.interrupt):
        return listener.run()


def cmd_events(args: argparse.Namespace, rt: Runtime) -> int:
    import json

    from ..model import ConfigurationError
    from .inbox import Inbox

    if args.types is not None:
        return _types(rt, args.types or None, as_json=args.json)
    inbox = Inbox(rt.store.home)
    if args.action == "replay":
        if not args.args:
            raise ConfigurationError("replay needs the event's id",
                                     hint="kbooks events replay EVT [FILE...]")
        return _replay(rt, inbox, args.args[0], _files(args.args[1:]))
    if args.args:
        raise ConfigurationError(f"unexpected {args.args[0]!r}",
                                 hint="kbooks events, or kbooks events replay EVT FILE")
    if args.limit < 1:
        raise ConfigurationError("--limit must be at least 1")
    events = inbox.events(args.limit)
    work = inbox.work_for(e.id for e in events)
    if args.json:
        print(json.dumps([{
            "id": e.id, "type": e.type, "book": e.book, "connection": e.connection,
            "created": e.created, "received": e.received, "via": e.via,
            "runs": [{"handler": w.handler, "state": w.state, "attempts": w.attempts,
                      "run_id": w.run_id, "error": w.error} for w in work[e.id]]}
            for e in events], indent=2))
        return 0
    if not events:
        print("No events yet: kbooks listen records them.")
        return 0
    import datetime

    for e in events:
        when = datetime.datetime.fromtimestamp(e.created, datetime.UTC).strftime(
            "%Y-%m-%d %H:%M:%S")
        runs = work[e.id]
        summary = ", ".join(f"{w.state} ({w.run_id})" if w.run_id else w.state
                            for w in runs) or "no handler"
        print(f"{e.id}  {when}  {e.type:<32} {e.book}  via {e.via}  {summary}")
        for w in runs:
            if w.error:
                print(f"    {w.state}: {w.error}")
    return 0


def _types(rt: Runtime, book: str | None, *, as_json: bool) -> int:
    import json

    books = [rt.book(book)] if book else rt.plugins.books()
    rows = [(b.name, b.target, t) for b in books for t in rt.plugins.triggers(b.name)]
    if as_json:
        print(json.dumps([{"book": name, "type": t.type, "english": t.english, "noun": t.noun,
                           "aliases": list(t.aliases), "help": t.help}
                          for name, _, t in rows], indent=2))
        return 0
    if not rows:
        print("No book reports events.")
        return 0
    for name, target, t in rows:
        also = f"  (also: {', '.join(t.aliases)})" if t.aliases else ""
        print(f"{name:<12} {t.type:<44} when {t.english} in {target}{also}")
    return 0


def _replay(rt: Runtime, inbox: Any, event_id: str, files: list[tuple[str, str]]) -> int:
    """Run the handlers of ``files`` (without files: of the automations that ran for the
    event, as they were then) for ``event_id`` again, each as a new run."""
    from ..journal import new_run_id
    from ..model import ConfigurationError
    from .listener import subscriptions
    from .worker import Worker

    received = inbox.find_event(event_id)
    if received is None:
        raise ConfigurationError(f"no event {event_id!r} was recorded",
                                 hint="kbooks events lists the events recorded")
    if not files:
        texts: dict[str, str] = {}
        for work in inbox.work_for([received.id])[received.id]:
            info = rt.journal.run(work.run_id) if work.run_id else None
            if info is not None:
                texts.setdefault(info.source, info.text)
        files = list(texts.items())
        if not files:
            raise ConfigurationError(f"nothing ran for {event_id} yet, so which automation "
                                     "to run is not known",
                                     hint=f"name the files: kbooks events replay {event_id} "
                                     "FILE")
    handlers = [h for name, text in files for h in rt.handlers(text, source_name=name)]
    subs = subscriptions(handlers).get(received.book)
    keys = subs.handlers.get(received.type, ()) if subs else ()
    if not keys:
        raise ConfigurationError(f"no handler of these files runs for {received.type}")
    by_key = {h.key: h for h in handlers}
    for key in keys:
        # a replay is a run of its own: a new run id, so new idempotency keys
        run_id = new_run_id()
        inbox.replay(key, received.book, received.connection, received.id, run_id)
        print(f"replaying line {by_key[key].line} ({by_key[key].opener}) for {event_id} "
              f"as {run_id}")
    journal = rt.journal
    worker = Worker(rt, inbox, by_key, dict(files), owner=journal.owner(),
                    alive=journal.owner_alive)
    while worker.run_one(event=received.id):
        pass
    failed = 0
    for work in inbox.work_for([received.id])[received.id]:
        if work.handler in keys:
            print(f"{work.state}: line {by_key[work.handler].line} ({work.run_id})"
                  + (f": {work.error}" if work.error else ""))
            failed += work.state != "succeeded"
    return 1 if failed else 0
