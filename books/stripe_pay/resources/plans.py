"""Plans: the older form of a recurring price."""

from __future__ import annotations

from ..declare import ListFilter, Relation, StripeObject

ROWS: tuple[StripeObject, ...] = (
    StripeObject(
        noun="plan", plural="plans", service="plans", id_prefix="plan_",
        list_filters=(ListFilter("active", "active"), ListFilter("product", "product"),
                      ListFilter("created", "created", "range")),
        relations=(Relation("product", "product"),),
        amount="amount",
        # (a plan is a recurring price under another name: Stripe gives both price_ ids)
        also_prefixes=("price_",),
        help="how much and how often a product costs (the older form of a recurring price)",
    ),
)
