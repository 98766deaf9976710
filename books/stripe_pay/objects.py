"""The Stripe objects the book knows: one row per noun, gathered from
:mod:`stripe_pay.resources` (one module per family), and how to find a row.

The row types are :mod:`stripe_pay.declare`'s, re-exported here.

This module imports nothing heavy: ``describe_book`` reads it.
"""

from __future__ import annotations

import re

from . import resources
from .declare import (
    RECORD_VERBS,
    STANDARD_OPERATIONS,
    Action,
    Default,
    IdList,
    ListFilter,
    Operation,
    Requirement,
    StripeObject,
)

__all__ = ["OBJECTS", "OTHER_PREFIXES", "RECORD_VERBS", "Action", "Default", "IdList",
           "ListFilter", "Operation", "Requirement", "STANDARD_OPERATIONS", "StripeObject", "find",
           "kind_of_id"]

#: The table: every family's rows. Filters and search fields follow Stripe's API reference.
OBJECTS: tuple[StripeObject, ...] = resources.rows()

#: Id prefixes of Stripe objects the book does not handle, to name what a stray id is.
OTHER_PREFIXES: dict[str, str] = {
    "il_": "invoice line item",
    "acct_": "account",
    "evt_": "event",
    "src_": "source",
    "card_": "card",
    "tok_": "token",
    "di_": "discount",
}

_ID_PREFIX = re.compile(r"^([a-z]+_)")


def find(noun: str) -> StripeObject:
    """The row for ``noun`` (its name, plural or an alias). Raises ``KeyError``."""
    wanted = noun.lower()
    for row in OBJECTS:
        if wanted in (row.noun, row.plural, *row.aliases):
            return row
    raise KeyError(f"the Stripe Pay book has no noun {noun!r}")


def kind_of_id(value: str) -> str | None:
    """What kind of Stripe object an id names, judged by its prefix (None when unknown)."""
    if not _ID_PREFIX.match(value):
        return None
    # The longest prefix wins: sub_sched_ (a subscription schedule) before sub_.
    for prefix, kind in _BY_PREFIX:
        if value.startswith(prefix):
            return kind
    return None


_BY_PREFIX: tuple[tuple[str, str], ...] = tuple(sorted(
    [(row.id_prefix, row.noun) for row in OBJECTS] + list(OTHER_PREFIXES.items()),
    key=lambda pair: -len(pair[0])))
