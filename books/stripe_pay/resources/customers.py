"""Customers: someone you bill."""

from __future__ import annotations

from ..declare import ListFilter, StripeObject

ROWS: tuple[StripeObject, ...] = (
    StripeObject(
        noun="customer", plural="customers", service="customers", id_prefix="cus_",
        list_filters=(ListFilter("email", "email"), ListFilter("created", "created", "range")),
        search_fields=frozenset({"email", "name", "phone", "created", "metadata"}),
        help="someone you bill",
    ),
)
