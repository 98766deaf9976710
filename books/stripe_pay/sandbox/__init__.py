"""A local, stateful, Stripe-compatible API server for tests, demos and benchmarks.

The official ``stripe`` SDK talks to it as to Stripe for customers, products, prices, invoice
items and invoices, payment methods (and customers' card sources) and setup intents. Start it
in-process::

    from stripe_pay.sandbox import SandboxServer

    with SandboxServer() as sandbox:
        client = stripe.StripeClient("sk_test_123", base_addresses={"api": sandbox.url})

or from a shell with ``kbooks sandbox`` or ``python -m stripe_pay.sandbox``. See docs/SANDBOX.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .server import Faults, SandboxApp, SandboxServer

__all__ = ["Faults", "SandboxApp", "SandboxServer"]


def __getattr__(name: str) -> Any:
    # The server pulls in werkzeug and the stripe SDK; importing the package (for instance for
    # its CLI) stays cheap until one of these is actually used.
    if name in __all__:
        from . import server

        return getattr(server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
