"""``python -m stripe_pay.sandbox``: run the sandbox from a shell."""

from __future__ import annotations

import argparse
import sys

from .cli import configure, run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m stripe_pay.sandbox",
        description="A local, stateful, Stripe-compatible API server for tests and demos.")
    configure(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
