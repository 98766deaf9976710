"""Discounts: coupons, the promotion codes customers redeem them by, and the ``di_``
discounts a redemption makes; and how discounts and tax rates price a bill's lines.

A coupon is redeemed into a discount when it is applied to an invoice or an invoice item
(directly, or through a promotion code): its ``times_redeemed`` (and the code's) counts it,
and ``max_redemptions`` and ``redeem_by`` end its ``valid``. :meth:`Discounts.price_lines`
is the money math of any bill made of lines (an invoice's, a subscription's): discounts
before tax, item discounts before the bill's, ``amount_off`` prorated across lines, each
line rounded on its own, inclusive tax taken out of the amount and exclusive tax added.
"""

from __future__ import annotations

import datetime
import decimal
from collections.abc import Sequence
from typing import Any, ClassVar

import attrs
from dateutil.relativedelta import relativedelta

from ..backend import Equals, Resource, Store, Within, handles, route
from ..errors import invalid_request, no_such
from ..rules import merge_metadata, valid_currency
from ..shapes import STUB_ONLY, Shape, derived
from .catalog import Product
from .customers import Customers
from .taxes import TaxRates

COUPON_ID_LENGTH = 8
#: how many bills' amounts are kept for their next rendering
PRICED_KEPT = 256
#: how far ahead a coupon's redeem_by may be: 5 years
REDEEM_BY_LIMIT = 5 * 366 * 86_400


@attrs.define(eq=False)
class Coupon:
    """A coupon: ``percent_off`` or ``amount_off`` in ``currency``, for ``duration``."""

    id: str
    seq: int
    created: int
    duration: str = "once"
    percent_off: float | None = None
    amount_off: int | None = None
    currency: str | None = None
    duration_in_months: int | None = None
    max_redemptions: int | None = None
    redeem_by: int | None = None
    products: list[str] | None = None
    name: str | None = None
    metadata: dict[str, str] = attrs.field(factory=dict)
    times_redeemed: int = 0
    deleted: bool = False

    OBJECT: ClassVar[str] = "coupon"

    def valid_at(self, now: int) -> bool:
        """Whether it can still be redeemed (Stripe's ``valid``)."""
        return not self.deleted and (self.redeem_by is None or now <= self.redeem_by) and (
            self.max_redemptions is None or self.times_redeemed < self.max_redemptions)


@attrs.define(eq=False)
class PromotionCode:
    """A customer-facing code for a coupon, with its restrictions."""

    id: str
    seq: int
    created: int
    code: str
    coupon: str
    active: bool = True
    customer: str | None = None
    expires_at: int | None = None
    max_redemptions: int | None = None
    first_time_transaction: bool = False
    minimum_amount: int | None = None
    minimum_amount_currency: str | None = None
    metadata: dict[str, str] = attrs.field(factory=dict)
    times_redeemed: int = 0
    deleted: bool = False

    OBJECT: ClassVar[str] = "promotion_code"


@attrs.define(eq=False)
class Discount:
    """One redemption of a coupon: on an invoice, or on one invoice item."""

    id: str
    seq: int
    start: int
    coupon: str
    customer: str | None = None
    promotion_code: str | None = None
    invoice: str | None = None
    invoice_item: str | None = None
    subscription: str | None = None
    subscription_item: str | None = None
    #: when a repeating coupon's discount ends (None: once or forever)
    end: int | None = None
    deleted: bool = False

    OBJECT: ClassVar[str] = "discount"

    def live_at(self, now: int) -> bool:
        """Whether it still discounts what is billed at ``now``."""
        return not self.deleted and (self.end is None or now < self.end)


COUPON = Shape(
    "coupon", "Coupon",
    own=("amount_off", "created", "currency", "duration", "duration_in_months",
         "max_redemptions", "metadata", "name", "percent_off", "redeem_by", "times_redeemed"),
    fixed={"livemode": False},
    derived=(derived("valid", lambda coupon, backend: coupon.valid_at(backend.now())),),
    absent={"deleted": STUB_ONLY},
    included={"applies_to": lambda coupon, backend: _applies_to(coupon),
              "currency_options": lambda coupon, backend: _currency_options(coupon)},
)


