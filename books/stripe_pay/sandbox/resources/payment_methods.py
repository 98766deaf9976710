"""Payment methods: the cards customers pay with, as PaymentMethods (``pm_``) and as legacy
card sources (``card_``), and setup intents (``seti_``), which save them for later payments.

Every card is one of Stripe's test cards (``cards.py``), as in test mode: a request that names
``pm_card_visa`` (or ``tok_visa``) gets a new PaymentMethod ``pm_...`` of that card, with its
brand, last four digits, funding, country, expiry and fingerprint; raw card numbers are
refused, as Stripe refuses them in test mode by default. A card that simulates an issuer
decline cannot be attached to a customer (402 ``card_error`` with its ``code`` and
``decline_code``); ``pm_card_chargeCustomerFail`` attaches and then fails every charge. A
detached PaymentMethod can never be used again.

The API other families call (a payment intent's, a charge's, an invoice's payment method)::

    method, card = self.payment_method_for(ref, customer, param="payment_method")

turns what a request names into the :class:`PaymentMethod` to charge and the
:class:`~..cards.TestCard` whose ``behaviour`` says what charging it does. ``ref`` may be

- a test id, ``pm_card_visa`` (any ``pm_card_...``) or ``tok_visa`` (any test token): a new
  PaymentMethod of that card is stored (so the caller must be a handler, inside an operation)
  and returned, attached to nobody;
- a stored ``pm_...``: it must not be spent (detached, see :attr:`PaymentMethod.spent`), and
  if it is attached to a customer, ``customer`` must be that customer;
- a customer's card source ``card_...``: ``customer`` must be its customer; the answer is a
  PaymentMethod view of the card with the card's id (not stored: read it, never announce it);

and raises Stripe's errors otherwise: ``No such PaymentMethod: 'pm_x'`` (or ``token``,
``source``) on ``param``, 400s for a method of another customer or a spent one.
``self.attach_payment_method(method, customer_id)`` attaches a method the way
``POST /v1/payment_methods/{id}/attach`` does (refusing declining cards), and
``card_error(card)`` is the 402 a declining card answers; ``method.set_up`` says whether a
setup intent has set the method up for later payments (which
``pm_card_authenticationRequiredOnSetup`` needs before it pays without authentication).

Customers gain their payment parameters here: ``payment_method`` on create attaches the method;
``source=tok_...`` on create or update stores a card source and makes it the
``default_source`` (replacing the previous default, as Stripe does); ``default_source`` must be
one of the customer's sources, and ``invoice_settings.default_payment_method`` a method
attached to the customer. ``/v1/customers/{id}/sources`` and
``/v1/customers/{id}/payment_methods`` list and change them.

Setup intents: requires_payment_method -> (a payment method) requires_confirmation -> confirm
-> succeeded, or requires_action for cards that authenticate (completed or failed with the
sandbox's ``POST /_sandbox/authenticate/{id}`` control, where a customer would pass 3D Secure),
or back to requires_payment_method with ``last_setup_error`` when the card is declined (a 402,
as Stripe answers); cancel from the first three statuses. On success with a ``customer`` the
method is attached to it.
"""

from __future__ import annotations

import datetime
from typing import Any, ClassVar

import attrs

from .. import cards, pages
from ..backend import Equals, Refused, Resource, Store, Within, handles, route
from ..cards import TestBankAccount, TestCard
from ..errors import ApiError, bad_parameter, invalid_request, no_such
from ..rules import ADDRESS_FIELDS, blank_to_none, merge_metadata, merged_address
from ..shapes import NOT_IN_EXAMPLE, STUB_ONLY, Derived, Shape, derived
from ..store import narrowest
from .customers import Customer, Customers

#: What every payment method type but ``card`` and ``us_bank_account`` keeps under its own key:
#: the sandbox makes cards and US bank accounts.
OTHER_TYPES = ("acss_debit", "affirm", "afterpay_clearpay", "alipay", "alma", "amazon_pay",
    "au_becs_debit", "bacs_debit", "bancontact", "billie", "bizum", "blik", "boleto",
    "card_present", "cashapp", "crypto", "custom", "customer_balance", "eps", "fpx", "giropay",
    "grabpay", "ideal", "interac_present", "kakao_pay", "klarna", "konbini", "kr_card", "link",
    "mb_way", "mobilepay", "multibanco", "naver_pay", "nz_bank_account", "oxxo", "p24",
    "pay_by_bank", "payco", "paynow", "paypal", "paypay", "payto", "pix", "promptpay",
    "revolut_pay", "samsung_pay", "satispay", "scalapay", "sepa_debit", "sequra", "sofort",
    "sunbit", "swish", "twint", "upi", "wechat_pay", "zip")
OTHER_TYPE = "only on payment methods of that type; the sandbox makes cards and US bank accounts"
CONNECT_ONLY = "only on a connected account's external account cards"

RAW_NUMBERS_REFUSED = (
    "Sending credit card numbers directly to the Stripe API is generally unsafe. Use a test "
    "token or test PaymentMethod that maps to the test card you want (card[token]=tok_visa, "
    "or pm_card_visa wherever a payment method goes), see https://stripe.com/docs/testing. "
    "This sandbox, like Stripe's test mode by default, does not take raw card numbers.")
SPENT = ("This PaymentMethod was previously used without being attached to a Customer or was "
         "detached from a Customer, and may not be used again.")


