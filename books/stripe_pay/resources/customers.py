"""Customers: someone you bill."""

from __future__ import annotations

from kognitos_books.model import Refusal

from ..declare import ListFilter, StripeObject
from .discounts import APPLIED

ROWS: tuple[StripeObject, ...] = (
    StripeObject(
        noun="customer", plural="customers", service="customers", id_prefix="cus_",
        list_filters=(ListFilter("email", "email"), ListFilter("created", "created", "range")),
        search_fields=frozenset({"email", "name", "phone", "created", "metadata"}),
        # (the pinned API version's customer update takes no coupon nor promotion code)
        refusals=(Refusal("apply", APPLIED,
                          "the pinned Stripe API version gives customers no discounts",
                          hint="apply it to the customer's subscription or invoice instead"),),
        help="someone you bill",
    ),
)