def _applies_to(coupon: Coupon | None) -> dict[str, Any] | None:
    return None if coupon is None or coupon.products is None else {
        "products": list(coupon.products)}


def _currency_options(coupon: Coupon | None) -> dict[str, Any]:
    if coupon is None or coupon.amount_off is None or coupon.currency is None:
        return {}
    return {coupon.currency: {"amount_off": coupon.amount_off}}


PROMOTION_CODE = Shape(
    "promotion_code", "PromotionCode",
    own=("active", "code", "created", "customer", "expires_at", "max_redemptions",
         "metadata", "times_redeemed"),
    fixed={"customer_account": None, "livemode": False},
    derived=(derived("promotion", lambda code, backend: {"coupon": code.coupon,
                                                         "type": "coupon"}),
             derived("restrictions", lambda code, backend: {
                 "currency_options": {}, "first_time_transaction": code.first_time_transaction,
                 "minimum_amount": code.minimum_amount,
                 "minimum_amount_currency": code.minimum_amount_currency})),
)

DISCOUNT = Shape(
    "discount", "Discount",
    own=("customer", "end", "invoice", "invoice_item", "promotion_code", "start",
         "subscription", "subscription_item"),
    fixed={"checkout_session": None, "customer_account": None},
    derived=(derived("source", lambda discount, backend: {"coupon": discount.coupon,
                                                          "type": "coupon"}),),
    absent={"deleted": STUB_ONLY},
)


# The money math of a bill's lines.

@attrs.frozen
class Line:
    """One line of a bill, as the money math sees it: its amount before any discount (an
    inclusive tax is in it), whether bill discounts apply, its product (for coupons that
    apply to some products), its own discounts' ids and its tax rates' ids (None: the
    bill's default tax rates)."""

    key: str
    amount: int
    discountable: bool = True
    product: str | None = None
    discounts: tuple[str, ...] = ()
    tax_rates: tuple[str, ...] | None = None


@attrs.define
class PricedLine:
    """A line's ``discount_amounts`` and ``taxes`` as Stripe shows them, and its amount
    after discounts (``net``)."""

    discount_amounts: list[dict[str, Any]]
    taxes: list[dict[str, Any]]
    net: int
    item_discount: int


@attrs.define
class Totals:
    """A bill's amounts, as an invoice shows them, and each line's."""

    lines: dict[str, PricedLine]
    subtotal: int
    subtotal_excluding_tax: int
    total: int
    total_excluding_tax: int
    total_discount_amounts: list[dict[str, Any]]
    total_taxes: list[dict[str, Any]]


def _round(value: decimal.Decimal) -> int:
    return int(value.to_integral_value(decimal.ROUND_HALF_UP))


