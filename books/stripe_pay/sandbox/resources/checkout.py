"""Checkout: Stripe-hosted checkout sessions and payment links, with their line items.

A checkout session is made in ``payment``, ``setup`` or ``subscription`` mode, stays ``open``
until it expires, and is completed on Stripe's payment page, which the API cannot do: so a
session here never completes, and the PaymentIntent, SetupIntent or subscription it would
make at completion (since API version 2022-08-01 they are made then, not at creation) never
appears. ``expire`` closes an open session. A payment link is a lasting page whose visits
would each open a checkout session; it is turned off and on with ``active``.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

import attrs

from .. import pages
from ..backend import Equals, Matches, Refused, Resource, Store, Within, handles, route
from ..errors import bad_parameter, invalid_request, no_such
from ..rules import merge_metadata, refuse_accounts, valid_currency
from ..shapes import Derived, Shape, derived
from .catalog import Catalog, Price
from .customers import Customers

#: A session's life: from 30 minutes to 24 hours (24 hours unless ``expires_at`` says).
MIN_LIFETIME, MAX_LIFETIME = 30 * 60, 24 * 60 * 60
#: How many line items a mode allows: payment 100; subscription 20 recurring + 20 one-time.
MAX_PAYMENT_ITEMS, MAX_SUBSCRIPTION_ITEMS, MAX_LINK_ITEMS = 100, 20, 20
#: ui modes without a hosted page: they take no success_url or cancel_url, and get a secret.
EMBEDDED_UI_MODES = ("embedded_page", "elements")
SESSION_LINE_ITEMS_INLINE = 10
_URL = re.compile(r"^https?://[^\s/?#]+[^\s]*$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
CUSTOM_TEXTS = ("after_submit", "shipping_address", "submit", "terms_of_service_acceptance")


@attrs.define(eq=False)
class CheckoutItem:
    """A line item of a session or link (``li_``): a price and a quantity."""

    id: str
    seq: int
    price: str
    currency: str
    amount: int
    description: str | None
    quantity: int | None
    adjustable_quantity: dict[str, Any] | None = None
    metadata: dict[str, str] | None = None


@attrs.define(eq=False)
class CheckoutSession:
    """A checkout session: open, then expired (completion happens on Stripe's page)."""

    id: str
    seq: int
    created: int
    expires_at: int
    mode: str
    ui_mode: str
    currency: str | None
    items: list[CheckoutItem] = attrs.field(factory=list)
    status: str = "open"
    customer: str | None = None
    customer_email: str | None = None
    customer_creation: str | None = None
    client_reference_id: str | None = None
    client_secret: str | None = None
    success_url: str | None = None
    cancel_url: str | None = None
    return_url: str | None = None
    redirect_on_completion: str | None = None
    metadata: dict[str, str] = attrs.field(factory=dict)
    locale: str | None = None
    submit_type: str | None = None
    billing_address_collection: str | None = None
    payment_method_collection: str | None = None
    allow_promotion_codes: bool | None = None
    allowed_payment_method_types: list[str] | None = None
    excluded_payment_method_types: list[str] | None = None
    automatic_tax_enabled: bool = False
    phone_number_collection: dict[str, bool] = attrs.field(factory=lambda: {"enabled": False})
    tax_id_collection: dict[str, Any] | None = None
    shipping_address_collection: dict[str, Any] | None = None
    custom_text: dict[str, Any] = attrs.field(factory=lambda: dict.fromkeys(CUSTOM_TEXTS))
    custom_fields: list[dict[str, Any]] = attrs.field(factory=list)
    consent_collection: dict[str, Any] | None = None
    after_expiration: dict[str, Any] | None = None
    invoice_creation: dict[str, Any] | None = None
    adaptive_pricing: dict[str, bool] | None = None
    integration_identifier: str | None = None
    origin_context: str | None = None
    permissions: dict[str, Any] | None = None
    name_collection: dict[str, Any] | None = None
    payment_link: str | None = None
    deleted: bool = False

    OBJECT: ClassVar[str] = "checkout.session"

    def amount(self) -> int | None:
        return None if self.mode == "setup" else sum(item.amount for item in self.items)


@attrs.define(eq=False)
class PaymentLink:
    """A payment link: a lasting checkout page for its line items, on or off (``active``)."""

    id: str
    seq: int
    created: int
    url: str
    currency: str
    recurring: bool
    items: list[CheckoutItem] = attrs.field(factory=list)
    active: bool = True
    metadata: dict[str, str] = attrs.field(factory=dict)
    after_completion: dict[str, Any] = attrs.field(factory=lambda: {
        "hosted_confirmation": {"custom_message": None}, "redirect": None,
        "type": "hosted_confirmation"})
    allow_promotion_codes: bool = False
    billing_address_collection: str = "auto"
    customer_creation: str = "if_required"
    inactive_message: str | None = None
    payment_method_collection: str = "always"
    payment_method_types: list[str] | None = None
    submit_type: str = "auto"
    automatic_tax_enabled: bool = False
    phone_number_collection: dict[str, bool] = attrs.field(factory=lambda: {"enabled": False})
    tax_id_collection: dict[str, Any] = attrs.field(factory=lambda: {"enabled": False,
                                                                     "required": "never"})
    shipping_address_collection: dict[str, Any] | None = None
    custom_text: dict[str, Any] = attrs.field(factory=lambda: dict.fromkeys(CUSTOM_TEXTS))
    custom_fields: list[dict[str, Any]] = attrs.field(factory=list)
    restrictions: dict[str, Any] | None = None
    deleted: bool = False

    OBJECT: ClassVar[str] = "payment_link"


# Shapes


def _item_price(item: CheckoutItem, backend: Checkout) -> dict[str, Any]:
    return backend.render(backend.prices.objects[item.price])


ITEM = Shape(
    "item", "LineItem",
    own=("adjustable_quantity", "currency", "description", "metadata", "quantity"),
    renamed={"amount_subtotal": "amount", "amount_total": "amount"},
    fixed={"amount_discount": 0, "amount_tax": 0},
    derived=(derived("price", _item_price),),
    included={"discounts": lambda item, backend: [], "taxes": lambda item, backend: []},
    stub_when_deleted=False,
)


def _items_list(owner: CheckoutSession | PaymentLink, path: str, backend: Checkout
                ) -> dict[str, Any]:
    shown = owner.items[:SESSION_LINE_ITEMS_INLINE]
    return {"object": "list", "data": [ITEM.render(item, backend) for item in shown],
            "has_more": len(owner.items) > SESSION_LINE_ITEMS_INLINE, "url": path}


def _session_amounts(session: CheckoutSession, backend: Checkout) -> dict[str, Any]:
    amount = session.amount()
    return {"amount_subtotal": amount, "amount_total": amount,
            "total_details": None if amount is None else {
                "amount_discount": 0, "amount_shipping": 0, "amount_tax": 0}}


def _session_url(session: CheckoutSession, backend: Checkout) -> str | None:
    if session.ui_mode != "hosted_page" or session.status != "open":
        return None
    return f"https://checkout.stripe.com/c/pay/{session.id}"


def _automatic_tax(enabled: bool) -> dict[str, Any]:
    return {"enabled": enabled,
            "liability": {"account": None, "type": "self"} if enabled else None,
            "provider": None, "status": None}


def _saved_payment_method_options(session: CheckoutSession, backend: Checkout
                                  ) -> dict[str, Any] | None:
    if session.customer is None or session.mode == "setup":
        return None
    return {"allow_redisplay_filters": ["always"], "payment_method_remove": None,
            "payment_method_save": None}


SESSION = Shape(
    "checkout.session", "checkout.Session",
    own=("adaptive_pricing", "after_expiration", "allow_promotion_codes",
         "allowed_payment_method_types", "billing_address_collection", "cancel_url",
         "client_reference_id", "client_secret", "consent_collection", "created", "currency",
         "custom_fields", "custom_text", "customer", "customer_creation", "customer_email",
         "excluded_payment_method_types", "expires_at", "integration_identifier",
         "invoice_creation", "locale", "metadata", "mode", "name_collection", "origin_context",
         "payment_link", "payment_method_collection", "permissions", "phone_number_collection",
         "redirect_on_completion", "return_url", "shipping_address_collection", "status",
         "submit_type", "success_url", "tax_id_collection", "ui_mode"),
    fixed={"branding_settings": None, "collected_information": None, "consent": None,
           "currency_conversion": None, "customer_account": None, "customer_details": None,
           "discounts": None, "invoice": None, "livemode": False, "managed_payments": None,
           "optional_items": None, "payment_intent": None,
           "payment_method_configuration_details": None, "payment_method_options": {},
           "presentment_details": None, "recovered_from": None, "setup_intent": None,
           "shipping_cost": None, "shipping_options": [], "subscription": None,
           "wallet_options": None},
    derived=(Derived(("amount_subtotal", "amount_total", "total_details"), _session_amounts),
             derived("url", _session_url),
             derived("automatic_tax", lambda session, backend: _automatic_tax(
                 session.automatic_tax_enabled)),
             derived("payment_method_types", lambda session, backend: list(
                 session.allowed_payment_method_types or ["card"])),
             derived("payment_status", lambda session, backend: (
                 "no_payment_required" if session.mode == "setup" else "unpaid")),
             derived("saved_payment_method_options", _saved_payment_method_options)),
    included={"line_items": lambda session, backend: _items_list(
                  session, f"/v1/checkout/sessions/{session.id}/line_items", backend),
              "total_details.breakdown": lambda session, backend: {"discounts": [],
                                                                   "taxes": []}},
)


def _link_invoice_creation(link: PaymentLink, backend: Checkout) -> dict[str, Any] | None:
    if link.recurring:
        return None
    return {"enabled": False, "invoice_data": _invoice_data()}


def _invoice_data() -> dict[str, Any]:
    return {"account_tax_ids": None, "custom_fields": None, "description": None,
            "footer": None, "issuer": None, "metadata": {}, "rendering_options": None}


def _link_subscription_data(link: PaymentLink, backend: Checkout) -> dict[str, Any] | None:
    if not link.recurring:
        return None
    return {"description": None,
            "invoice_settings": {"issuer": {"account": None, "type": "self"}},
            "metadata": {}, "trial_period_days": None, "trial_settings": None}


LINK = Shape(
    "payment_link", "PaymentLink",
    own=("active", "after_completion", "allow_promotion_codes", "billing_address_collection",
         "currency", "custom_fields", "custom_text", "customer_creation", "inactive_message",
         "metadata", "payment_method_collection", "payment_method_types",
         "phone_number_collection", "restrictions", "shipping_address_collection",
         "submit_type", "tax_id_collection", "url"),
    fixed={"application": None, "application_fee_amount": None,
           "application_fee_percent": None, "consent_collection": None, "livemode": False,
           "managed_payments": None, "name_collection": None, "on_behalf_of": None,
           "optional_items": None, "payment_intent_data": None, "payment_method_options": None,
           "shipping_options": [], "transfer_data": None},
    derived=(derived("automatic_tax", lambda link, backend: {
                 "enabled": link.automatic_tax_enabled,
                 "liability": {"account": None, "type": "self"}
                 if link.automatic_tax_enabled else None}),
             derived("invoice_creation", _link_invoice_creation),
             derived("subscription_data", _link_subscription_data)),
    included={"line_items": lambda link, backend: _items_list(
        link, f"/v1/payment_links/{link.id}/line_items", backend)},
)


def _made_at_completion(session: CheckoutSession, wanted: Any) -> bool:
    """Customer details and payment intents come with completion, on Stripe's page: no
    session here has them."""
    return False


class Checkout(Customers, Catalog):
    """The checkout family: checkout sessions and payment links."""

    RESOURCES: ClassVar[tuple[Resource, ...]] = (
        Resource(
            SESSION, "checkout_sessions",
            filters=(Refused("customer_account", kind="account"), Equals("customer"),
                     Matches("customer_details", test=_made_at_completion),
                     Matches("payment_intent", test=_made_at_completion),
                     Equals("payment_link"), Equals("status"),
                     Refused("subscription", kind="subscription"), Within("created")),
        ),
        Resource(LINK, "payment_links", filters=(Equals("active"),)),
    )
    SHAPES = (ITEM,)
    checkout_sessions: Store[CheckoutSession]
    payment_links: Store[PaymentLink]

    # Checkout sessions

    @handles("checkout.session", "create")
    def create_checkout_session(self, params: dict[str, Any]) -> CheckoutSession:
        """A session in ``payment``, ``setup`` or ``subscription`` mode, open until it expires.

        Everything that depends on the parameters alone is refused first, as Stripe's
        validation does (no idempotent answer is kept for those); then the customer and the
        prices are looked up.
        """
        refuse_accounts(params)
        now = self.now()
        ui_mode = params.get("ui_mode", "hosted_page")
        _check_urls(params, ui_mode)
        _check_customer_params(params)
        expires_at = _expires_at(params, now)
        given_mode = params.get("mode")
        items_given = params.get("line_items")
        if given_mode == "setup":
            if items_given:
                raise bad_parameter("You can't pass line_items in setup mode.",
                                    param="line_items")
            if "currency" not in params and "allowed_payment_method_types" not in params:
                raise bad_parameter(
                    "Missing required param: currency. A setup mode session needs a currency "
                    "(or allowed_payment_method_types).", param="currency",
                    code="parameter_missing")
        elif not items_given:
            raise bad_parameter(
                f"Missing required param: line_items. A {given_mode or 'payment'} mode session "
                "needs line items; to save a payment method without paying, use mode=setup.",
                param="line_items", code="parameter_missing")
        for index, item in enumerate(items_given or ()):
            _check_item_params(item, f"line_items[{index}]")
        customer = None
        if "customer" in params:
            customer = self.customers.get(params["customer"], param="customer")
        prices = [self._item_price(item, f"line_items[{index}]")
                  for index, item in enumerate(items_given or ())]
        mode = given_mode or ("subscription" if any(price.type == "recurring"
                                                    for price, _ in prices) else "payment")
        currency = self._checked_currency(prices, params)
        _check_mode(mode, prices, params)
        session = CheckoutSession(
            id=self.new_id("cs_test_", 58), seq=self._next_seq(), created=now,
            expires_at=expires_at, mode=mode, ui_mode=ui_mode, currency=currency,
            customer=None if customer is None else customer.id)
        if ui_mode != "hosted_page":
            session.client_secret = f"{session.id}_secret_{self.new_id('', 24)}"
        if ui_mode == "embedded_page":
            session.redirect_on_completion = params.get("redirect_on_completion", "always")
        if mode == "payment" and customer is None:
            session.customer_creation = params.get("customer_creation", "if_required")
        if mode == "subscription":
            session.payment_method_collection = params.get("payment_method_collection",
                                                           "always")
        if mode == "payment":
            session.invoice_creation = {
                "enabled": params.get("invoice_creation", {}).get("enabled", False),
                "invoice_data": _invoice_data()}
        if mode != "setup":
            session.adaptive_pricing = {
                "enabled": params.get("adaptive_pricing", {}).get("enabled", False)}
        self._apply_session(session, params)
        given_items = list(items_given or ())
        session.items = [self._new_item(price, quantity, given) for (price, quantity), given in
                         zip(self._made_prices(prices, given_items), given_items, strict=True)]
        return self.change("create", session)

    def _apply_session(self, session: CheckoutSession, params: dict[str, Any]) -> None:
        for field in ("customer_email", "client_reference_id", "success_url", "cancel_url",
                      "return_url", "locale", "submit_type", "billing_address_collection",
                      "allow_promotion_codes", "integration_identifier", "origin_context"):
            if field in params:
                setattr(session, field, params[field])
        for field in ("allowed_payment_method_types", "excluded_payment_method_types"):
            if field in params:
                setattr(session, field, list(params[field]))
        if "metadata" in params:
            session.metadata = merge_metadata({}, params["metadata"])
        if "automatic_tax" in params:
            session.automatic_tax_enabled = params["automatic_tax"]["enabled"]
        if "phone_number_collection" in params:
            session.phone_number_collection = {
                "enabled": params["phone_number_collection"]["enabled"]}
        session.tax_id_collection = _tax_id_collection(params.get("tax_id_collection"))
        if "shipping_address_collection" in params:
            session.shipping_address_collection = {"allowed_countries": list(
                params["shipping_address_collection"]["allowed_countries"])}
        session.custom_text = _custom_text(params.get("custom_text"), session.custom_text)
        if "custom_fields" in params:
            session.custom_fields = [_custom_field(field) for field in params["custom_fields"]]
        if "consent_collection" in params:
            given = params["consent_collection"]
            agreement = given.get("payment_method_reuse_agreement")
            session.consent_collection = {
                "payment_method_reuse_agreement": None if agreement is None else {
                    "position": agreement["position"]},
                "promotions": given.get("promotions"),
                "terms_of_service": given.get("terms_of_service")}
        if "after_expiration" in params:
            recovery = params["after_expiration"].get("recovery")
            session.after_expiration = {"recovery": None if recovery is None else {
                "allow_promotion_codes": recovery.get("allow_promotion_codes", False),
                "enabled": recovery["enabled"], "expires_at": None, "url": None}}
        if "permissions" in params:
            session.permissions = {"update_shipping_details": params["permissions"].get(
                "update_shipping_details")}
        if "name_collection" in params:
            session.name_collection = {
                kind: None if kind not in params["name_collection"] else {
                    "enabled": params["name_collection"][kind]["enabled"],
                    "optional": params["name_collection"][kind].get("optional", False)}
                for kind in ("business", "individual")}

    def _item_price(self, item: dict[str, Any], param: str) -> tuple[Price, int | None]:
        """The price of a line item (its price_data checked, not yet made: a stand-in), and
        its quantity."""
        quantity = item.get("quantity")
        if "price" in item:
            price = self.prices.get(item["price"], param=f"{param}[price]")
            if not price.active:
                raise invalid_request(
                    "The price specified is inactive. This field only accepts active prices.",
                    param=f"{param}[price]")
        else:
            data = item["price_data"]
            if "product" in data:
                self.products.get(data["product"], param=f"{param}[price_data][product]")
            price = Price(id="", seq=0, created=0, product=data.get("product", ""),
                          currency=valid_currency(data["currency"],
                                                  f"{param}[price_data][currency]"),
                          type="recurring" if "recurring" in data else "one_time",
                          recurring=data.get("recurring"))
        if price.custom_unit_amount is not None:
            raise invalid_request(
                "Prices with custom_unit_amount (customers choose what to pay) are not "
                "supported by this sandbox's checkout; use a price with a unit_amount.",
                param=f"{param}[price]")
        metered = (price.recurring or {}).get("usage_type") == "metered"
        if metered and quantity is not None:
            raise invalid_request(
                f"Quantity should not be specified where usage_type is `metered`. Remove "
                f"quantity from {param}.", param=f"{param}[quantity]")
        if not metered and quantity is None:
            raise bad_parameter(f"Quantity is required. Add `quantity` to `{param}`.",
                                param=f"{param}[quantity]", code="parameter_missing")
        return price, quantity

    @staticmethod
    def _checked_currency(prices: list[tuple[Price, int | None]], params: dict[str, Any]
                          ) -> str | None:
        """The one currency of every line item (or the session's own, in setup mode)."""
        currency = valid_currency(params["currency"]) if "currency" in params else None
        for index, (price, _) in enumerate(prices):
            if currency is None:
                currency = price.currency
            elif price.currency != currency:
                raise invalid_request(
                    f"The price specified in line_items[{index}] has currency "
                    f"{price.currency}, but the session's currency is {currency}: every line "
                    "item must be in the same currency.", param=f"line_items[{index}][price]")
        return currency

    def _made_prices(self, prices: list[tuple[Price, int | None]],
                     items: list[dict[str, Any]]) -> list[tuple[Price, int | None]]:
        """The line items' prices, those given as price_data made now (archived, as Stripe
        makes them): everything has been checked."""
        made = []
        for (price, quantity), item in zip(prices, items, strict=True):
            if "price_data" in item:
                data = dict(item["price_data"], active=False)
                price = self.create_price(data)
            made.append((price, quantity))
        return made

    def _new_item(self, price: Price, quantity: int | None, given: dict[str, Any]
                  ) -> CheckoutItem:
        product = self.products.objects[price.product]
        adjustable = given.get("adjustable_quantity")
        return CheckoutItem(
            id=self.new_id("li_"), seq=self._next_seq(), price=price.id,
            currency=price.currency, amount=price.amount_for(quantity or 0),
            description=product.name, quantity=quantity,
            adjustable_quantity=None if adjustable is None else {
                "enabled": adjustable["enabled"], "maximum": adjustable.get("maximum"),
                "minimum": adjustable.get("minimum")},
            metadata=dict(given["metadata"]) if "metadata" in given else None)

    @handles("checkout.session", "update")
    def update_checkout_session(self, session_id: str, params: dict[str, Any]
                                ) -> CheckoutSession:
        """Change a session's metadata (the rest of what Stripe updates is not served)."""
        session = self.change("update", self.checkout_sessions.get(session_id))
        for name in ("collected_information", "line_items", "payment_intent_data",
                     "shipping_options"):
            if name in params:
                raise invalid_request(
                    f"Updating a checkout session's {name} is not supported by this sandbox; "
                    "only metadata can be updated.", param=name)
        if "metadata" in params:
            session.metadata = merge_metadata(session.metadata, params["metadata"])
        return session

    @handles("checkout.session", "expire")
    def expire_checkout_session(self, session_id: str, params: dict[str, Any] | None = None
                                ) -> CheckoutSession:
        """open -> expired: the session can no longer be paid, and its url is gone."""
        session = self.change("expire", self.checkout_sessions.get(session_id))
        if session.status != "open":
            raise invalid_request(
                f"Only Checkout Sessions with a status of open can be expired. This Checkout "
                f"Session has a status of {session.status}.")
        session.status = "expired"
        return session

    @route("GET", "/v1/checkout/sessions/{id}/line_items", "SessionLineItemListParams",
           kind="item", name="line_items", params_module="stripe.params.checkout")
    def list_checkout_session_line_items(self, session_id: str, params: dict[str, Any]
                                         ) -> dict[str, Any]:
        """A session's line items, in the order they were given."""
        session = self.checkout_sessions.get(session_id)
        return self._item_page(session.items, params,
                               f"/v1/checkout/sessions/{session.id}/line_items")

    def _item_page(self, items: list[CheckoutItem], params: dict[str, Any], url: str
                   ) -> dict[str, Any]:
        return pages.parts_page(self, items, params, url, shape=ITEM, kind="line item")

    # Payment links

    @handles("payment_link", "create")
    def create_payment_link(self, params: dict[str, Any]) -> PaymentLink:
        """A link to a Stripe-hosted page selling ``line_items`` (one currency, at most 20)."""
        refuse_accounts(params)
        if "on_behalf_of" in params:
            raise no_such("account", params["on_behalf_of"], param="on_behalf_of")
        items = params["line_items"]
        if len(items) > MAX_LINK_ITEMS:
            raise bad_parameter(f"A payment link can have at most {MAX_LINK_ITEMS} line items.",
                                param="line_items")
        for index, item in enumerate(items):
            _check_item_params(item, f"line_items[{index}]")
        prices = [self._item_price(item, f"line_items[{index}]")
                  for index, item in enumerate(items)]
        currency = self._checked_currency(prices, {})
        assert currency is not None  # line_items is required and not empty
        link = PaymentLink(id=self.new_id("plink_"), seq=self._next_seq(), created=self.now(),
                           url=f"https://buy.stripe.com/test_{self.new_id('', 14)}",
                           currency=currency,
                           recurring=any(price.type == "recurring" for price, _ in prices))
        self._apply_link(link, params)
        if "metadata" in params:
            link.metadata = merge_metadata({}, params["metadata"])
        link.items = [self._new_item(price, quantity, given) for (price, quantity), given in
                      zip(self._made_prices(prices, items), items, strict=True)]
        return self.change("create", link)

    @handles("payment_link", "update")
    def update_payment_link(self, link_id: str, params: dict[str, Any]) -> PaymentLink:
        """Turn a link off or on (``active``), and change its settings and line items'
        quantities (``line_items[n][id]`` names the item)."""
        link = self.change("update", self.payment_links.get(link_id))
        if "on_behalf_of" in params:
            raise no_such("account", params["on_behalf_of"], param="on_behalf_of")
        for index, given in enumerate(params.get("line_items", ())):
            found = next((item for item in link.items if item.id == given["id"]), None)
            if found is None:
                raise invalid_request(
                    f"The line item {given['id']} is not on this payment link.",
                    param=f"line_items[{index}][id]")
            if "quantity" in given:
                found.quantity = given["quantity"]
                found.amount = self.prices.objects[found.price].amount_for(given["quantity"])
            if "adjustable_quantity" in given:
                adjustable = given["adjustable_quantity"]
                found.adjustable_quantity = {"enabled": adjustable["enabled"],
                                             "maximum": adjustable.get("maximum"),
                                             "minimum": adjustable.get("minimum")}
        if "active" in params:
            link.active = params["active"]
        if "metadata" in params:
            link.metadata = merge_metadata(link.metadata, params["metadata"])
        self._apply_link(link, params)
        return link

    def _apply_link(self, link: PaymentLink, params: dict[str, Any]) -> None:
        for field in ("allow_promotion_codes", "billing_address_collection",
                      "customer_creation", "payment_method_collection", "submit_type"):
            if field in params:
                setattr(link, field, params[field])
        if "inactive_message" in params:
            link.inactive_message = params["inactive_message"] or None
        if "payment_method_types" in params:
            types = params["payment_method_types"]
            link.payment_method_types = None if types == "" else list(types)
        if "after_completion" in params:
            link.after_completion = _after_completion(params["after_completion"])
        if "automatic_tax" in params:
            link.automatic_tax_enabled = params["automatic_tax"]["enabled"]
        if "phone_number_collection" in params:
            link.phone_number_collection = {
                "enabled": params["phone_number_collection"]["enabled"]}
        if "tax_id_collection" in params:
            link.tax_id_collection = _tax_id_collection(params["tax_id_collection"])
        if "shipping_address_collection" in params:
            given = params["shipping_address_collection"]
            link.shipping_address_collection = None if given == "" else {
                "allowed_countries": list(given["allowed_countries"])}
        link.custom_text = _custom_text(params.get("custom_text"), link.custom_text)
        if "custom_fields" in params:
            fields = params["custom_fields"]
            link.custom_fields = [] if fields == "" else [_custom_field(f) for f in fields]
        if "restrictions" in params:
            given = params["restrictions"]
            link.restrictions = None if given == "" else {"completed_sessions": {
                "count": 0, "limit": given["completed_sessions"]["limit"]}}

    @route("GET", "/v1/payment_links/{id}/line_items", "PaymentLinkLineItemListParams",
           kind="item", name="line_items")
    def list_payment_link_line_items(self, link_id: str, params: dict[str, Any]
                                     ) -> dict[str, Any]:
        """A payment link's line items, in the order they were given."""
        link = self.payment_links.get(link_id)
        return self._item_page(link.items, params, f"/v1/payment_links/{link.id}/line_items")


# Rules that read the parameters alone: refused before anything is looked up.


def _check_urls(params: dict[str, Any], ui_mode: str) -> None:
    for name in ("success_url", "cancel_url", "return_url"):
        if name in params and not _URL.match(params[name]):
            raise bad_parameter(
                f"Not a valid URL: {params[name]!r}. {name} must be an absolute http or https "
                "URL, like https://example.com/checkout/done.", param=name, code="url_invalid")
    if ui_mode in EMBEDDED_UI_MODES:
        for name in ("success_url", "cancel_url"):
            if name in params:
                raise bad_parameter(
                    f"You can't use {name} when ui_mode is {ui_mode}; use return_url instead.",
                    param=name)
    elif "return_url" in params or "redirect_on_completion" in params:
        name = "return_url" if "return_url" in params else "redirect_on_completion"
        raise bad_parameter(
            f"{name} can only be used when ui_mode is embedded_page or elements; this "
            f"session's ui_mode is {ui_mode}.", param=name)
    if ui_mode == "embedded_page" and "return_url" not in params and params.get(
            "redirect_on_completion", "always") != "never":
        raise bad_parameter(
            "Missing required param: return_url. An embedded_page session needs return_url "
            "unless redirect_on_completion is never.", param="return_url",
            code="parameter_missing")


def _check_customer_params(params: dict[str, Any]) -> None:
    if "customer" in params and "customer_email" in params:
        raise bad_parameter(
            "You may only specify one of these parameters: customer, customer_email.",
            param="customer_email")
    if "customer_email" in params and not _EMAIL.match(params["customer_email"]):
        raise bad_parameter(f"Invalid email address: {params['customer_email']}",
                            param="customer_email", code="email_invalid")
    if "customer" in params and "customer_creation" in params:
        raise bad_parameter(
            "You may only specify one of these parameters: customer, customer_creation.",
            param="customer_creation")


def _expires_at(params: dict[str, Any], now: int) -> int:
    if "expires_at" not in params:
        return now + MAX_LIFETIME
    expires_at: int = params["expires_at"]
    if expires_at < now + MIN_LIFETIME:
        raise bad_parameter(
            "The `expires_at` timestamp must be at least 30 minutes after the Checkout "
            f"Session is created (at least {now + MIN_LIFETIME}).", param="expires_at")
    if expires_at > now + MAX_LIFETIME:
        raise bad_parameter(
            "The `expires_at` timestamp must be at most 24 hours after the Checkout Session "
            f"is created (at most {now + MAX_LIFETIME}).", param="expires_at")
    return expires_at


def _check_item_params(item: dict[str, Any], param: str) -> None:
    if "price" in item and "price_data" in item:
        raise bad_parameter("You may only specify one of these parameters: price, price_data.",
                            param=f"{param}[price]")
    if "price" not in item and "price_data" not in item:
        raise bad_parameter(f"Missing required param: {param}[price].", param=f"{param}[price]",
                            code="parameter_missing")
    data = item.get("price_data", {})
    if data and "product" not in data and "product_data" not in data:
        raise bad_parameter(
            f"Missing required param: {param}[price_data][product]. Pass product or "
            "product_data.", param=f"{param}[price_data][product]", code="parameter_missing")
    if data and "unit_amount" not in data and "unit_amount_decimal" not in data:
        raise bad_parameter(f"Missing required param: {param}[price_data][unit_amount].",
                            param=f"{param}[price_data][unit_amount]", code="parameter_missing")
    if "quantity" in item and item["quantity"] < 0:
        raise bad_parameter("This value must be greater than or equal to 0.",
                            param=f"{param}[quantity]", code="parameter_invalid_integer")


def _check_mode(mode: str, prices: list[tuple[Price, int | None]], params: dict[str, Any]
                ) -> None:
    """What each mode takes: recurring prices only in subscription mode (which needs one);
    the parameters of another mode's payment refused."""
    recurring = sum(1 for price, _ in prices if price.type == "recurring")
    if mode == "payment":
        if recurring:
            raise invalid_request(
                "You specified `payment` mode but passed a recurring price. Either switch to "
                "`subscription` mode or use only one-time prices.", param="mode")
        if len(prices) > MAX_PAYMENT_ITEMS:
            raise bad_parameter(
                f"A payment mode session can have at most {MAX_PAYMENT_ITEMS} line items.",
                param="line_items")
    if mode == "subscription":
        if not recurring:
            raise invalid_request(
                "You must provide at least one recurring price in `subscription` mode when "
                "using prices.", param="mode")
        if recurring > MAX_SUBSCRIPTION_ITEMS or len(prices) - recurring > (
                MAX_SUBSCRIPTION_ITEMS):
            raise bad_parameter(
                f"A subscription mode session can have at most {MAX_SUBSCRIPTION_ITEMS} "
                f"recurring and {MAX_SUBSCRIPTION_ITEMS} one-time line items.",
                param="line_items")
    only = {"customer_creation": "payment", "invoice_creation": "payment",
            "payment_intent_data": "payment", "payment_method_collection": "subscription",
            "subscription_data": "subscription", "setup_intent_data": "setup"}
    for name, allowed in only.items():
        if name in params and mode != allowed:
            raise bad_parameter(f"{name} can only be used in {allowed} mode; this session is "
                                f"in {mode} mode.", param=name)
    if mode == "setup" and "submit_type" in params:
        raise bad_parameter("submit_type can't be used in setup mode.", param="submit_type")
    for name in ("discounts", "shipping_options", "optional_items"):
        if params.get(name):
            raise invalid_request(
                f"{name} name objects this sandbox does not serve (coupons, promotion codes, "
                "shipping rates) or are not supported by it.", param=name)


# Nested settings, as Stripe renders them.


def _tax_id_collection(given: dict[str, Any] | None) -> dict[str, Any]:
    given = given or {}
    return {"enabled": given.get("enabled", False), "required": given.get("required", "never")}


def _custom_text(given: Any, current: dict[str, Any]) -> dict[str, Any]:
    if given is None:
        return current
    text = dict(current)
    for name in CUSTOM_TEXTS:
        if name in given:
            value = given[name]
            text[name] = None if value == "" else {"message": value["message"]}
    return text


def _custom_field(given: dict[str, Any]) -> dict[str, Any]:
    kind = given["type"]
    entry = {"default_value": None, "maximum_length": None, "minimum_length": None,
             "value": None}
    settings = given.get(kind, {})
    return {
        "dropdown": None if kind != "dropdown" else {
            "default_value": settings.get("default_value"),
            "options": [{"label": option["label"], "value": option["value"]}
                        for option in settings.get("options", ())], "value": None},
        "key": given["key"],
        "label": {"custom": given["label"]["custom"], "type": "custom"},
        "numeric": None if kind != "numeric" else {**entry, **{
            key: settings[key] for key in ("default_value", "maximum_length",
                                           "minimum_length") if key in settings}},
        "optional": given.get("optional", False),
        "text": None if kind != "text" else {**entry, **{
            key: settings[key] for key in ("default_value", "maximum_length",
                                           "minimum_length") if key in settings}},
        "type": kind,
    }


def _after_completion(given: dict[str, Any]) -> dict[str, Any]:
    kind = given["type"]
    if kind == "redirect":
        if "redirect" not in given:
            raise bad_parameter("Missing required param: after_completion[redirect].",
                                param="after_completion[redirect]", code="parameter_missing")
        url = given["redirect"]["url"]
        if not _URL.match(url):
            raise bad_parameter(f"Not a valid URL: {url!r}.",
                                param="after_completion[redirect][url]", code="url_invalid")
        return {"hosted_confirmation": None, "redirect": {"url": url}, "type": "redirect"}
    message = given.get("hosted_confirmation", {}).get("custom_message")
    return {"hosted_confirmation": {"custom_message": message}, "redirect": None,
            "type": "hosted_confirmation"}
