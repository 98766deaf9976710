"""Invoices and their items."""

from __future__ import annotations

from ..declare import Action, Default, ListFilter, Relation, Requirement, StripeObject
from .discounts import DISCOUNTS, discount_actions

_DISCOUNT_ACTIONS, _DISCOUNT_DEFAULTS = discount_actions("invoice")

_ACTIONS = (
    Action("send", method="send_invoice", help="email the invoice to its customer to pay"),
    Action("finalize", method="finalize_invoice", help="make a draft invoice ready to pay"),
    Action("pay", method="pay", moves_money=True,
           help="collect payment now (or record a payment made outside Stripe)"),
    Action("void", method="void_invoice", destructive=True,
           help="cancel a finalized invoice for good, keeping its record"),
    Action("mark_uncollectible", method="mark_uncollectible", word="mark",
           complement="uncollectible", help="write off an invoice not expected to be paid"),
    # A credit note of the invoice, as refunding a charge is a refund of it.
    Action("credit", method="create", service="credit_notes", id_param="invoice",
           moves_money=True, returns="credit note", amount="amount",
           help="take a sum off a finalized invoice with a credit note"),
    Action("preview_credit", word="preview", complement="credited", method="preview",
           service="credit_notes", id_param="invoice", returns="credit note", amount="amount",
           help="the credit note crediting the invoice would issue, issuing nothing"),
    *_DISCOUNT_ACTIONS,
)

ROWS: tuple[StripeObject, ...] = (
    StripeObject(
        noun="invoice", plural="invoices", service="invoices", id_prefix="in_",
        list_filters=(ListFilter("customer", "customer"), ListFilter("status", "status"),
                      ListFilter("subscription", "subscription"),
                      ListFilter("collection_method", "collection_method"),
                      ListFilter("created", "created", "range"),
                      ListFilter("due_date", "due_date", "range")),
        search_fields=frozenset({"created", "currency", "customer", "number",
                                 "receipt_number", "status", "subscription", "total",
                                 "metadata"}),
        actions=_ACTIONS,
        relations=(Relation("customer", "customer"),),
        requirements=(
            Requirement("create", ("customer", "customer_account"), unless=("from_invoice",)),
            Requirement("credit", ("amount", "lines", "shipping_cost")),
            Requirement("preview_credit", ("amount", "lines", "shipping_cost")),
        ),
        amount="amount_due",
        id_lists=(DISCOUNTS,),
        defaults=(
            # Invoices are sent to be paid by the customer unless told otherwise, so that
            # "send the invoice" works (Stripe sends only send_invoice invoices).
            Default("create", "collection_method", "send_invoice"),
            Default("create", "days_until_due", 30, unless=("due_date",),
                    when=(("collection_method", "send_invoice"),)),
            # Paying from an automation records a payment received outside Stripe, unless
            # a payment method or source to charge is named.
            Default("pay", "paid_out_of_band", True,
                    unless=("payment_method", "source", "mandate", "off_session")),
            *_DISCOUNT_DEFAULTS,
        ),
        help="a bill for a customer",
    ),
    StripeObject(
        noun="invoice item", plural="invoice items", service="invoice_items", id_prefix="ii_",
        list_filters=(ListFilter("customer", "customer"), ListFilter("invoice", "invoice"),
                      ListFilter("pending", "pending"),
                      ListFilter("created", "created", "range")),
        aliases=("item", "items"),
        parent="invoice",
        relations=(Relation("customer", "customer"), Relation("invoice", "invoice")),
        amount="amount",
        id_lists=(DISCOUNTS,),
        # An item added to an invoice takes its customer and currency from the invoice.
        requirements=(
            Requirement("create", ("customer", "customer_account"), unless=("invoice",)),
            Requirement("create", ("currency",), when=("amount",),
                        unless=("invoice", "price", "pricing", "price_data")),
        ),
        help="one line of an invoice",
    ),
)