def _no_billing_details() -> dict[str, Any]:
    return {"address": dict.fromkeys(ADDRESS_FIELDS), "email": None, "name": None,
            "phone": None, "tax_id": None}


class _OfATestCard:
    """A model made from one of Stripe's test cards, by name."""

    card_name: str

    @property
    def test_card(self) -> TestCard:
        return cards.named(self.card_name)


@attrs.define(eq=False)
class PaymentMethod(_OfATestCard):
    """A PaymentMethod: one of Stripe's test cards (or test US bank accounts), attached to a
    customer or not; ``card`` or ``us_bank_account`` holds its details, as ``type`` says."""

    id: str
    seq: int
    created: int
    card_name: str
    card: dict[str, Any] | None
    us_bank_account: dict[str, Any] | None = None
    customer: str | None = None
    billing_details: dict[str, Any] = attrs.field(factory=_no_billing_details)
    metadata: dict[str, str] = attrs.field(factory=dict)
    allow_redisplay: str = "unspecified"
    type: str = "card"
    #: detached from its customer: it can never be used or attached again (a family may set it
    #: too for a method a payment used without a customer, which Stripe also retires)
    spent: bool = False
    #: a setup intent has set it up for later (off-session) payments
    set_up: bool = False
    deleted: bool = False

    OBJECT: ClassVar[str] = "payment_method"


@attrs.define(eq=False)
class CardSource(_OfATestCard):
    """A legacy card source of a customer (``card_...``), made from a test token."""

    id: str
    seq: int
    created: int
    customer: str
    card_name: str
    exp_month: int
    exp_year: int
    name: str | None = None
    address: dict[str, str | None] = attrs.field(factory=lambda: dict.fromkeys(ADDRESS_FIELDS))
    metadata: dict[str, str] = attrs.field(factory=dict)
    deleted: bool = False

    OBJECT: ClassVar[str] = "card"


@attrs.define(eq=False)
class SetupIntent:
    """A setup intent and its place in Stripe's state machine (see the module's docstring)."""

    id: str
    seq: int
    created: int
    client_secret: str
    customer: str | None = None
    description: str | None = None
    metadata: dict[str, str] = attrs.field(factory=dict)
    payment_method: str | None = None
    status: str = "requires_payment_method"
    usage: str = "off_session"
    attach_to_self: bool | None = None
    flow_directions: list[str] | None = None
    return_url: str | None = None
    allowed_payment_method_types: list[str] | None = None
    excluded_payment_method_types: list[str] | None = None
    cancellation_reason: str | None = None
    last_setup_error: dict[str, Any] | None = None
    next_action: dict[str, Any] | None = None
    deleted: bool = False

    OBJECT: ClassVar[str] = "setup_intent"


def card_details(card: TestCard, exp_month: int, exp_year: int) -> dict[str, Any]:
    """A PaymentMethod's ``card`` hash for a test card (``description``, ``iin`` and
    ``issuer``, which the SDK declares for Stripe's internal use, are null)."""
    return {
        "brand": card.brand,
        "checks": {"address_line1_check": None, "address_postal_code_check": None,
                   "cvc_check": None},
        "country": card.country,
        "description": None,
        "display_brand": card.display_brand,
        "exp_month": exp_month,
        "exp_year": exp_year,
        "fingerprint": card.fingerprint,
        "funding": card.funding,
        "generated_from": None,
        "iin": None,
        "issuer": None,
        "last4": card.last4,
        "networks": {"available": [card.brand], "preferred": None},
        "regulated_status": "unregulated",
        "three_d_secure_usage": {"supported": card.three_d_secure_supported},
        "wallet": None,
    }


def bank_account_details(account: TestBankAccount) -> dict[str, Any]:
    """A PaymentMethod's ``us_bank_account`` hash for a test bank account."""
    return {"account_holder_type": "individual", "account_type": "checking",
            "bank_name": account.bank_name, "financial_connections_account": None,
            "fingerprint": account.fingerprint, "last4": account.last4,
            "networks": {"preferred": "ach", "supported": ["ach"]},
            "routing_number": account.routing_number, "status_details": {"blocked": None}}


def _test_bank_account(given: Any) -> TestBankAccount:
    """The test bank account ``us_bank_account[routing_number]`` and ``[account_number]``
    name (Stripe takes bank details directly; the sandbox knows its test accounts only)."""
    if not isinstance(given, dict):
        raise bad_parameter("Missing required param: us_bank_account.",
                            param="us_bank_account", code="parameter_missing")
    for field in ("routing_number", "account_number"):
        if not given.get(field):
            raise bad_parameter(f"Missing required param: us_bank_account[{field}].",
                                param=f"us_bank_account[{field}]", code="parameter_missing")
    account = cards.bank_account(given["routing_number"], given["account_number"])
    if account is None:
        known = ", ".join(sorted(one.number for one in cards.BANK_ACCOUNTS))
        raise invalid_request(
            f"This sandbox knows Stripe's test bank accounts only: routing number "
            f"{TestBankAccount.routing_number} with account number one of {known} (or use "
            "pm_usBankAccount_success and its siblings).",
            param="us_bank_account[account_number]")
    return account


def card_error(card: TestCard, *, param: str | None = None) -> ApiError:
    """The 402 ``card_error`` a declining test card answers."""
    return ApiError(status=402, type="card_error", code=card.code or "card_declined",
                    decline_code=card.decline_code, message=card.message, param=param)


