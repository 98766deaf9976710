"""Command line for the sandbox: ``kbooks sandbox`` and ``python -m stripe_pay.sandbox``.

:func:`configure` adds the options to an ``argparse`` parser; :func:`run` serves until
interrupted, or, given the action ``trigger``, causes an event on a running sandbox
(:mod:`stripe_pay.sandbox.trigger`). Importing this module loads neither werkzeug nor the
stripe SDK, nor anything but argparse: every ``kbooks`` command imports it to list ``kbooks
sandbox``.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import threading

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 12111


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the sandbox's options to ``parser``."""
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help=f"address to bind (default {DEFAULT_HOST}; the control endpoints "
                             "need no key, so think before binding anything but loopback)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"port to listen on, 0 for any free port (default {DEFAULT_PORT})")
    parser.add_argument("--latency-ms", type=float, default=0.0, metavar="MS",
                        help="add this much latency to every /v1 request")
    parser.add_argument("--rate-limit", type=float, default=None, metavar="PER_SECOND",
                        help="answer 429 beyond this many /v1 requests per second")
    parser.add_argument("--fail-rate", type=float, default=0.0, metavar="FRACTION",
                        help="answer this fraction of /v1 requests with a 500, before acting")
    parser.add_argument("--drop-rate", type=float, default=0.0, metavar="FRACTION",
                        help="drop the connection of this fraction of POSTs, after acting")
    parser.add_argument("--webhook-duplicate-rate", type=float, default=0.0, metavar="FRACTION",
                        help="deliver this fraction of delivered webhook events again")
    parser.add_argument("--webhook-shuffle", type=int, default=0, metavar="N",
                        help="hold webhook deliveries until N wait, then send them in a random "
                             "order")
    parser.add_argument("--webhook-delay-ms", type=float, default=0.0, metavar="MS",
                        help="delay every webhook delivery by this much")
    parser.add_argument("--webhook-retries", default="1,2,4", metavar="SECONDS,...",
                        help="seconds before each retry of a failed webhook delivery "
                             "(default 1,2,4; empty: no retries)")
    parser.add_argument("--seed", type=int, default=None,
                        help="seed for the fault choices, to make a run repeatable")
    parser.add_argument("--quiet", action="store_true",
                        help="do not print a line per request")
    from . import trigger

    actions = parser.add_subparsers(
        dest="sandbox_action", metavar="[ACTION]", title="actions",
        description="without an action the sandbox serves; kbooks sandbox ACTION --help "
                    "tells more")
    trigger.configure(actions.add_parser(
        "trigger", help="cause a Stripe event on a running sandbox, as `stripe trigger` does",
        description="Send the API requests that make Stripe (by default the sandbox at "
                    f"{trigger.DEFAULT_API_BASE}) produce EVENT_TYPE, printing each request "
                    "and the ids made."))


def run(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C (or carry out the action asked for); returns the process exit
    status."""
    if getattr(args, "sandbox_action", None) == "trigger":
        from . import trigger

        return trigger.run(args)
    import logging
    import threading

    from kognitos_books.signals import stopping_on_signals

    from .delivery import Settings
    from .server import Faults

    try:
        faults = Faults().updated({
            "latency_ms": args.latency_ms, "rate_limit": args.rate_limit,
            "fail_rate": args.fail_rate, "drop_rate": args.drop_rate,
            "webhook_duplicate_rate": args.webhook_duplicate_rate,
            "webhook_shuffle": args.webhook_shuffle, "webhook_delay_ms": args.webhook_delay_ms,
            "seed": args.seed,
        })
        settings = Settings().updated({"retry_delays": _seconds(args.webhook_retries)})
    except ValueError as error:
        print(f"sandbox: {error}", file=sys.stderr)
        return 2
    if not args.quiet:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    stopping = threading.Event()
    # Ctrl-C and a terminate request (kill, a process manager, a CI step's end) stop it
    # cleanly, however it was started; handled before the URL is printed, since a caller may
    # stop it at once.
    with stopping_on_signals(stopping.set):
        return _serve(args, faults, settings, stopping)


def _seconds(text: str) -> list[float]:
    """``1,2,4`` as seconds; ``ValueError`` naming the flag if it is not that."""
    try:
        return [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ValueError(f"--webhook-retries must be seconds separated by commas, like "
                         f"1,2,4, not {text!r}.") from None


def _serve(args: argparse.Namespace, faults: Any, settings: Any, stopping: threading.Event
           ) -> int:
    from .server import SandboxServer

    sandbox = SandboxServer(host=args.host, port=args.port, faults=faults)
    sandbox.backend.deliveries.configure(settings=settings)
    try:
        sandbox.start()
    except OSError as error:
        print(f"sandbox: cannot listen on {args.host}:{args.port}: {error}", file=sys.stderr)
        return 1
    if not _is_loopback(args.host):
        print(f"warning: listening on {args.host}, beyond this machine; anyone who can reach it "
              "can read the request log and change faults under /_sandbox.", file=sys.stderr)
    print(f"Stripe sandbox listening on {sandbox.url} "
          "(any sk_test_/rk_test_ key works; Ctrl-C to stop)", flush=True)
    try:
        while not stopping.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()
    return 0


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
