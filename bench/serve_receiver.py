"""Serve the event receiver alone for bench/events.py: the Stripe Pay book's route on uvicorn,
recording into an inbox under KBOOKS_HOME; or, with ``--bare``, the same server answering
200 to every POST without verifying or recording (the server's own ceiling).

    python bench/serve_receiver.py SECRET_ENV_NAME [--bare]

Prints ``listening on PORT`` once it serves; runs until interrupted.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from kognitos_books import Runtime, Secret
from kognitos_books.triggers.inbox import Inbox
from kognitos_books.triggers.receiver import Receiver, Route, serve


class Bare(Receiver):
    """The receiver's server with nothing behind it."""

    def accept(self, route: Route, headers: Any, body: bytes) -> tuple[int, dict[str, Any]]:
        return 200, {"received": True}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("secret_env")
    parser.add_argument("--bare", action="store_true")
    args = parser.parse_args(argv)
    rt = Runtime()
    conn = rt.connect("stripe_pay")
    route = Route("stripe_pay", conn, Secret(os.environ[args.secret_env]),
                  {"customer.created": ("h_bench",)})
    inbox = Inbox(Path(os.environ["KBOOKS_HOME"]))
    app = (Bare if args.bare else Receiver)({"/stripe_pay": route}, inbox,
                                           rt.plugins.verify_event)
    server = serve(app, "127.0.0.1", 0,
                   ready=lambda port: print(f"listening on {port}", flush=True))
    try:
        server.run()
    finally:
        app.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