PAYMENT_METHOD = Shape(
    "payment_method", "PaymentMethod",
    own=("allow_redisplay", "billing_details", "card", "created", "customer", "metadata",
         "type", "us_bank_account"),
    typed=frozenset({"card", "us_bank_account"}),
    fixed={"customer_account": None, "livemode": False},
    absent={**dict.fromkeys(OTHER_TYPES, OTHER_TYPE), "radar_options": NOT_IN_EXAMPLE},
)


def _card_facts(source: CardSource, backend: Any) -> dict[str, Any]:
    card = source.test_card
    return {"brand": card.legacy_brand, "country": card.country,
            "fingerprint": card.fingerprint, "funding": card.funding, "last4": card.last4,
            **{f"address_{'zip' if field == 'postal_code' else field}": source.address[field]
               for field in ADDRESS_FIELDS}}


_CARD_FACTS = ("brand", "country", "fingerprint", "funding", "last4", "address_city",
               "address_country", "address_line1", "address_line2", "address_zip",
               "address_state")

CARD = Shape(
    "card", "Card",
    own=("customer", "exp_month", "exp_year", "metadata", "name"),
    fixed={"address_line1_check": None, "address_zip_check": None, "cvc_check": None,
           "dynamic_last4": None, "regulated_status": "unregulated",
           "tokenization_method": None},
    derived=(Derived(_CARD_FACTS, _card_facts),),
    absent={"account": CONNECT_ONLY, "available_payout_methods": CONNECT_ONLY,
            "currency": CONNECT_ONLY, "default_for_currency": CONNECT_ONLY,
            "allow_redisplay": NOT_IN_EXAMPLE, "description": NOT_IN_EXAMPLE,
            "iin": NOT_IN_EXAMPLE, "issuer": NOT_IN_EXAMPLE, "networks": NOT_IN_EXAMPLE,
            "status": NOT_IN_EXAMPLE, "deleted": STUB_ONLY},
)


def _payment_method_types(intent: SetupIntent, backend: Any) -> list[str]:
    """The types the intent can set up: cards (all this sandbox has), within the allowed and
    excluded types asked for."""
    types = ["card"]
    if intent.allowed_payment_method_types is not None:
        types = [kind for kind in types if kind in intent.allowed_payment_method_types]
    if intent.excluded_payment_method_types is not None:
        types = [kind for kind in types if kind not in intent.excluded_payment_method_types]
    return types


def _automatic_payment_methods(intent: SetupIntent, backend: Any) -> dict[str, Any] | None:
    if intent.allowed_payment_method_types is not None:
        return None
    return {"allow_redirects": "always", "enabled": True}


SETUP_INTENT = Shape(
    "setup_intent", "SetupIntent",
    own=("allowed_payment_method_types", "attach_to_self", "cancellation_reason",
         "client_secret", "created", "customer", "description",
         "excluded_payment_method_types", "flow_directions", "last_setup_error", "metadata",
         "next_action", "payment_method", "status", "usage"),
    fixed={"application": None, "customer_account": None, "latest_attempt": None,
           "livemode": False, "mandate": None, "on_behalf_of": None,
           "payment_method_configuration_details": None,
           "payment_method_options": {"card": {"mandate_options": None, "network": None,
                                               "request_three_d_secure": "automatic",
                                               "setup_credential_usage": None}},
           "single_use_mandate": None},
    derived=(derived("payment_method_types", _payment_method_types),
             derived("automatic_payment_methods", _automatic_payment_methods)),
    absent={"managed_payments": NOT_IN_EXAMPLE},
)

SETUP_INTENT_CANCELABLE = ("requires_payment_method", "requires_confirmation", "requires_action")
SETUP_INTENT_FINISHED = ("succeeded", "canceled")


