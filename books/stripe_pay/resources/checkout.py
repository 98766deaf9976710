"""Stripe-hosted checkout: checkout sessions and payment links."""

from __future__ import annotations

from ..declare import Action, Default, ListFilter, Relation, StripeObject

ROWS: tuple[StripeObject, ...] = (
    StripeObject(
        noun="checkout session", plural="checkout sessions", service="checkout.sessions",
        id_prefix="cs_",
        list_filters=(ListFilter("customer", "customer"), ListFilter("status", "status"),
                      ListFilter("payment_intent", "payment_intent"),
                      ListFilter("payment_link", "payment_link"),
                      ListFilter("subscription", "subscription"),
                      ListFilter("created", "created", "range")),
        relations=(Relation("customer", "customer"),
                   Relation("payment intent", "payment_intent"),
                   Relation("payment link", "payment_link")),
        actions=(
            Action("expire", method="expire", destructive=True,
                   help="close an open checkout session so it can no longer be paid"),
        ),
        amount="amount_total",
        duties=("get", "create", "update"),
        help="a Stripe-hosted page where a customer pays or sets up a payment method",
    ),
    StripeObject(
        noun="payment link", plural="payment links", service="payment_links",
        id_prefix="plink_",
        list_filters=(ListFilter("active", "active"),),
        actions=(
            Action("deactivate", method="update",
                   help="stop the link from taking payments (it can be turned on again)"),
            Action("activate", method="update", help="let the link take payments again"),
        ),
        defaults=(Default("deactivate", "active", False), Default("activate", "active", True)),
        duties=("get", "create", "update"),
        help="a shareable link to a Stripe-hosted payment page",
    ),
)
