"""Money in the account: balance transactions and payouts."""

from __future__ import annotations

from ..declare import Action, ListFilter, Relation, StripeObject

ROWS: tuple[StripeObject, ...] = (
    StripeObject(
        noun="balance transaction", plural="balance transactions",
        service="balance_transactions", id_prefix="txn_",
        list_filters=(ListFilter("type", "type"), ListFilter("currency", "currency"),
                      ListFilter("source", "source"), ListFilter("payout", "payout"),
                      ListFilter("created", "created", "range")),
        relations=(Relation("payout", "payout"),),
        amount="amount",
        duties=("get",),
        help="one movement of money in or out of the account's balance",
    ),
    StripeObject(
        noun="payout", plural="payouts", service="payouts", id_prefix="po_",
        list_filters=(ListFilter("status", "status"),
                      ListFilter("created", "created", "range"),
                      ListFilter("arrival_date", "arrival_date", "range")),
        actions=(
            Action("cancel", method="cancel", destructive=True,
                   help="stop a payout that has not been paid yet"),
        ),
        amount="amount",
        duties=("get", "create", "update"),
        moves_money=("create",),
        help="money sent from the account's balance to its bank account",
    ),
)