class PaymentMethods(Customers):
    """The payment methods family: PaymentMethods, customers' card sources, setup intents."""

    RESOURCES: ClassVar[tuple[Resource, ...]] = (
        Resource(
            PAYMENT_METHOD, "payment_methods",
            filters=(Refused("customer_account", kind="account"), Equals("customer"),
                     Equals("type"), Equals("allow_redisplay")),
        ),
        Resource(CARD, "card_sources", filters=(Equals("customer"),)),
        Resource(
            SETUP_INTENT, "setup_intents",
            filters=(Refused("customer_account", kind="account"), Equals("customer"),
                     Equals("payment_method"), Equals("attach_to_self"), Within("created")),
        ),
    )
    payment_methods: Store[PaymentMethod]
    card_sources: Store[CardSource]
    setup_intents: Store[SetupIntent]

    # The API other families call

    def payment_method_for(self, ref: str, customer: str | None = None, *,
                           param: str = "payment_method") -> tuple[PaymentMethod, TestCard]:
        """The PaymentMethod ``ref`` names, for a payment by ``customer`` (None: nobody), and
        its test card; a test id makes a new one. See the module's docstring."""
        card = cards.find(ref)
        if ref.startswith(("pm_card_", "tok_", "pm_usBankAccount_")):
            if card is None:
                raise no_such("PaymentMethod" if ref.startswith("pm_") else "token", ref,
                              param=param)
            return self._new_payment_method(card), card
        if ref.startswith("card_"):
            source = self._customer_source(ref, customer, param=param)
            return self._source_as_payment_method(source), source.test_card
        found = self.payment_methods.objects.get(ref)
        if found is None or found.deleted:
            raise no_such("PaymentMethod", ref, param=param)
        if found.spent:
            raise invalid_request(SPENT, param=param)
        if found.customer is not None and customer is None:
            raise invalid_request(
                f"The PaymentMethod {ref} belongs to the Customer {found.customer}. Include "
                f"that Customer in the request (customer={found.customer}).", param=param)
        if found.customer is not None and found.customer != customer:
            raise invalid_request(
                f"The PaymentMethod {ref} belongs to the Customer {found.customer}, not to "
                f"{customer}: use one of {customer}'s payment methods.", param=param)
        return found, found.test_card

    def attach_payment_method(self, method: PaymentMethod, customer_id: str, *,
                              param: str = "customer") -> PaymentMethod:
        """Attach ``method`` to the customer, as ``POST /v1/payment_methods/{id}/attach``."""
        self.customers.get(customer_id, param=param)
        self._attach_method(method, customer_id)
        return method

    def _attach_method(self, method: PaymentMethod, customer_id: str) -> None:
        card = method.test_card
        if not card.attachable:
            raise card_error(card)
        if method.spent:
            raise invalid_request(SPENT)
        if method.customer == customer_id:
            return
        if method.customer is not None:
            raise invalid_request(
                "The payment method you provided has already been attached to a customer "
                f"({method.customer}); detach it first, or create a new one.")
        self.change("attach", method).customer = customer_id

    def _new_payment_method(self, card: TestCard, *, exp_month: int | None = None,
                            exp_year: int | None = None) -> PaymentMethod:
        now = self.now()
        month, year = _default_expiry(now)
        method_id = self.new_id("pm_")
        while method_id.startswith("pm_card_"):  # test ids are never a stored method's
            method_id = self.new_id("pm_")
        if isinstance(card, TestBankAccount):
            method = PaymentMethod(id=method_id, seq=self._next_seq(), created=now,
                                   card_name=cards.key_of(card), card=None,
                                   us_bank_account=bank_account_details(card),
                                   type=card.type)
        else:
            method = PaymentMethod(id=method_id, seq=self._next_seq(), created=now,
                                   card_name=card.name,
                                   card=card_details(card, exp_month or month,
                                                     exp_year or year))
        return self.change("create", method)

    def _source_as_payment_method(self, source: CardSource) -> PaymentMethod:
        billing = _no_billing_details()
        billing["address"] = dict(source.address)
        billing["name"] = source.name
        return PaymentMethod(id=source.id, seq=source.seq, created=source.created,
                             card_name=source.card_name, customer=source.customer,
                             card=card_details(source.test_card, source.exp_month,
                                               source.exp_year),
                             billing_details=billing, metadata=dict(source.metadata))

    def _customer_source(self, source_id: str, customer: str | None, *, param: str
                         ) -> CardSource:
        source = self.card_sources.objects.get(source_id)
        if source is None or source.deleted:
            raise no_such("source", source_id, param=param)
        if customer is None:
            raise invalid_request(
                f"The card {source_id} belongs to the Customer {source.customer}. Include that "
                f"Customer in the request (customer={source.customer}).", param=param)
        if source.customer != customer:
            raise invalid_request(
                f"Customer {customer} does not have a linked source with ID {source_id}.",
                param=param, code="resource_missing")
        return source

    # Payment methods

    @handles("payment_method", "create")
    def create_payment_method(self, params: dict[str, Any]) -> PaymentMethod:
        if "customer" in params or "payment_method" in params:
            raise invalid_request(
                "Cloning a customer's PaymentMethod (customer, payment_method) is for connected "
                "accounts, which this sandbox does not have. Create the method with "
                "type=card and card[token]=tok_..., then attach it.",
                param="customer" if "customer" in params else "payment_method")
        if "type" not in params:
            raise bad_parameter("Missing required param: type.", param="type",
                                code="parameter_missing")
        if params["type"] == "us_bank_account":
            method = self._new_payment_method(_test_bank_account(params.get("us_bank_account")))
            self._apply_payment_method(method, params)
            return method
        if params["type"] != "card":
            raise invalid_request(
                f"This sandbox makes card and US bank account payment methods only "
                f"(type=card or type=us_bank_account), not {params['type']}.", param="type")
        given = params.get("card")
        if not given:
            raise bad_parameter("Missing required param: card.", param="card",
                                code="parameter_missing")
        if "number" in given:
            raise invalid_request(RAW_NUMBERS_REFUSED, param="card[number]")
        if "token" not in given:
            raise bad_parameter("Missing required param: card[token].", param="card[token]",
                                code="parameter_missing")
        card = cards.find(given["token"])
        if card is None or not given["token"].startswith("tok_"):
            raise no_such("token", given["token"], param="card[token]")
        method = self._new_payment_method(card, exp_month=given.get("exp_month"),
                                          exp_year=given.get("exp_year"))
        self._apply_payment_method(method, params)
        return method

    @handles("payment_method", "retrieve")
    def retrieve_payment_method(self, method_id: str, params: dict[str, Any]) -> PaymentMethod:
        """A stored method, a test id's new one, or a card source seen as a PaymentMethod."""
        if method_id.startswith("card_"):
            source = self.card_sources.objects.get(method_id)
            if source is None or source.deleted:
                raise no_such("PaymentMethod", method_id)
            return self._source_as_payment_method(source)
        return self._stored_or_new_method(method_id)

    def _stored_or_new_method(self, method_id: str, param: str = "id") -> PaymentMethod:
        card = cards.find(method_id)
        if card is not None and method_id.startswith(("pm_card_", "pm_usBankAccount_")):
            return self._new_payment_method(card)
        found = self.payment_methods.objects.get(method_id)
        if found is None:
            raise no_such("PaymentMethod", method_id, param=param)
        return found

    @handles("payment_method", "update")
    def update_payment_method(self, method_id: str, params: dict[str, Any]) -> PaymentMethod:
        method = self._stored_or_new_method(method_id)
        if method.customer is None:
            raise invalid_request(
                "You must save this PaymentMethod to a customer before you can update it "
                "(attach it first).")
        self.change("update", method)
        self._apply_payment_method(method, params)
        if "card" in params:
            if method.card is None:
                raise invalid_request(
                    f"The PaymentMethod {method.id} is a {method.type} payment method: it has "
                    "no card to update.", param="card")
            card = dict(method.card)
            card.update({field: params["card"][field] for field in ("exp_month", "exp_year")
                         if field in params["card"]})
            method.card = card
        return method

    def _apply_payment_method(self, method: PaymentMethod, params: dict[str, Any]) -> None:
        if "billing_details" in params:
            method.billing_details = _merged_billing_details(params["billing_details"],
                                                             method.billing_details)
        if "metadata" in params:
            method.metadata = merge_metadata(method.metadata, params["metadata"])
        if "allow_redisplay" in params:
            method.allow_redisplay = params["allow_redisplay"]

    @handles("payment_method", "attach")
    def attach_payment_method_route(self, method_id: str, params: dict[str, Any]
                                    ) -> PaymentMethod:
        method = self._stored_or_new_method(method_id)
        if "customer_account" in params:
            raise no_such("account", params["customer_account"], param="customer_account")
        if "customer" not in params:
            raise bad_parameter("Missing required param: customer.", param="customer",
                                code="parameter_missing")
        return self.attach_payment_method(method, params["customer"])

    @handles("payment_method", "detach")
    def detach_payment_method(self, method_id: str, params: dict[str, Any]) -> PaymentMethod:
        """Detach for good: the method can never be used or attached again."""
        method = self._stored_or_new_method(method_id)
        if method.customer is None:
            raise invalid_request("The payment method you provided is not attached to a "
                                  "customer so detachment is impossible.")
        customer = self.customers.objects[method.customer]
        if customer.invoice_settings["default_payment_method"] == method.id:
            settings = dict(customer.invoice_settings, default_payment_method=None)
            self.change("update", customer).invoice_settings = settings
        self.change("detach", method)
        method.customer = None
        method.spent = True
        return method

    @route("GET", "/v1/customers/{id}/payment_methods", "CustomerPaymentMethodListParams",
           kind="payment_method", name="list")
    def list_customer_payment_methods(self, customer_id: str, params: dict[str, Any]
                                      ) -> dict[str, Any]:
        """The customer's attached payment methods, newest first (``type`` narrows them)."""
        customer = self.customers.get(customer_id)
        store = self.payment_methods
        given: dict[str, Any] = {"customer": customer.id}
        given.update((field, params[field]) for field in ("type", "allow_redisplay")
                     if field in params)
        selection = narrowest(store, (store.with_value(field, value)
                                      for field, value in given.items()))

        def test(method: PaymentMethod) -> bool:
            return all(getattr(method, field) == value for field, value in given.items())

        return pages.list_page(self, store, selection, test, params,
                               f"/v1/customers/{customer.id}/payment_methods")

    @route("GET", "/v1/customers/{id}/payment_methods/{payment_method}",
           "CustomerPaymentMethodRetrieveParams", kind="payment_method", name="retrieve")
    def retrieve_customer_payment_method(self, customer_id: str, method_id: str,
                                         params: dict[str, Any]) -> PaymentMethod:
        customer = self.customers.get(customer_id)
        found = self.payment_methods.objects.get(method_id)
        if found is None or found.customer != customer.id:
            raise no_such("PaymentMethod", method_id)
        return found

    # Customers' payment parameters and card sources

    def _apply_customer(self, customer: Customer, params: dict[str, Any]) -> None:
        super()._apply_customer(customer, params)
        if "payment_method" in params:
            method, _ = self.payment_method_for(params["payment_method"], customer.id)
            self._attach_method(method, customer.id)
        if "source" in params:
            previous = customer.default_source
            source = self._new_source(customer, params["source"], param="source")
            customer.default_source = source.id
            if previous is not None:
                self.change("delete", self.card_sources.objects[previous]).deleted = True
        if "default_source" in params:
            wanted = blank_to_none(params["default_source"])
            if wanted is not None:
                self._customer_source(wanted, customer.id, param="default_source")
            customer.default_source = wanted
        default = customer.invoice_settings["default_payment_method"]
        if ("invoice_settings" in params and default is not None
                and not self._is_attached(default, customer.id)):
            raise invalid_request(
                f"The customer does not have a payment method with the ID {default}. The "
                "payment method must be attached to the customer.",
                param="invoice_settings[default_payment_method]")

    def _is_attached(self, method_id: str, customer_id: str) -> bool:
        found: PaymentMethod | CardSource | None = (
            self.card_sources.objects.get(method_id) if method_id.startswith("card_")
            else self.payment_methods.objects.get(method_id))
        return found is not None and not found.deleted and found.customer == customer_id

    def _new_source(self, customer: Customer, token: str, *, param: str) -> CardSource:
        if not token.startswith("tok_"):
            raise invalid_request(
                f"Only test tokens (tok_visa, ...) make card sources in this sandbox, not "
                f"{token!r}; use a PaymentMethod and attach it instead.", param=param)
        card = cards.find(token)
        if card is None:
            raise no_such("token", token, param=param)
        if not card.attachable:
            raise card_error(card, param=param)
        now = self.now()
        month, year = _default_expiry(now)
        source = CardSource(id=self.new_id("card_"), seq=self._next_seq(), created=now,
                            customer=customer.id, card_name=card.name, exp_month=month,
                            exp_year=year)
        return self.change("create", source)

    @route("GET", "/v1/customers/{id}/sources", "CustomerPaymentSourceListParams",
           kind="card", name="list")
    def list_sources(self, customer_id: str, params: dict[str, Any]) -> dict[str, Any]:
        """The customer's card sources, newest first (``object=card``; other kinds: none)."""
        customer = self.customers.get(customer_id)
        store = self.card_sources
        wanted = params.get("object", "card")
        selection = store.with_value("customer", customer.id)
        assert selection is not None

        def test(source: CardSource) -> bool:
            return source.customer == customer.id and wanted == "card"

        return pages.list_page(self, store, selection, test, params,
                               f"/v1/customers/{customer.id}/sources")

    def customer_sources(self, customer: Customer) -> dict[str, Any]:
        """The customer's card sources as ``expand[]=sources`` includes them: the first page
        of ``GET /v1/customers/{id}/sources``."""
        return self.list_sources(customer.id, {})

    @route("POST", "/v1/customers/{id}/sources", "CustomerPaymentSourceCreateParams",
           kind="card", name="create")
    def create_source(self, customer_id: str, params: dict[str, Any]) -> CardSource:
        """A new card source from a test token; the default source if the customer has none."""
        customer = self.customers.get(customer_id)
        source = self._new_source(customer, params["source"], param="source")
        if "metadata" in params:
            source.metadata = merge_metadata(source.metadata, params["metadata"])
        if customer.default_source is None:
            self.change("update", customer).default_source = source.id
        return source

    @route("GET", "/v1/customers/{id}/sources/{source}", "CustomerPaymentSourceRetrieveParams",
           kind="card", name="retrieve")
    def retrieve_source(self, customer_id: str, source_id: str, params: dict[str, Any]
                        ) -> CardSource:
        return self._source_of(customer_id, source_id)[1]

    def _source_of(self, customer_id: str, source_id: str) -> tuple[Customer, CardSource]:
        """The customer of a ``/v1/customers/{id}/sources/{source}`` path, and the source."""
        customer = self.customers.get(customer_id)
        return customer, self._customer_source(source_id, customer.id, param="id")

    @route("POST", "/v1/customers/{id}/sources/{source}", "CustomerPaymentSourceUpdateParams",
           kind="card", name="update")
    def update_source(self, customer_id: str, source_id: str, params: dict[str, Any]
                      ) -> CardSource:
        source = self.change("update", self._source_of(customer_id, source_id)[1])
        for name in ("account_holder_name", "account_holder_type", "owner"):
            if name in params:
                raise invalid_request(f"{name} is for bank account sources; this is a card.",
                                      param=name)
        for field in ("exp_month", "exp_year"):
            if field in params:  # (the SDK types them as text; a card holds numbers)
                if not str(params[field]).isdigit():
                    raise bad_parameter(f"Invalid integer: {params[field]}", param=field,
                                        code="parameter_invalid_integer")
                setattr(source, field, int(params[field]))
        if "name" in params:
            source.name = blank_to_none(params["name"])
        address = dict(source.address)
        for field in ADDRESS_FIELDS:
            param = f"address_{'zip' if field == 'postal_code' else field}"
            if param in params:
                address[field] = blank_to_none(params[param])
        source.address = address
        if "metadata" in params:
            source.metadata = merge_metadata(source.metadata, params["metadata"])
        return source

    @route("DELETE", "/v1/customers/{id}/sources/{source}", "CustomerPaymentSourceDeleteParams",
           kind="card", name="delete")
    def delete_source(self, customer_id: str, source_id: str, params: dict[str, Any]
                      ) -> CardSource:
        """Detach (delete) a card; if it was the default, the newest remaining one is."""
        customer, source = self._source_of(customer_id, source_id)
        self.change("delete", source).deleted = True
        if customer.default_source == source.id:
            remaining = self.lookup("card", "customer", customer.id)
            self.change("update", customer).default_source = (
                remaining[-1].id if remaining else None)
        return source

    # Setup intents

    def _setup_intent(self, intent_id: str) -> SetupIntent:
        found = self.setup_intents.objects.get(intent_id)
        if found is None:
            raise no_such("setupintent", intent_id)  # (Stripe's word for it)
        return found

    @handles("setup_intent", "retrieve")
    def retrieve_setup_intent(self, intent_id: str, params: dict[str, Any]) -> SetupIntent:
        return self._setup_intent(intent_id)

    @handles("setup_intent", "create")
    def create_setup_intent(self, params: dict[str, Any]) -> SetupIntent:
        for name, kind in (("on_behalf_of", "account"), ("customer_account", "account"),
                           ("confirmation_token", "confirmationtoken"),
                           ("payment_method_configuration", "payment method configuration")):
            if name in params:
                raise no_such(kind, params[name], param=name)
        if "single_use" in params:
            raise invalid_request(
                "single_use is for payment methods that need a mandate for one payment; the "
                "sandbox's cards need none. Leave it out.", param="single_use")
        intent_id = self.new_id("seti_")
        intent = SetupIntent(id=intent_id, seq=self._next_seq(), created=self.now(),
                             client_secret=f"{intent_id}_secret_{self.new_id('', 32)}")
        if "usage" in params:
            intent.usage = params["usage"]
        self._apply_setup_intent(intent, params)
        self.change("create", intent)
        if params.get("confirm"):
            self._confirm_setup(intent, {})  # (with what the create already took)
        return intent

    @handles("setup_intent", "update")
    def update_setup_intent(self, intent_id: str, params: dict[str, Any]) -> SetupIntent:
        intent = self.change("update", self._setup_intent(intent_id))
        if intent.status in SETUP_INTENT_FINISHED or intent.status == "requires_action":
            raise invalid_request(
                f"You cannot update this SetupIntent because it has a status of "
                f"{intent.status}.", code="setup_intent_unexpected_state")
        if "customer_account" in params:
            raise no_such("account", params["customer_account"], param="customer_account")
        if "payment_method_configuration" in params:
            raise no_such("payment method configuration",
                          params["payment_method_configuration"],
                          param="payment_method_configuration")
        if "customer" in params and intent.customer not in (None, params["customer"]):
            raise invalid_request(
                f"This SetupIntent already belongs to the Customer {intent.customer}; its "
                "customer can't change.", param="customer")
        self._apply_setup_intent(intent, params)
        return intent

    def _apply_setup_intent(self, intent: SetupIntent, params: dict[str, Any]) -> None:
        if "customer" in params:
            intent.customer = self.customers.get(params["customer"], param="customer").id
        for field in ("description", "return_url"):
            if field in params:
                setattr(intent, field, blank_to_none(params[field]))
        if "metadata" in params:
            intent.metadata = merge_metadata(intent.metadata, params["metadata"])
        if "attach_to_self" in params:
            intent.attach_to_self = params["attach_to_self"]
        if "flow_directions" in params:
            intent.flow_directions = list(params["flow_directions"]) or None
        _apply_types(intent, params)
        self._take_setup_method(intent, params)

    def _take_setup_method(self, intent: SetupIntent, params: dict[str, Any]) -> None:
        """``payment_method`` (or ``payment_method_data``) of a create, update or confirm."""
        if "payment_method" in params and "payment_method_data" in params:
            raise invalid_request("You may only specify one of these parameters: "
                                  "payment_method, payment_method_data.",
                                  param="payment_method_data")
        if "payment_method_data" in params:
            data = params["payment_method_data"]
            if data.get("type") != "card":
                raise invalid_request(
                    "This sandbox sets up card payment methods only "
                    "(payment_method_data[type]=card).", param="payment_method_data[type]")
            raise invalid_request(
                "payment_method_data[card] would send card details; this sandbox takes test "
                "payment methods instead: payment_method=pm_card_visa.",
                param="payment_method_data")
        if "payment_method" in params:
            ref = blank_to_none(params["payment_method"])
            if ref is None:
                intent.payment_method = None
            else:
                method, _ = self.payment_method_for(ref, intent.customer)
                if method.type != "card":
                    raise invalid_request(
                        f"The PaymentMethod {method.id} is a {method.type} payment method; "
                        "this sandbox sets up cards only (bank accounts pay through payment "
                        "intents).", param="payment_method")
                intent.payment_method = method.id
            if intent.status in ("requires_payment_method", "requires_confirmation"):
                intent.status = ("requires_payment_method" if intent.payment_method is None
                                 else "requires_confirmation")

    @handles("setup_intent", "confirm")
    def confirm_setup_intent(self, intent_id: str, params: dict[str, Any]) -> SetupIntent:
        intent = self.change("confirm", self._setup_intent(intent_id))
        self._confirm_setup(intent, params)
        return intent

    def _confirm_setup(self, intent: SetupIntent, params: dict[str, Any]) -> None:
        if intent.status not in ("requires_payment_method", "requires_confirmation"):
            raise invalid_request(
                f"You cannot confirm this SetupIntent because it has a status of "
                f"{intent.status}. Only a SetupIntent with status requires_payment_method or "
                "requires_confirmation can be confirmed.", code="setup_intent_unexpected_state")
        if "allowed_payment_method_types" in params:
            _apply_types(intent, params)
        if "return_url" in params:
            intent.return_url = params["return_url"]
        self._take_setup_method(intent, params)
        if intent.payment_method is None:
            raise invalid_request(
                "You cannot confirm this SetupIntent because it's missing a payment method. "
                "Update it with a payment method, or confirm it again with one "
                "(payment_method=pm_card_visa).", param="payment_method",
                code="setup_intent_unexpected_state")
        intent.last_setup_error = None
        card = self._setup_card(intent)
        if card.authenticates:
            intent.status = "requires_action"
            intent.next_action = self._setup_action(intent)
            return
        self._finish_setup(intent, card)

    def _setup_card(self, intent: SetupIntent) -> TestCard:
        assert intent.payment_method is not None
        if intent.payment_method.startswith("card_"):
            return self.card_sources.objects[intent.payment_method].test_card
        return self.payment_methods.objects[intent.payment_method].test_card

    def _setup_action(self, intent: SetupIntent) -> dict[str, Any]:
        url = f"/_sandbox/authenticate/{intent.id}"
        if intent.return_url is not None:
            return {"redirect_to_url": {"return_url": intent.return_url, "url": url},
                    "type": "redirect_to_url"}
        return {"type": "use_stripe_sdk",
                "use_stripe_sdk": {"type": "three_d_secure_redirect", "stripe_js": url}}

    def _finish_setup(self, intent: SetupIntent, card: TestCard) -> None:
        """Decline (a 402 that keeps the failed attempt) or succeed, attaching the method."""
        assert intent.payment_method is not None
        if card.behaviour in ("declines", "authenticates_then_declines"):
            error = card_error(card)
            method = (self._source_as_payment_method(self.card_sources.objects[
                intent.payment_method]) if intent.payment_method.startswith("card_")
                else self.payment_methods.objects[intent.payment_method])
            intent.last_setup_error = {
                **error.body()["error"], "payment_method": self.render(method)}
            intent.status = "requires_payment_method"
            intent.payment_method = None
            intent.next_action = None
            error.keeps_changes = True
            # As Stripe answers: with copies of the payment method and the intent after it.
            error.extra = {"payment_method": self.render(method),
                           "setup_intent": self.render(intent)}
            raise error
        intent.status = "succeeded"
        intent.next_action = None
        stored = self.payment_methods.objects.get(intent.payment_method)
        if stored is not None:
            if intent.customer is not None:
                self._attach_method(stored, intent.customer)
            self.change("update", stored).set_up = True

    def authenticate(self, intent_id: str, *, succeed: bool) -> dict[str, Any]:
        """The customer passing (``succeed``) or failing the 3D Secure step an intent waits
        for, as the sandbox's ``POST /_sandbox/authenticate/{id}`` control does: the intent
        after it, rendered. A family with other intents extends this for their ids."""
        if not intent_id.startswith("seti_"):
            raise no_such("intent", intent_id)
        try:
            with self.operation():
                intent = self._setup_intent(intent_id)
                if intent.status != "requires_action":
                    raise invalid_request(
                        f"SetupIntent {intent.id} is {intent.status}; only one that "
                        "requires_action waits for authentication.")
                self.change("update", intent)
                if succeed:
                    self._finish_setup(intent, self._setup_card(intent))
                else:
                    intent.last_setup_error = {
                        "code": "setup_intent_authentication_failure",
                        "doc_url": "https://stripe.com/docs/error-codes/"
                                   "setup-intent-authentication-failure",
                        "message": "The latest attempt to set up the payment method has "
                                   "failed because authentication failed.",
                        "type": "invalid_request_error"}
                    intent.status = "requires_payment_method"
                    intent.payment_method = None
                    intent.next_action = None
        except ApiError as error:
            if error.type != "card_error":  # a decline after authentication is the intent's
                raise
        return self.render(self._setup_intent(intent_id))

    @handles("setup_intent", "cancel")
    def cancel_setup_intent(self, intent_id: str, params: dict[str, Any]) -> SetupIntent:
        intent = self.change("cancel", self._setup_intent(intent_id))
        if intent.status not in SETUP_INTENT_CANCELABLE:
            raise invalid_request(
                f"You cannot cancel this SetupIntent because it has a status of "
                f"{intent.status}. Only a SetupIntent with one of the following statuses may "
                f"be canceled: {', '.join(SETUP_INTENT_CANCELABLE)}.",
                code="setup_intent_unexpected_state")
        intent.status = "canceled"
        intent.cancellation_reason = params.get("cancellation_reason")
        intent.next_action = None
        return intent


