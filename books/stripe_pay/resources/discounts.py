"""Discounts: coupons (what is taken off) and the promotion codes customers redeem them by.

A coupon's id is of one's own choosing (``SUMMER25``) or Stripe's, with no prefix; a
promotion code (``promo_``) is the customer-facing code of a coupon, in the pinned API
version under ``promotion[coupon]``.
"""

from __future__ import annotations

from ..declare import Action, Default, IdList, ListFilter, Relation, StripeObject

#: The discounts an invoice or an invoice item takes: each a coupon's id, a promotion code's
#: (``promo_``) or a discount's (``di_``).
DISCOUNTS = IdList("discounts", (("promo_", "promotion_code"), ("di_", "discount")),
                   default="coupon")

#: What a coupon or a promotion code is called where it is applied: the words of ``apply
#: the coupon "SUMMER25" to the subscription``.
APPLIED = ("coupon", "promotion code")


def discount_actions(noun: str) -> tuple[tuple[Action, ...], tuple[Default, ...]]:
    """The actions that put a coupon or a promotion code on a record of ``noun`` (an
    update of its ``discounts``, which :data:`DISCOUNTS` makes the objects Stripe takes)
    and take every discount off it (``discounts=""``), and the default that says so."""
    return (
        (Action("apply_discount", word="apply", things=APPLIED, thing_input="discounts",
                method="update",
                help=f"put a coupon or a promotion code on the {noun} (its discounts "
                     "become that one)"),
         Action("remove_discounts", word="remove", things=("discounts", "discount"),
                method="update", help=f"take every discount off the {noun}")),
        (Default("remove_discounts", "discounts", ""),),
    )


ROWS: tuple[StripeObject, ...] = (
    StripeObject(
        noun="coupon", plural="coupons", service="coupons", id_prefix="",
        list_filters=(ListFilter("created", "created", "range"),),
        duties=("get", "create", "update", "delete"),
        help="a percent or an amount off invoices, once, for some months or forever",
    ),
    StripeObject(
        noun="promotion code", plural="promotion codes", service="promotion_codes",
        id_prefix="promo_",
        list_filters=(ListFilter("active", "active"), ListFilter("code", "code"),
                      ListFilter("coupon", "coupon"), ListFilter("customer", "customer"),
                      ListFilter("created", "created", "range")),
        relations=(Relation("customer", "customer"),),
        delete_refusal="a promotion code cannot be deleted; deactivate it by updating active "
                       "to false",
        delete_hint='update a promotion code in stripe with the id is "promo_..." and the '
                    "active is false",
        help="a code customers redeem a coupon with",
    ),
)
