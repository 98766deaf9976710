"""Credits: credit notes on finalized invoices, and the customer balance they may credit."""

from __future__ import annotations

from ..declare import Action, ListFilter, Relation, Requirement, StripeObject

ROWS: tuple[StripeObject, ...] = (
    StripeObject(
        noun="credit note", plural="credit notes", service="credit_notes", id_prefix="cn_",
        list_filters=(ListFilter("invoice", "invoice"), ListFilter("customer", "customer"),
                      ListFilter("created", "created", "range")),
        relations=(Relation("invoice", "invoice"), Relation("customer", "customer")),
        actions=(
            Action("void", method="void_credit_note", destructive=True,
                   help="cancel a credit note, undoing what it credited"),
        ),
        # (Stripe needs what to credit: a sum, lines, or the shipping cost)
        requirements=(Requirement("create", ("amount", "lines", "shipping_cost")),),
        amount="amount",
        duties=("get", "create", "update"),
        moves_money=("create",),  # (it may refund a paid invoice's charge)
        delete_refusal="a credit note cannot be deleted; void it instead",
        delete_hint="void the credit note",
        help="money taken off a finalized invoice: owed no more, refunded or credited",
    ),
    StripeObject(
        noun="customer balance transaction", plural="customer balance transactions",
        service="customers.balance_transactions", id_prefix="cbtxn_",
        list_filters=(ListFilter("customer", "customer"), ListFilter("invoice", "invoice"),
                      ListFilter("created", "created", "range")),
        parent="customer",
        relations=(Relation("customer", "customer"), Relation("invoice", "invoice"),
                   Relation("credit note", "credit_note")),
        amount="amount",
        signed=("amount",),
        duties=("get", "create", "update"),
        help="a change to what a customer owes (negative: a credit for the next invoices)",
    ),
)
