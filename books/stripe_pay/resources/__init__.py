"""Every Stripe resource the book knows, one module per family, each a ``ROWS`` table.

A new family is one more module here and one more name in :data:`FAMILIES`; the book,
its procedures, the docs tables and the sandbox's routes follow from its rows.
"""

from __future__ import annotations

import importlib

from ..declare import StripeObject

#: The families, in the order the book lists its nouns.
FAMILIES: tuple[str, ...] = ("customers", "catalog", "invoices", "payments", "balance",
                             "checkout", "subscriptions", "discounts", "taxes",
                             "credit_notes", "quotes", "plans", "portal")


def rows() -> tuple[StripeObject, ...]:
    """Every family's rows, in order."""
    found: list[StripeObject] = []
    for family in FAMILIES:
        found.extend(importlib.import_module(f"{__name__}.{family}").ROWS)
    return tuple(found)