def _apply_types(intent: SetupIntent, params: dict[str, Any]) -> None:
    """``allowed_payment_method_types`` and ``excluded_payment_method_types``, which Stripe
    does not take together (nor the allowed ones with automatic payment methods)."""
    if "allowed_payment_method_types" in params:
        for other in ("excluded_payment_method_types", "automatic_payment_methods"):
            if other in params:
                raise invalid_request(
                    f"You may only specify one of these parameters: "
                    f"allowed_payment_method_types, {other}.", param=other)
        intent.allowed_payment_method_types = list(params["allowed_payment_method_types"])
    if "excluded_payment_method_types" in params:
        excluded = params["excluded_payment_method_types"]
        intent.excluded_payment_method_types = None if excluded == "" else list(excluded)


def _merged_billing_details(given: Any, previous: dict[str, Any]) -> dict[str, Any]:
    merged = dict(previous)
    if "address" in given:
        merged["address"] = (merged_address(given["address"], previous["address"])
                             or dict.fromkeys(ADDRESS_FIELDS))
    for field in ("email", "name", "phone", "tax_id"):
        if field in given:
            merged[field] = blank_to_none(given[field])
    return merged


def _default_expiry(now: int) -> tuple[int, int]:
    """A test card's expiry when none is given: this month, three years on."""
    today = datetime.datetime.fromtimestamp(now, datetime.UTC)
    return today.month, today.year + 3

