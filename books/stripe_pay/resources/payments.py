"""Payments: payment methods, payment intents, charges, refunds, setup intents, disputes."""

from __future__ import annotations

from ..declare import Action, ListFilter, Relation, Requirement, StripeObject

_CREATED = ListFilter("created", "created", "range")
#: A refund or a dispute is of a charge, and so of its payment intent.
_BY_CHARGE = (ListFilter("charge", "charge"), ListFilter("payment_intent", "payment_intent"),
              _CREATED)
_OF_A_CHARGE = (Relation("charge", "charge"), Relation("payment intent", "payment_intent"))


def _refund(id_param: str) -> Action:
    """Refunding a charge or a payment intent: a new refund, with the record as its input."""
    return Action("refund", method="create", service="refunds", id_param=id_param,
                  moves_money=True, returns="refund", amount="amount",
                  help="give money back: all that is left, or the amount given")


ROWS: tuple[StripeObject, ...] = (
    StripeObject(
        noun="payment method", plural="payment methods", service="payment_methods",
        id_prefix="pm_",
        list_filters=(ListFilter("customer", "customer"), ListFilter("type", "type")),
        relations=(Relation("customer", "customer"),),
        # (Stripe's params types leave these optional for connected accounts and clones)
        requirements=(Requirement("attach", ("customer", "customer_account")),
                      Requirement("create", ("type",), unless=("payment_method",))),
        actions=(
            Action("attach", method="attach",
                   help="save the payment method to a customer, to charge later"),
            Action("detach", method="detach", destructive=True,
                   help="remove the payment method from its customer, for good"),
        ),
        also_prefixes=("card_", "src_", "ba_"),  # (older cards, sources and bank accounts)
        delete_refusal="a payment method cannot be deleted; detach it from its customer",
        delete_hint="detach the payment method",
        help="a card or account a customer pays with",
    ),
    StripeObject(
        noun="payment intent", plural="payment intents", service="payment_intents",
        id_prefix="pi_",
        list_filters=(ListFilter("customer", "customer"), _CREATED),
        search_fields=frozenset({"amount", "created", "currency", "customer", "status",
                                 "metadata"}),
        relations=(Relation("customer", "customer"),),
        actions=(
            Action("confirm", method="confirm", moves_money=True,
                   help="attempt the payment with its payment method"),
            Action("capture", method="capture", moves_money=True, amount="amount_to_capture",
                   help="collect an authorized payment: all of it, or the amount given"),
            Action("cancel", method="cancel", destructive=True,
                   help="give up on the payment (releasing what was authorized)"),
            _refund("payment_intent"),
        ),
        amount="amount",
        moves_money=("create",),  # (with confirm true, creating it charges)
        delete_refusal="a payment intent cannot be deleted; cancel it instead",
        delete_hint="cancel the payment intent",
        help="a payment from start to finish",
    ),
    StripeObject(
        noun="charge", plural="charges", service="charges", id_prefix="ch_",
        list_filters=(ListFilter("customer", "customer"),
                      ListFilter("payment_intent", "payment_intent"), _CREATED),
        search_fields=frozenset({"amount", "created", "currency", "customer", "disputed",
                                 "payment_intent", "refunded", "status", "metadata"}),
        relations=(Relation("customer", "customer"),
                   Relation("payment intent", "payment_intent")),
        actions=(
            Action("capture", method="capture", moves_money=True, amount="amount",
                   help="collect an uncaptured charge: all of it, or the amount given"),
            _refund("charge"),
        ),
        amount="amount",
        moves_money=("create",),
        delete_refusal="a charge cannot be deleted; refund it instead",
        delete_hint="refund the charge",
        help="one attempt to move money from a card or account",
    ),
    StripeObject(
        noun="refund", plural="refunds", service="refunds", id_prefix="re_",
        list_filters=_BY_CHARGE, relations=_OF_A_CHARGE,
        actions=(
            Action("cancel", method="cancel", destructive=True,
                   help="stop a refund that is waiting for the customer's action"),
        ),
        amount="amount",
        moves_money=("create",),
        delete_refusal="a refund cannot be deleted",
        delete_hint="cancel the refund (only while it waits for action)",
        help="money given back for a charge",
    ),
    StripeObject(
        noun="setup intent", plural="setup intents", service="setup_intents",
        id_prefix="seti_",
        list_filters=(ListFilter("customer", "customer"),
                      ListFilter("payment_method", "payment_method"), _CREATED),
        relations=(Relation("customer", "customer"),
                   Relation("payment method", "payment_method")),
        actions=(
            Action("confirm", method="confirm",
                   help="set the payment method up for later payments"),
            Action("cancel", method="cancel", destructive=True,
                   help="give up on setting the payment method up"),
        ),
        delete_refusal="a setup intent cannot be deleted; cancel it instead",
        delete_hint="cancel the setup intent",
        help="saving a payment method for later payments",
    ),
    StripeObject(
        noun="dispute", plural="disputes", service="disputes", id_prefix="dp_",
        list_filters=_BY_CHARGE, relations=_OF_A_CHARGE,
        actions=(
            Action("close", method="close", destructive=True,
                   help="accept the dispute as lost, for good"),
        ),
        amount="amount",
        duties=("get", "update"),
        help="a customer's challenge of a charge with their bank",
    ),
)