def _prorate(amount: int, weights: Sequence[int]) -> list[int]:
    """``amount`` split in proportion to ``weights``, in whole units that add up to it (the
    largest remainders get the units left over)."""
    whole = sum(weights)
    if whole <= 0:
        return [0] * len(weights)
    shares = [amount * weight // whole for weight in weights]
    order = sorted(range(len(weights)), key=lambda i: -(amount * weights[i] % whole))
    for index in order[:amount - sum(shares)]:
        shares[index] += 1
    return shares


class Discounts(TaxRates, Customers):
    """The discounts family: coupons, promotion codes and discounts, and the money math."""

    RESOURCES: ClassVar[tuple[Resource, ...]] = (
        Resource(COUPON, "coupons", filters=(Within("created"),)),
        Resource(PROMOTION_CODE, "promotion_codes",
                 filters=(Equals("active"), Equals("code"), Equals("coupon"),
                          Equals("customer"), Within("created"))),
        Resource(DISCOUNT, "discounts"),
    )
    coupons: Store[Coupon]
    promotion_codes: Store[PromotionCode]
    discounts: Store[Discount]
    products: Store[Product]  # (the catalog's: coupons apply to some products)

    # Coupons

    @handles("coupon", "create")
    def create_coupon(self, params: dict[str, Any]) -> Coupon:
        """A coupon, refused as Stripe refuses an impossible one."""
        coupon_id = params.get("id") or "".join(
            self._random.choices("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", k=COUPON_ID_LENGTH))
        if coupon_id in self.coupons.objects:
            raise invalid_request("Coupon already exists.", param="id",
                                  code="resource_already_exists")
        coupon = Coupon(id=coupon_id, seq=self._next_seq(), created=self.now(),
                        duration=params.get("duration", "once"))
        given = [name for name in ("amount_off", "percent_off") if name in params]
        if len(given) > 1:
            raise invalid_request(
                "You may only specify one of these parameters: amount_off, percent_off.",
                param="percent_off")
        if not given:
            raise invalid_request(
                "Missing required param: percent_off or amount_off. A coupon takes a "
                "percent or an amount off.", param="percent_off", code="parameter_missing")
        if "percent_off" in params:
            if not 0 < params["percent_off"] <= 100:
                raise invalid_request(
                    "Invalid percent_off: must be greater than 0 and at most 100.",
                    param="percent_off")
            coupon.percent_off = params["percent_off"]
        else:
            if params["amount_off"] <= 0:
                raise invalid_request("Invalid amount_off: must be greater than 0.",
                                      param="amount_off")
            if "currency" not in params:
                raise invalid_request(
                    "Missing required param: currency. An amount_off coupon needs the "
                    "currency of its amount.", param="currency", code="parameter_missing")
            coupon.amount_off = params["amount_off"]
            coupon.currency = valid_currency(params["currency"])
        self._coupon_terms(coupon, params)
        if "name" in params:
            coupon.name = params["name"] or None
        if "metadata" in params:
            coupon.metadata = merge_metadata({}, params["metadata"])
        return self.change("create", coupon)

    def _coupon_terms(self, coupon: Coupon, params: dict[str, Any]) -> None:
        if coupon.duration == "repeating":
            if "duration_in_months" not in params:
                raise invalid_request(
                    "Missing required param: duration_in_months. A repeating coupon says for "
                    "how many months it applies.", param="duration_in_months",
                    code="parameter_missing")
            if params["duration_in_months"] < 1:
                raise invalid_request("duration_in_months must be at least 1.",
                                      param="duration_in_months")
            coupon.duration_in_months = params["duration_in_months"]
        elif "duration_in_months" in params:
            raise invalid_request(
                "duration_in_months can only be given when duration is repeating.",
                param="duration_in_months")
        if "max_redemptions" in params:
            if params["max_redemptions"] < 1:
                raise invalid_request("max_redemptions must be at least 1.",
                                      param="max_redemptions")
            coupon.max_redemptions = params["max_redemptions"]
        if "redeem_by" in params:
            if params["redeem_by"] <= self.now():
                raise invalid_request("Invalid redeem_by: must be in the future.",
                                      param="redeem_by")
            if params["redeem_by"] > self.now() + REDEEM_BY_LIMIT:
                raise invalid_request("Invalid redeem_by: must be at most 5 years from now.",
                                      param="redeem_by")
            coupon.redeem_by = params["redeem_by"]
        if "applies_to" in params:
            products = params["applies_to"].get("products", [])
            for index, product in enumerate(products):
                self.products.get(product, param=f"applies_to[products][{index}]")
            coupon.products = list(products)

    @handles("coupon", "update")
    def update_coupon(self, coupon_id: str, params: dict[str, Any]) -> Coupon:
        """Only a coupon's name and metadata change once it exists."""
        coupon = self.change("update", self.coupons.get(coupon_id))
        if "name" in params:
            coupon.name = params["name"] or None
        if "metadata" in params:
            coupon.metadata = merge_metadata(coupon.metadata, params["metadata"])
        return coupon

    @handles("coupon", "delete")
    def delete_coupon(self, coupon_id: str, params: dict[str, Any] | None = None) -> Coupon:
        """Delete a coupon: discounts already made keep it; its promotion codes end."""
        coupon = self.change("delete", self.coupons.get(coupon_id))
        for code in self.lookup("promotion_code", "coupon", coupon.id):
            if code.active:
                self.change("update", code).active = False
        coupon.deleted = True
        return coupon

    # Promotion codes

    @handles("promotion_code", "create")
    def create_promotion_code(self, params: dict[str, Any]) -> PromotionCode:
        promotion = params["promotion"]
        if "coupon" not in promotion:
            raise invalid_request("Missing required param: promotion[coupon].",
                                  param="promotion[coupon]", code="parameter_missing")
        coupon = self.coupons.get(promotion["coupon"], param="promotion[coupon]")
        if not coupon.valid_at(self.now()):
            raise invalid_request(
                f"Coupon {coupon.id} is no longer valid: a promotion code needs a valid "
                "coupon.", param="promotion[coupon]")
        code_text = params.get("code") or "".join(
            self._random.choices("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", k=8))
        if not code_text.replace("-", "").isalnum() or not code_text.isascii():
            raise invalid_request(
                "Invalid code: use only letters (a-z, A-Z), digits (0-9) and dashes (-).",
                param="code")
        code = PromotionCode(id=self.new_id("promo_"), seq=self._next_seq(),
                             created=self.now(), code=code_text, coupon=coupon.id,
                             active=params.get("active", True))
        if code.active:
            self._check_code_unique(code)
        if "customer" in params:
            code.customer = self.customers.get(params["customer"], param="customer").id
        if "expires_at" in params:
            if params["expires_at"] <= self.now():
                raise invalid_request("Invalid expires_at: must be in the future.",
                                      param="expires_at")
            if coupon.redeem_by is not None and params["expires_at"] > coupon.redeem_by:
                raise invalid_request(
                    "expires_at can't be later than the coupon's redeem_by.",
                    param="expires_at")
            code.expires_at = params["expires_at"]
        if "max_redemptions" in params:
            if params["max_redemptions"] < 1:
                raise invalid_request("max_redemptions must be at least 1.",
                                      param="max_redemptions")
            if coupon.max_redemptions is not None and (
                    params["max_redemptions"] > coupon.max_redemptions):
                raise invalid_request(
                    "max_redemptions can't be more than the coupon's "
                    f"({coupon.max_redemptions}).", param="max_redemptions")
            code.max_redemptions = params["max_redemptions"]
        restrictions = params.get("restrictions", {})
        code.first_time_transaction = restrictions.get("first_time_transaction", False)
        if "minimum_amount" in restrictions:
            if "minimum_amount_currency" not in restrictions:
                raise invalid_request(
                    "Missing required param: restrictions[minimum_amount_currency].",
                    param="restrictions[minimum_amount_currency]", code="parameter_missing")
            code.minimum_amount = restrictions["minimum_amount"]
            code.minimum_amount_currency = valid_currency(
                restrictions["minimum_amount_currency"], "restrictions[minimum_amount_currency]")
        if "metadata" in params:
            code.metadata = merge_metadata({}, params["metadata"])
        return self.change("create", code)

    def _check_code_unique(self, code: PromotionCode) -> None:
        for other in self.promotion_codes.objects.values():
            if other is not code and other.active and not other.deleted and (
                    other.code.lower() == code.code.lower()) and other.customer == code.customer:
                raise invalid_request(
                    f"An active promotion code with `code: {code.code}` already exists.",
                    param="code", code="resource_already_exists")

    @handles("promotion_code", "update")
    def update_promotion_code(self, code_id: str, params: dict[str, Any]) -> PromotionCode:
        code = self.change("update", self.promotion_codes.get(code_id))
        if params.get("active") is True and not code.active:
            if not self.coupons.objects[code.coupon].valid_at(self.now()):
                raise invalid_request(
                    "This promotion code's coupon is no longer valid, so it can't be "
                    "activated again.", param="active")
            code.active = True
            self._check_code_unique(code)
        elif "active" in params:
            code.active = params["active"]
        if "metadata" in params:
            code.metadata = merge_metadata(code.metadata, params["metadata"])
        return code

    # Redeeming

    def redeem(self, given: Any, *, customer: str, currency: str, subtotal: int,
               param: str, invoice: str | None = None, invoice_item: str | None = None,
               subscription: str | None = None, subscription_item: str | None = None
               ) -> list[str]:
        """The ids of the discounts ``given`` (``discounts=[{coupon|promotion_code|
        discount}]``; ``""`` is none) names: a coupon or promotion code is redeemed into a
        new discount (counted against their limits), an existing discount is reused. A
        subscription's discount of a repeating coupon ends ``duration_in_months`` after it
        starts."""
        if given == "" or given is None:
            return []
        found: list[str] = []
        for index, entry in enumerate(given):
            where = f"{param}[{index}]"
            named = [name for name in ("coupon", "discount", "promotion_code") if name in entry]
            if len(named) != 1:
                raise invalid_request(
                    "Each discount takes exactly one of coupon, discount or promotion_code.",
                    param=where)
            if "discount" in entry:
                discount = self.discounts.get(entry["discount"], param=f"{where}[discount]")
                if discount.customer not in (None, customer):
                    raise no_such("discount", discount.id, param=f"{where}[discount]")
                found.append(discount.id)
                continue
            code = None
            if "promotion_code" in entry:
                code = self._redeemable_code(entry["promotion_code"], customer=customer,
                                             currency=currency, subtotal=subtotal,
                                             param=f"{where}[promotion_code]")
                coupon = self.coupons.objects[code.coupon]
            else:
                coupon = self.coupons.get(entry["coupon"], param=f"{where}[coupon]")
            self._check_redeemable(coupon, currency, f"{where}[{named[0]}]")
            if any(self.discounts.objects[other].coupon == coupon.id for other in found):
                raise invalid_request(f"The coupon {coupon.id} is applied twice.", param=where)
            found.append(self._new_discount(
                coupon, code, customer, invoice=invoice, invoice_item=invoice_item,
                subscription=subscription, subscription_item=subscription_item))
        return found

    def _redeemable_code(self, code_id: str, *, customer: str, currency: str, subtotal: int,
                         param: str) -> PromotionCode:
        code = self.promotion_codes.get(code_id, param=param)
        now = self.now()
        if not code.active:
            raise invalid_request(f"The promotion code {code.code} is inactive.", param=param)
        if code.expires_at is not None and now > code.expires_at:
            raise invalid_request(f"The promotion code {code.code} has expired.", param=param)
        if code.max_redemptions is not None and code.times_redeemed >= code.max_redemptions:
            raise invalid_request(
                f"The promotion code {code.code} has been redeemed its maximum number of "
                "times.", param=param)
        if code.customer is not None and code.customer != customer:
            raise invalid_request(
                f"The promotion code {code.code} can only be redeemed by customer "
                f"{code.customer}.", param=param)
        if code.first_time_transaction and self.has_transactions(customer):
            raise invalid_request(
                f"The promotion code {code.code} is for first-time customers only; this "
                "customer has prior transactions.", param=param)
        if code.minimum_amount is not None and (
                code.minimum_amount_currency != currency or subtotal < code.minimum_amount):
            raise invalid_request(
                f"The promotion code {code.code} needs a subtotal of at least "
                f"{code.minimum_amount} {code.minimum_amount_currency}.", param=param)
        return code

    def has_transactions(self, customer: str) -> bool:
        """Whether the customer has paid anything before (families that bill say more)."""
        return False

    def _check_redeemable(self, coupon: Coupon, currency: str, param: str) -> None:
        if not coupon.valid_at(self.now()):
            raise invalid_request(
                f"Coupon {coupon.id} is no longer valid: it has been redeemed its maximum "
                "number of times, passed its redeem_by date or been deleted.", param=param)
        if coupon.currency is not None and coupon.currency != currency:
            raise invalid_request(
                f"The coupon {coupon.id} takes {coupon.amount_off} {coupon.currency} off, but "
                f"this is billed in {currency}; an amount_off coupon applies only in its own "
                "currency.", param=param)

    def _new_discount(self, coupon: Coupon, code: PromotionCode | None, customer: str, *,
                      invoice: str | None, invoice_item: str | None,
                      subscription: str | None, subscription_item: str | None) -> str:
        self.change("update", coupon).times_redeemed += 1
        if code is not None:
            self.change("update", code).times_redeemed += 1
        if not coupon.valid_at(self.now()):
            for other in self.lookup("promotion_code", "coupon", coupon.id):
                if other.active:
                    self.change("update", other).active = False
        now = self.now()
        discount = Discount(id=self.new_id("di_"), seq=self._next_seq(), start=now,
                            coupon=coupon.id, customer=customer,
                            promotion_code=code.id if code else None, invoice=invoice,
                            invoice_item=invoice_item, subscription=subscription,
                            subscription_item=subscription_item)
        if coupon.duration == "repeating" and subscription is not None:
            assert coupon.duration_in_months is not None
            discount.end = int((datetime.datetime.fromtimestamp(now, datetime.UTC)
                                + relativedelta(months=coupon.duration_in_months)).timestamp())
        return self.change("create", discount).id

    def drop_discounts(self, ids: Sequence[str], keep: Sequence[str] = ()) -> None:
        """Delete the discounts a bill no longer carries (``keep``: those it still does)."""
        for discount_id in ids:
            if discount_id not in keep:
                self.change("delete", self.discounts.objects[discount_id]).deleted = True

    @route("DELETE", "/v1/customers/{id}/discount", "CustomerDeleteDiscountParams",
           kind="discount", name="delete_discount")
    def delete_customer_discount(self, customer_id: str, params: dict[str, Any]) -> Discount:
        """Remove a customer's discount: in the pinned API version customers are given none
        (their create and update take no coupon), so there is never one to remove."""
        customer = self.customers.get(customer_id)
        raise invalid_request(f"No active discount for customer: '{customer.id}'",
                              code="resource_missing", status=404)

    # The money math

    def _reset_family(self) -> None:
        self._priced: dict[tuple[Any, ...], Totals] = {}

    def price_lines(self, lines: Sequence[Line], discounts: Sequence[str],
                    default_tax_rates: Sequence[str]) -> Totals:
        """Stripe's amounts for a bill of ``lines`` with the bill's ``discounts`` and
        ``default_tax_rates`` (ids). What they read of coupons and tax rates never changes,
        so the answer for the same lines is kept (an invoice's lines each show their part
        of it): treat it as read-only."""
        key = (tuple(lines), tuple(discounts), tuple(default_tax_rates))
        found = self._priced.get(key)
        if found is None:
            if len(self._priced) >= PRICED_KEPT:
                self._priced.clear()
            found = self._priced[key] = self._price_lines(lines, discounts, default_tax_rates)
        return found

    def _price_lines(self, lines: Sequence[Line], discounts: Sequence[str],
                     default_tax_rates: Sequence[str]) -> Totals:
        net = {line.key: line.amount for line in lines}
        amounts: dict[str, list[dict[str, Any]]] = {line.key: [] for line in lines}
        item_discount = {line.key: 0 for line in lines}
        totals: dict[str, int] = {}
        # Each line's own discounts first, in order, each on what is left of the line.
        for line in lines:
            for discount_id in line.discounts:
                coupon = self._coupon_of(discount_id)
                if not line.discountable or not _applies(coupon, line):
                    continue
                off = _off(coupon, net[line.key], net[line.key])
                net[line.key] -= off
                item_discount[line.key] += off
                amounts[line.key].append({"amount": off, "discount": discount_id})
                totals[discount_id] = totals.get(discount_id, 0) + off
        # Then the bill's, on what the lines eligible for it have left.
        for discount_id in discounts:
            coupon = self._coupon_of(discount_id)
            eligible = [line for line in lines if line.discountable and _applies(coupon, line)]
            left = [net[line.key] for line in eligible]
            if coupon.amount_off is not None:  # (shared by what lines charge, not credit)
                charged = [max(remaining, 0) for remaining in left]
                shares = _prorate(min(coupon.amount_off, sum(charged)), charged)
            else:
                shares = [_off(coupon, remaining, remaining) for remaining in left]
            for line, off in zip(eligible, shares, strict=True):
                net[line.key] -= off
                amounts[line.key].append({"amount": off, "discount": discount_id})
                totals[discount_id] = totals.get(discount_id, 0) + off
        priced: dict[str, PricedLine] = {}
        inclusive_tax = exclusive_tax = 0
        by_rate: dict[str, dict[str, Any]] = {}
        for line in lines:
            rates = [self.tax_rates.objects[rate_id] for rate_id in
                     (default_tax_rates if line.tax_rates is None else line.tax_rates)]
            taxes = self._line_taxes(net[line.key], rates)
            for tax in taxes:
                rate_id = tax["tax_rate_details"]["tax_rate"]
                if tax["tax_behavior"] == "inclusive":
                    inclusive_tax += tax["amount"]
                else:
                    exclusive_tax += tax["amount"]
                summed = by_rate.setdefault(rate_id, {**tax, "amount": 0, "taxable_amount": 0})
                summed["amount"] += tax["amount"]
                summed["taxable_amount"] += tax["taxable_amount"]
            priced[line.key] = PricedLine(amounts[line.key], taxes, net[line.key],
                                          item_discount[line.key])
        subtotal = sum(line.amount - item_discount[line.key] for line in lines)
        bill_discount = sum(totals.get(discount_id, 0) for discount_id in discounts)
        total = subtotal - bill_discount + exclusive_tax
        return Totals(
            lines=priced, subtotal=subtotal, subtotal_excluding_tax=subtotal - inclusive_tax,
            total=total, total_excluding_tax=total - exclusive_tax - inclusive_tax,
            total_discount_amounts=[{"amount": amount, "discount": discount_id}
                                    for discount_id, amount in totals.items()],
            total_taxes=list(by_rate.values()))

    def _coupon_of(self, discount_id: str) -> Coupon:
        return self.coupons.objects[self.discounts.objects[discount_id].coupon]

    @staticmethod
    def _line_taxes(net: int, rates: Sequence[Any]) -> list[dict[str, Any]]:
        """A line's taxes on ``net`` (its amount after discounts): the inclusive rates' share
        taken out of it, the exclusive rates' added on what is left without tax."""
        inclusive = [rate for rate in rates if rate.inclusive]
        exclusive = [rate for rate in rates if not rate.inclusive]
        hundred = decimal.Decimal(100)
        share = sum((decimal.Decimal(str(rate.percentage)) for rate in inclusive),
                    decimal.Decimal(0))
        taxable = _round(decimal.Decimal(net) * hundred / (hundred + share))
        taxes = []
        included = 0
        for index, rate in enumerate(inclusive):
            if index == len(inclusive) - 1:
                amount = net - taxable - included  # the inclusive taxes add up to net - taxable
            else:
                amount = _round(decimal.Decimal(taxable)
                                * decimal.Decimal(str(rate.percentage)) / hundred)
            included += amount
            taxes.append(_tax(rate, amount, taxable, "inclusive"))
        for rate in exclusive:
            amount = _round(decimal.Decimal(taxable)
                            * decimal.Decimal(str(rate.percentage)) / hundred)
            taxes.append(_tax(rate, amount, taxable, "exclusive"))
        return taxes


def _applies(coupon: Coupon, line: Line) -> bool:
    return coupon.products is None or line.product in coupon.products


def _off(coupon: Coupon, base: int, left: int) -> int:
    """What ``coupon`` takes off an amount ``base`` of which ``left`` remains. A credit (a
    proration's negative line) is discounted by a percentage too, lessening the credit; an
    amount off takes nothing off a credit."""
    if coupon.amount_off is not None:
        return max(min(coupon.amount_off, left), 0)
    off = _round(decimal.Decimal(base) * decimal.Decimal(str(coupon.percent_off)) / 100)
    return max(off, left) if left < 0 else min(off, left)


def _tax(rate: Any, amount: int, taxable: int, behavior: str) -> dict[str, Any]:
    return {"amount": amount, "tax_behavior": behavior,
            "tax_rate_details": {"tax_rate": rate.id},
            "taxability_reason": "standard_rated" if rate.percentage else "zero_rated",
            "taxable_amount": taxable, "type": "tax_rate_details"}


__all__ = ["COUPON", "DISCOUNT", "PROMOTION_CODE", "Coupon", "Discount",
           "Discounts", "Line", "PricedLine", "PromotionCode", "Totals"]
