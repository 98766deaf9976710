"""The customer portal: how it looks and what it lets customers do, and its sessions."""

from __future__ import annotations

from ..declare import ListFilter, Relation, StripeObject

ROWS: tuple[StripeObject, ...] = (
    StripeObject(
        noun="billing portal configuration", plural="billing portal configurations",
        service="billing_portal.configurations", id_prefix="bpc_",
        list_filters=(ListFilter("active", "active"), ListFilter("is_default", "is_default")),
        aliases=("portal configuration", "portal configurations"),
        duties=("get", "create", "update"),
        help="what the customer portal shows and lets customers change",
    ),
    StripeObject(
        noun="billing portal session", plural="billing portal sessions",
        service="billing_portal.sessions", id_prefix="bps_",
        aliases=("portal session", "portal sessions"),
        relations=(Relation("customer", "customer"),
                   Relation("billing portal configuration", "configuration")),
        duties=("create",),
        help="a link (its url) that lets one customer into the customer portal",
    ),
)
