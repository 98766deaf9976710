"""Quotes: prices offered to a customer, which become an invoice once accepted."""

from __future__ import annotations

from ..declare import Action, ListFilter, Relation, StripeObject

ROWS: tuple[StripeObject, ...] = (
    StripeObject(
        noun="quote", plural="quotes", service="quotes", id_prefix="qt_",
        list_filters=(ListFilter("customer", "customer"), ListFilter("status", "status")),
        relations=(Relation("customer", "customer"), Relation("invoice", "invoice")),
        actions=(
            Action("finalize", method="finalize_quote",
                   help="make a draft quote ready to send to the customer"),
            Action("accept", method="accept",
                   help="record the customer's acceptance, which makes its invoice"),
            Action("cancel", method="cancel", destructive=True,
                   help="withdraw a quote for good"),
        ),
        amount="amount_total",
        duties=("get", "create", "update"),
        delete_refusal="a quote cannot be deleted; cancel it instead",
        delete_hint="cancel the quote",
        help="an offer of prices to a customer, accepted or not",
    ),
)
