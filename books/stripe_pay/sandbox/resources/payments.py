"""Payments: payment intents, the charges their attempts make, refunds and disputes.

A payment intent follows Stripe's state machine::

    requires_payment_method --(a payment method)--> requires_confirmation --confirm-->
        requires_action (the card needs 3D Secure; authenticated, it carries on)
        requires_payment_method (declined: last_payment_error, a failed charge)
        requires_capture (capture_method=manual) --capture--> succeeded
        succeeded
    any of the first four, and requires_capture --cancel--> canceled

A bank debit (a test US bank account, ``pm_usBankAccount_success``) does not finish at once:
confirmed, the intent is ``processing`` and its charge ``pending`` until the bank settles it,
which the sandbox's ``POST /_sandbox/settle/{id}`` control does
(:meth:`Payments.settle_pending`): the intent then succeeds, or the bank returns the debit
(the charge fails, the intent wants a new payment method). A processing intent can be
canceled; ``pm_usBankAccount_processing`` never settles, to try that.

Each attempt that reaches the card makes a charge (``latest_charge``); what the card does is
Stripe's test card's behaviour (``cards.py``): succeed, decline with its codes, need
authentication, or succeed and then be disputed. Captured money is recorded in the balance
(``balance.py``): the charge (less Stripe's fee), its refunds, its dispute.

Uncaptured money that is released (the rest of a partial capture, a canceled authorization)
counts in the charge's ``amount_refunded`` without a refund object or a balance transaction:
it never reached the balance.
"""

from __future__ import annotations

import functools
from typing import Any, ClassVar

import attrs

from .. import cards, search
from ..backend import Equals, Refused, Resource, Store, Within, handles
from ..cards import TestBankAccount, TestCard
from ..errors import DOCS_ERROR_CODES, ApiError, bad_parameter, invalid_request, no_such
from ..rules import blank_to_none, merge_metadata, merged_address, refuse_accounts, valid_currency
from ..shapes import NOT_IN_EXAMPLE, Shape, derived
from .balance import (
    DISPUTE_FEE,
    SECONDS_PER_DAY,
    ZERO_DECIMAL,
    Balances,
    bank_debit_fee,
    card_fee,
)
from .payment_methods import PaymentMethod, PaymentMethods

#: Statuses a payment intent can be confirmed, canceled or updated freely in.
CONFIRMABLE = ("requires_payment_method", "requires_confirmation", "requires_action")
CANCELABLE = ("requires_payment_method", "requires_capture", "requires_confirmation",
              "requires_action", "processing")
#: The smallest amount Stripe charges, by currency (minor units); others need at least 1.
MINIMUM_AMOUNT = {
    "usd": 50, "aed": 200, "aud": 50, "bgn": 100, "brl": 50, "cad": 50, "chf": 50, "czk": 1500,
    "dkk": 250, "eur": 50, "gbp": 30, "hkd": 400, "huf": 17500, "inr": 50, "jpy": 50,
    "mxn": 1000, "myr": 200, "nok": 300, "nzd": 50, "pln": 200, "ron": 200, "sek": 300,
    "sgd": 50, "thb": 1000,
}
MAXIMUM_AMOUNT = 99_999_999  # eight digits
#: Days a card authorization can wait to be captured.
CAPTURE_WINDOW_DAYS = 7
#: Days a merchant has to answer a dispute.
DISPUTE_RESPONSE_DAYS = 7
#: The card network's reason code for each kind of dispute a test card opens.
NETWORK_REASON = {"fraudulent": "10.4", "product_not_received": "13.1", "general": "13.3"}
#: Cards whose dispute is an inquiry (a warning), not a chargeback.
INQUIRY_CARDS = frozenset({"createDisputeInquiry"})
CLOSED_DISPUTE = ("won", "lost", "warning_closed", "prevented")
SELLER_DECLINE_MESSAGE = "The bank did not return any further details with this decline."
AUTHENTICATION_REQUIRED = ("Your card was declined. This transaction requires authentication.")
#: The lowest Radar risk score of each risk level (a card's score is within ten of it).
RISK_SCORE_FLOOR = {"normal": 20, "elevated": 70, "highest": 90}
#: A card that needs authentication only until it is set up for later payments.
SET_UP_SKIPS_AUTHENTICATION = frozenset({"authenticationRequiredOnSetup"})


@functools.cache
def declared(path: str) -> tuple[str, ...]:
    """The fields the SDK's class ``stripe.<path>`` declares (``Charge.Outcome``)."""
    import stripe

    found: Any = stripe
    for part in path.split("."):
        found = getattr(found, part)
    return tuple(sorted({name for klass in found.__mro__
                         for name in getattr(klass, "__annotations__", {})
                         if not name.startswith("_") and not name.isupper()}))


def whole(path: str, **given: Any) -> dict[str, Any]:
    """A nested object as Stripe returns it: every field ``stripe.<path>`` declares, null
    unless ``given``."""
    unknown = sorted(set(given) - set(declared(path)))
    assert not unknown, f"stripe.{path} declares no {', '.join(unknown)}"
    return {**dict.fromkeys(declared(path)), **given}


@attrs.define(eq=False)
class PaymentIntent:
    """A payment from start to finish, and where it is in Stripe's state machine."""

    id: str
    seq: int
    created: int
    amount: int
    currency: str
    client_secret: str
    status: str = "requires_payment_method"
    capture_method: str = "automatic_async"
    confirmation_method: str = "automatic"
    customer: str | None = None
    payment_method: str | None = None
    description: str | None = None
    metadata: dict[str, str] = attrs.field(factory=dict)
    receipt_email: str | None = None
    shipping: dict[str, Any] | None = None
    statement_descriptor: str | None = None
    statement_descriptor_suffix: str | None = None
    transfer_group: str | None = None
    setup_future_usage: str | None = None
    allowed_payment_method_types: list[str] | None = None
    excluded_payment_method_types: list[str] | None = None
    automatic_payment_methods: dict[str, Any] | None = None
    amount_capturable: int = 0
    amount_received: int = 0
    canceled_at: int | None = None
    cancellation_reason: str | None = None
    latest_charge: str | None = None
    last_payment_error: dict[str, Any] | None = None
    next_action: dict[str, Any] | None = None
    #: the payment method passed authentication: the next attempt charges it without asking
    authenticated: bool = False
    deleted: bool = False

    OBJECT: ClassVar[str] = "payment_intent"


@attrs.define(eq=False)
class Charge:
    """One attempt to move money from a card: failed, or succeeded (captured or not)."""

    id: str
    seq: int
    created: int
    amount: int
    currency: str
    card: str  # the test card's name
    payment_method: str | None
    #: the card's expiry, as its payment method shows it (None for a bank debit)
    expiry: tuple[int, int] | None
    status: str
    paid: bool
    captured: bool
    outcome: dict[str, Any]
    customer: str | None = None
    payment_intent: str | None = None
    description: str | None = None
    metadata: dict[str, str] = attrs.field(factory=dict)
    receipt_email: str | None = None
    shipping: dict[str, Any] | None = None
    statement_descriptor: str | None = None
    statement_descriptor_suffix: str | None = None
    transfer_group: str | None = None
    amount_captured: int = 0
    #: refunded, plus released uncaptured (see the module's docstring)
    amount_refunded: int = 0
    amount_released: int = 0
    disputed: bool = False
    failure_code: str | None = None
    failure_message: str | None = None
    balance_transaction: str | None = None
    capture_before: int | None = None
    three_d_secure: dict[str, Any] | None = None
    fraud_details: dict[str, str] = attrs.field(factory=dict)
    deleted: bool = False

    OBJECT: ClassVar[str] = "charge"

    @property
    def refundable(self) -> int:
        """What is left to refund: the captured amount less the refunds so far."""
        return self.amount_captured - (self.amount_refunded - self.amount_released)


@attrs.define(eq=False)
class Refund:
    """Money given back for a charge; card refunds succeed at once."""

    id: str
    seq: int
    created: int
    amount: int
    currency: str
    charge: str
    payment_intent: str | None
    customer: str | None
    payment_method: str | None
    balance_transaction: str | None
    status: str = "succeeded"
    reason: str | None = None
    failure_reason: str | None = None
    failure_balance_transaction: str | None = None
    instructions_email: str | None = None
    metadata: dict[str, str] = attrs.field(factory=dict)
    deleted: bool = False

    OBJECT: ClassVar[str] = "refund"


@attrs.define(eq=False)
class Dispute:
    """A cardholder's challenge of a charge: a chargeback or an inquiry."""

    id: str
    seq: int
    created: int
    amount: int
    currency: str
    charge: str
    payment_intent: str | None
    card: str
    reason: str
    status: str
    due_by: int
    inquiry: bool = False
    evidence: dict[str, Any] = attrs.field(factory=dict)
    submission_count: int = 0
    intended_submission_method: str | None = None
    transaction_ids: list[str] = attrs.field(factory=list)
    metadata: dict[str, str] = attrs.field(factory=dict)
    deleted: bool = False

    OBJECT: ClassVar[str] = "dispute"


# Rendering

def _payment_method_types(intent: PaymentIntent, backend: Any) -> list[str]:
    return list(intent.allowed_payment_method_types or ["card"])


def _payment_method_options(intent: PaymentIntent, backend: Any) -> dict[str, Any]:
    options: dict[str, Any] = {}
    types = _payment_method_types(intent, backend)
    if "card" in types:
        options["card"] = whole("PaymentIntent.PaymentMethodOptions.Card",
                                request_three_d_secure="automatic")
    if "us_bank_account" in types:
        options["us_bank_account"] = whole(
            "PaymentIntent.PaymentMethodOptions.UsBankAccount",
            verification_method="automatic",
            financial_connections=whole(
                "PaymentIntent.PaymentMethodOptions.UsBankAccount.FinancialConnections",
                permissions=["payment_method"]))
    return options


def _amount_details(intent: PaymentIntent, backend: Any) -> dict[str, Any]:
    return whole("PaymentIntent.AmountDetails", tip=whole("PaymentIntent.AmountDetails.Tip"))


PAYMENT_INTENT = Shape(
    "payment_intent", "PaymentIntent",
    own=("allowed_payment_method_types", "amount", "amount_capturable", "amount_received",
         "automatic_payment_methods", "canceled_at", "cancellation_reason", "capture_method",
         "client_secret", "confirmation_method", "created", "currency", "customer",
         "description", "excluded_payment_method_types", "last_payment_error",
         "latest_charge", "metadata", "next_action", "payment_method", "receipt_email",
         "setup_future_usage", "shipping", "statement_descriptor",
         "statement_descriptor_suffix", "status", "transfer_group"),
    fixed={"application": None, "application_fee_amount": None,
           "customer_account": None, "livemode": False, "managed_payments": None,
           "on_behalf_of": None, "payment_method_configuration_details": None,
           "processing": None, "review": None, "source": None, "transfer_data": None},
    derived=(derived("payment_method_types", _payment_method_types),
             derived("payment_method_options", _payment_method_options),
             derived("amount_details", _amount_details)),
    absent={"hooks": NOT_IN_EXAMPLE, "payment_details": NOT_IN_EXAMPLE,
            "payment_record": NOT_IN_EXAMPLE, "presentment_details": NOT_IN_EXAMPLE},
)


def _refunded(charge: Charge, backend: Any) -> bool:
    return charge.amount > 0 and charge.amount_refunded >= charge.amount


def _billing_details(charge: Charge, backend: Any) -> dict[str, Any]:
    return {"address": merged_address({}), "email": None, "name": None, "phone": None,
            "tax_id": None}


def _statement_descriptor(charge: Charge, backend: Any) -> str | None:
    if charge.status == "failed":
        return None
    suffix = charge.statement_descriptor_suffix
    return f"SANDBOX* {suffix}" if suffix else "SANDBOX"


def _payment_method_details(charge: Charge, backend: Any) -> dict[str, Any]:
    card = cards.named(charge.card)
    if isinstance(card, TestBankAccount):
        return {"us_bank_account": whole(
            "Charge.PaymentMethodDetails.UsBankAccount", account_holder_type="individual",
            account_type="checking", bank_name=card.bank_name, fingerprint=card.fingerprint,
            last4=card.last4, routing_number=card.routing_number,
        ), "type": "us_bank_account"}
    assert charge.expiry is not None
    month, year = charge.expiry
    return {"card": whole(
        "Charge.PaymentMethodDetails.Card",
        amount_authorized=charge.amount if charge.status != "failed" else None,
        brand=card.brand, capture_before=charge.capture_before,
        checks=whole("Charge.PaymentMethodDetails.Card.Checks", cvc_check="pass"),
        country=card.country, exp_month=month, exp_year=year,
        extended_authorization={"status": "disabled"}, fingerprint=card.fingerprint,
        funding=card.funding, incremental_authorization={"status": "unavailable"},
        last4=card.last4, multicapture={"status": "unavailable"}, network=card.brand,
        network_token={"used": False},
        overcapture={"maximum_amount_capturable": charge.amount, "status": "unavailable"},
        regulated_status="unregulated", three_d_secure=charge.three_d_secure,
    ), "type": "card"}


def _fraud_details(charge: Charge, backend: Any) -> dict[str, Any]:
    return whole("Charge.FraudDetails", **charge.fraud_details)


def _refunds(charge: Charge, backend: Any) -> dict[str, Any]:
    """A charge's refunds, newest first (Stripe lists them only when asked, with expand[])."""
    found = backend.lookup("refund", "charge", charge.id)
    return {"object": "list", "data": [backend.render(refund) for refund in reversed(found)],
            "has_more": False, "url": f"/v1/charges/{charge.id}/refunds"}


CHARGE = Shape(
    "charge", "Charge",
    own=("amount", "amount_captured", "amount_refunded", "balance_transaction", "captured",
         "created", "currency", "customer", "description", "disputed", "failure_code",
         "failure_message", "metadata", "outcome", "paid", "payment_intent",
         "payment_method", "receipt_email", "shipping", "statement_descriptor",
         "statement_descriptor_suffix", "status", "transfer_group"),
    fixed={"application": None, "application_fee": None, "application_fee_amount": None,
           "failure_balance_transaction": None, "livemode": False, "on_behalf_of": None,
           "receipt_number": None, "receipt_url": None, "review": None, "source": None,
           "source_transfer": None, "transfer_data": None},
    derived=(derived("refunded", _refunded), derived("billing_details", _billing_details),
             derived("calculated_statement_descriptor", _statement_descriptor),
             derived("payment_method_details", _payment_method_details),
             derived("fraud_details", _fraud_details)),
    included={"refunds": lambda charge, backend: _refunds(charge, backend)},
    absent={"authorization_code": NOT_IN_EXAMPLE,
            "level3": NOT_IN_EXAMPLE, "presentment_details": NOT_IN_EXAMPLE,
            "radar_options": NOT_IN_EXAMPLE, "transfer": NOT_IN_EXAMPLE},
)

REFUND = Shape(
    "refund", "Refund",
    own=("amount", "balance_transaction", "charge", "created", "currency", "customer",
         "failure_balance_transaction", "failure_reason", "instructions_email", "metadata",
         "payment_intent", "payment_method", "reason", "status"),
    fixed={"customer_account": None, "receipt_number": None, "source_transfer_reversal": None,
           "transfer_reversal": None,
           "destination_details": {"card": {"reference": None, "reference_status": "pending",
                                             "reference_type": "acquirer_reference_number",
                                             "type": "refund"}, "type": "card"}},
    absent={"description": NOT_IN_EXAMPLE, "next_action": NOT_IN_EXAMPLE,
            "pending_reason": NOT_IN_EXAMPLE, "presentment_details": NOT_IN_EXAMPLE},
)


@functools.cache
def evidence_fields() -> tuple[str, ...]:
    """The text and file fields of a dispute's evidence, from the SDK's ``Dispute.Evidence``
    (its nested objects, ``appeal`` and ``enhanced_evidence``, are not kept)."""
    import stripe

    evidence = stripe.Dispute.Evidence
    return tuple(sorted(name for name in evidence.__annotations__
                        if name not in evidence._inner_class_types))


def _evidence(dispute: Dispute, backend: Any) -> dict[str, Any]:
    return whole("Dispute.Evidence", **{name: dispute.evidence.get(name)
                                        for name in evidence_fields()},
                 enhanced_evidence=whole("Dispute.Evidence.EnhancedEvidence"))


def _evidence_details(dispute: Dispute, backend: Any) -> dict[str, Any]:
    return {"due_by": dispute.due_by,
            "enhanced_eligibility": whole("Dispute.EvidenceDetails.EnhancedEligibility"),
            "has_evidence": any(dispute.evidence.values()),
            "past_due": (dispute.status.endswith("needs_response")
                         and backend.now() > dispute.due_by),
            "submission_count": dispute.submission_count, "submission_method": None}


def _dispute_transactions(dispute: Dispute, backend: Any) -> list[dict[str, Any]]:
    return [backend.render(backend.balance_transactions.objects[txn])
            for txn in dispute.transaction_ids]


def _dispute_card(dispute: Dispute, backend: Any) -> dict[str, Any]:
    card = cards.named(dispute.card)
    return {"card": {"brand": card.brand, "case_type": "inquiry" if dispute.inquiry
                     else "chargeback", "network": card.brand,
                     "network_reason_code": NETWORK_REASON.get(dispute.reason, "13.3")},
            "type": "card"}


def _is_charge_refundable(dispute: Dispute, backend: Any) -> bool:
    return dispute.inquiry and backend.charges.objects[dispute.charge].refundable > 0


DISPUTE = Shape(
    "dispute", "Dispute",
    own=("amount", "charge", "created", "currency", "intended_submission_method", "metadata",
         "payment_intent", "reason", "status"),
    fixed={"enhanced_eligibility_types": [], "livemode": False},
    derived=(derived("evidence", _evidence), derived("evidence_details", _evidence_details),
             derived("balance_transactions", _dispute_transactions),
             derived("payment_method_details", _dispute_card),
             derived("is_charge_refundable", _is_charge_refundable)),
    absent={"network_reason_code": NOT_IN_EXAMPLE},
)


def _of_a_charge() -> tuple[Any, ...]:
    return (Equals("charge"), Equals("payment_intent"), Within("created"))


class Payments(PaymentMethods, Balances):
    """The payments family: payment intents, charges, refunds and disputes."""

    RESOURCES: ClassVar[tuple[Resource, ...]] = (
        Resource(
            PAYMENT_INTENT, "payment_intents",
            filters=(Refused("customer_account", kind="account"), Equals("customer"),
                     Within("created")),
            search={"amount": search.number("amount"), "created": search.number("created"),
                    "currency": search.text("currency"), "customer": search.text("customer"),
                    "metadata": search.METADATA,
                    "status": search.text("status", substring=True)},
        ),
        Resource(
            CHARGE, "charges",
            filters=(Equals("customer"), Equals("payment_intent"), Within("created"),
                     Equals("transfer_group")),
            search={"amount": search.number("amount"), "created": search.number("created"),
                    "currency": search.text("currency"), "customer": search.text("customer"),
                    "disputed": search.boolean("disputed"), "metadata": search.METADATA,
                    "payment_intent": search.text("payment_intent"),
                    "refunded": search.boolean("refunded"),
                    "status": search.text("status", substring=True)},
        ),
        Resource(REFUND, "refunds", filters=_of_a_charge()),
        Resource(DISPUTE, "disputes", filters=_of_a_charge()),
    )
    payment_intents: Store[PaymentIntent]
    charges: Store[Charge]
    refunds: Store[Refund]
    disputes: Store[Dispute]

    # Payment methods (the payment-methods family says what a reference names)

    def _stored_method(self, method_id: str) -> PaymentMethod | None:
        """The stored payment method (None for a customer's card source, seen as one)."""
        found = self.payment_methods.objects.get(method_id)
        return found if found is not None and not found.deleted else None

    def _method_of(self, intent: PaymentIntent) -> tuple[PaymentMethod, TestCard]:
        assert intent.payment_method is not None
        return self.payment_method_for(intent.payment_method, intent.customer)

    # Payment intents

    @handles("payment_intent", "create")
    def create_payment_intent(self, params: dict[str, Any]) -> PaymentIntent:
        """A new intent: ``requires_payment_method``, or ``requires_confirmation`` with a
        payment method; ``confirm=true`` confirms it at once."""
        refuse_accounts(params)
        _refuse_connect(params)
        _refuse_unsupported(params)
        if not params.get("confirm"):
            for name in ("off_session", "error_on_requires_action", "return_url", "mandate",
                         "mandate_data"):
                if name in params:
                    raise invalid_request(f"You can only set {name} when confirm=true.",
                                          param=name)
        currency = valid_currency(params["currency"])
        _check_amount(params["amount"], currency, "amount")
        customer = None
        if "customer" in params:
            customer = self.customers.get(params["customer"], param="customer").id
        intent_id = self.new_id("pi_")
        intent = PaymentIntent(
            id=intent_id, seq=self._next_seq(), created=self.now(), amount=params["amount"],
            currency=currency, client_secret=f"{intent_id}_secret_{self.new_id('', 25)}",
            customer=customer, confirmation_method=params.get("confirmation_method", "automatic"),
            automatic_payment_methods={"allow_redirects": "always", "enabled": True})
        self._apply_intent(intent, params)
        if "payment_method" in params:
            intent.payment_method = self.payment_method_for(params["payment_method"],
                                                            customer)[0].id
            intent.status = "requires_confirmation"
        self.change("create", intent)
        if params.get("confirm"):  # with the payment method found above
            self._confirm(intent, {name: value for name, value in params.items()
                                   if name != "payment_method"})
        return intent

    #: What a payment intent past confirmation still lets change.
    SETTLED_EDITABLE = frozenset({"metadata", "description", "receipt_email", "shipping",
                                  "transfer_group", "expand"})

    @handles("payment_intent", "update")
    def update_payment_intent(self, intent_id: str, params: dict[str, Any]) -> PaymentIntent:
        """Change an intent; a new payment method (or amount) needs a new confirmation."""
        intent = self.change("update", self.payment_intents.get(intent_id))
        if intent.status not in CONFIRMABLE:
            for name in params:
                if name not in self.SETTLED_EDITABLE:
                    editable = ", ".join(sorted(self.SETTLED_EDITABLE - {"expand"}))
                    raise invalid_request(
                        f"You cannot update {name} on a PaymentIntent with a status of "
                        f"{intent.status}; only {editable} change once it is past "
                        "confirmation.", param=name,
                        code="payment_intent_unexpected_state")
        refuse_accounts(params)
        _refuse_connect(params)
        _refuse_unsupported(params)
        if "amount" in params or "currency" in params:
            currency = valid_currency(params.get("currency", intent.currency))
            amount = params.get("amount", intent.amount)
            _check_amount(amount, currency, "amount" if "amount" in params else "currency")
            intent.amount, intent.currency = amount, currency
        if "customer" in params:
            intent.customer = self.customers.get(params["customer"], param="customer").id
        self._apply_intent(intent, params)
        if "payment_method" in params:
            given = params["payment_method"]
            intent.payment_method = None if given == "" else self.payment_method_for(
                given, intent.customer)[0].id
            intent.status = ("requires_confirmation" if intent.payment_method
                             else "requires_payment_method")
            intent.next_action, intent.authenticated = None, False
        intent.last_payment_error = None  # cleared whenever the intent is updated
        return intent

    def _apply_intent(self, intent: PaymentIntent, params: dict[str, Any]) -> None:
        """What create, update and confirm set alike."""
        for field in ("description", "receipt_email", "statement_descriptor",
                      "statement_descriptor_suffix", "transfer_group", "setup_future_usage"):
            if field in params:
                setattr(intent, field, blank_to_none(params[field]))
        for field in ("capture_method", "confirmation_method"):
            if field in params:
                setattr(intent, field, params[field])
        if "metadata" in params:
            intent.metadata = merge_metadata(intent.metadata, params["metadata"])
        if "shipping" in params:
            intent.shipping = _shipping(params["shipping"], intent.shipping)
        allowed = params.get("allowed_payment_method_types")
        automatic = params.get("automatic_payment_methods")
        if allowed and automatic and automatic.get("enabled"):
            raise invalid_request(
                "You may only specify one of these parameters: allowed_payment_method_types, "
                "automatic_payment_methods.", param="automatic_payment_methods")
        if allowed is not None:
            intent.allowed_payment_method_types = None if allowed == "" else list(allowed)
            if intent.allowed_payment_method_types:
                intent.automatic_payment_methods = None
        if automatic is not None:
            intent.automatic_payment_methods = {
                "allow_redirects": automatic.get("allow_redirects", "always"),
                "enabled": automatic["enabled"]}
        if "excluded_payment_method_types" in params:
            excluded = params["excluded_payment_method_types"]
            intent.excluded_payment_method_types = None if excluded == "" else list(excluded)

    @handles("payment_intent", "confirm")
    def confirm_payment_intent(self, intent_id: str, params: dict[str, Any]) -> PaymentIntent:
        intent = self.change("confirm", self.payment_intents.get(intent_id))
        self._confirm(intent, params)
        return intent

    def _confirm(self, intent: PaymentIntent, params: dict[str, Any]) -> None:
        """Attempt the payment with the intent's (or the given) payment method."""
        if intent.status not in CONFIRMABLE:
            raise invalid_request(
                f"You cannot confirm this PaymentIntent because it has a status of "
                f"{intent.status}. Only a PaymentIntent with one of the following statuses may "
                "be confirmed: requires_confirmation, requires_action, requires_payment_method.",
                code="payment_intent_unexpected_state")
        _refuse_unsupported(params)
        self._apply_intent(intent, {name: value for name, value in params.items()
                                    if name != "metadata"})
        if "payment_method" in params:
            reference = params["payment_method"]
        elif intent.payment_method is not None:
            reference = intent.payment_method
        else:
            raise invalid_request(
                "You cannot confirm this PaymentIntent because it's missing a payment method. "
                "Confirm it with payment_method (pm_card_visa, say), or update it with one "
                "first.", param="payment_method", code="payment_intent_unexpected_state")
        method, card = self.payment_method_for(reference, intent.customer)
        if method.id != intent.payment_method:
            intent.authenticated = False
        intent.payment_method = method.id
        types = _payment_method_types(intent, self)
        if method.type not in types or method.type in (intent.excluded_payment_method_types
                                                       or ()):
            kind = "a card" if method.type == "card" else f"a {method.type} payment method"
            raise invalid_request(
                f"The PaymentMethod {method.id} is {kind}, and this PaymentIntent does not "
                f"accept that type (its payment method types: {', '.join(types)}).",
                param="payment_method", code="payment_intent_invalid_parameter")
        if method.type == "us_bank_account":
            _check_bank_debit(intent)
        elif intent.statement_descriptor is not None:
            raise invalid_request(
                "The statement_descriptor parameter is not supported for the payment_method_type "
                "card. To override the statement descriptor on a card transaction, use "
                "statement_descriptor_suffix.", param="statement_descriptor")
        intent.last_payment_error = intent.next_action = None
        self._attempt(intent, method, card, off_session=bool(params.get("off_session")),
                      error_on_requires_action=bool(params.get("error_on_requires_action")),
                      return_url=params.get("return_url"))

    def _attempt(self, intent: PaymentIntent, method: PaymentMethod, card: TestCard, *,
                 off_session: bool,
                 error_on_requires_action: bool = False, return_url: str | None = None,
                 raise_decline: bool = True) -> None:
        """One attempt at the payment: it waits for authentication, or makes its charge,
        which succeeds (the intent succeeds or waits for capture) or fails (the intent wants
        a new payment method; the decline's 402 is raised unless ``raise_decline`` is
        false, and the attempt stands either way)."""
        stored = self._stored_method(method.id)
        needs_authentication = card.authenticates and not (
            card.name in SET_UP_SKIPS_AUTHENTICATION and stored is not None and stored.set_up)
        decline = _decline_of(card)
        if needs_authentication and not intent.authenticated:
            if not (off_session or error_on_requires_action):
                intent.status = "requires_action"
                intent.next_action = self._next_action(intent, return_url)
                return
            decline = ("authentication_required", "authentication_required",
                       AUTHENTICATION_REQUIRED)
        authenticated, intent.authenticated = intent.authenticated, False
        charge = self._new_charge(
            amount=intent.amount, currency=intent.currency, card=card, method=method,
            customer=intent.customer,
            capture=intent.capture_method != "manual", decline=decline,
            payment_intent=intent.id, description=intent.description,
            metadata=dict(intent.metadata), receipt_email=intent.receipt_email,
            shipping=intent.shipping, transfer_group=intent.transfer_group,
            statement_descriptor=intent.statement_descriptor,
            statement_descriptor_suffix=intent.statement_descriptor_suffix,
            three_d_secure=_three_d_secure() if authenticated else None)
        intent.latest_charge = charge.id
        if charge.status == "pending":  # a bank debit, submitted: it settles later
            intent.status = "processing"
            return
        if charge.status == "failed":
            intent.status = "requires_payment_method"
            intent.last_payment_error = {
                "charge": charge.id, "code": charge.failure_code,
                "decline_code": decline[1] if decline else None,
                "doc_url": DOCS_ERROR_CODES + str(charge.failure_code).replace("_", "-"),
                "message": charge.failure_message, "payment_method": self.render(method),
                "type": "card_error"}
            intent.payment_method = None
            if raise_decline:
                raise self.payment_error(intent)
            return
        if charge.captured:
            intent.status, intent.amount_received = "succeeded", charge.amount_captured
            self.payment_succeeded(intent)
        else:
            intent.status, intent.amount_capturable = "requires_capture", charge.amount
        if stored is not None:
            self._after_payment(intent, stored)

    def settle_pending(self, object_id: str) -> dict[str, Any]:
        """What the sandbox's ``POST /_sandbox/settle/{id}`` control does: the bank settles a
        payment intent's processing debit (:meth:`_settle_debit`) or a refund's outcome
        arrives (:meth:`_settle_refund`). Recorded as ``settle``; the object after it,
        rendered."""
        with self.operation():
            if object_id.startswith("re_"):
                refund = self._settle_refund(object_id)
                return self.render(refund)
            intent = self._settle_debit(object_id)
        return self.render(intent)

    def _settle_refund(self, refund_id: str) -> Refund:
        """A pending refund (``pm_card_pendingRefund``'s) succeeds; a refund of
        ``pm_card_refundFail`` fails after it succeeded: its money comes back to the balance
        (a ``refund_failure`` transaction) and counts as unrefunded again."""
        refund = self.change("settle", self.refunds.get(refund_id))
        card = cards.named(self.charges.objects[refund.charge].card)
        if refund.status == "pending":
            refund.status = "succeeded"
        elif refund.status == "succeeded" and card.refund == "fail":
            charge = self.change("update", self.charges.objects[refund.charge])
            charge.amount_refunded -= refund.amount
            txn = self.record_transaction("refund_failure", refund.amount, refund.currency,
                                          refund.id, description="REFUND FAILURE")
            refund.status, refund.failure_reason = "failed", "expired_or_canceled_card"
            refund.failure_balance_transaction = txn.id
        else:
            raise invalid_request(
                f"Refund {refund.id} is {refund.status} and its card's refunds do not change "
                "later; only pm_card_pendingRefund's and pm_card_refundFail's do.")
        return refund

    def _settle_debit(self, intent_id: str) -> PaymentIntent:
        """The bank settles a processing debit: it succeeds (the money is collected, less
        Stripe's ACH fee), or the bank returns it with the test account's code (the charge
        fails, the intent wants a new payment method)."""
        intent = self.change("settle", self.payment_intents.get(intent_id))
        if intent.status != "processing":
            raise invalid_request(
                f"PaymentIntent {intent.id} is {intent.status}; only a processing bank "
                "debit waits to settle.")
        assert intent.latest_charge is not None
        charge = self.change("settle", self.charges.get(intent.latest_charge))
        account = cards.named(charge.card)
        if account.behaviour == "stays_processing":
            raise invalid_request(
                f"PaymentIntent {intent.id} is paid by the test account "
                f"{account.ids[0]}, whose debits never settle (as on Stripe); cancel "
                "the intent instead.")
        if account.behaviour == "fails_to_settle":
            charge.status, charge.amount_captured = "failed", 0
            charge.failure_code, charge.failure_message = account.code, account.message
            charge.outcome = whole("Charge.Outcome", network_status="declined_by_network",
                                   reason=account.code, risk_level="not_assessed",
                                   seller_message=account.message, type="issuer_declined")
            method = self._stored_method(charge.payment_method or "")
            intent.status, intent.payment_method = "requires_payment_method", None
            intent.last_payment_error = {
                "charge": charge.id, "code": account.code,
                "doc_url": DOCS_ERROR_CODES + str(account.code).replace("_", "-"),
                "message": account.message,
                "payment_method": self.render(method) if method is not None else None,
                "type": "invalid_request_error"}
        else:
            charge.status, charge.paid = "succeeded", True
            self._collect(charge)
            intent.status, intent.amount_received = "succeeded", charge.amount_captured
            self.payment_succeeded(intent)
            stored = self._stored_method(charge.payment_method or "")
            if stored is not None:
                self._after_payment(intent, stored)
        return intent

    def _after_payment(self, intent: PaymentIntent, method: PaymentMethod) -> None:
        """What a successful payment does to its payment method, as on Stripe:
        ``setup_future_usage`` saves it to the intent's customer, set up for later payments;
        one used by nobody's payment can never be used again."""
        if intent.setup_future_usage and intent.customer is not None:
            self.attach_payment_method(method, intent.customer)
            self.change("update", method).set_up = True
        elif method.customer is None:
            self.change("update", method).spent = True

    @staticmethod
    def _next_action(intent: PaymentIntent, return_url: str | None) -> dict[str, Any]:
        """Where the customer authenticates: the sandbox's control for it (see
        :meth:`authenticate`)."""
        page = f"/_sandbox/authenticate/{intent.id}"
        if return_url:
            return {"redirect_to_url": {"return_url": return_url, "url": page},
                    "type": "redirect_to_url"}
        return {"type": "use_stripe_sdk",
                "use_stripe_sdk": {"source": intent.id, "stripe_js": page,
                                   "type": "three_d_secure_redirect"}}

    def payment_error(self, intent: PaymentIntent) -> ApiError:
        """The 402 card error of the intent's failed attempt, as Stripe answers it: with the
        failed ``charge`` and the ``payment_intent``; it keeps the attempt."""
        failure = intent.last_payment_error or {}
        extra = {"payment_intent": self.render(intent)}
        if failure.get("charge"):
            extra = {"charge": failure["charge"], **extra}
        if failure.get("payment_method"):
            extra["payment_method"] = failure["payment_method"]
        return ApiError(status=402, type="card_error", message=failure.get("message", ""),
                        code=failure.get("code"), decline_code=failure.get("decline_code"),
                        keeps_changes=True, extra=extra)

    def payment_succeeded(self, intent: PaymentIntent) -> None:
        """Told when an intent succeeds, whoever made it (an invoice waits for its own)."""

    def authenticate(self, intent_id: str, *, succeed: bool) -> dict[str, Any]:
        """The customer completes (or fails) the 3D Secure step of a payment intent in
        ``requires_action``, as the sandbox's ``POST /_sandbox/authenticate/{id}`` control
        (Stripe's test page) does: the intent carries on as confirmed (a manual confirmation
        waits in ``requires_confirmation``), or wants a new payment method. Recorded as
        ``authenticate``; the intent after it, rendered. (Setup intents: see the
        payment-methods family.)"""
        if not intent_id.startswith("pi_"):
            return super().authenticate(intent_id, succeed=succeed)
        with self.operation():
            intent = self.change("authenticate", self.payment_intents.get(intent_id))
            if intent.status != "requires_action":
                raise invalid_request(
                    f"PaymentIntent {intent.id} is {intent.status}; only one that "
                    "requires_action waits for authentication.")
            intent.next_action = None
            if not succeed:
                intent.status, intent.payment_method = "requires_payment_method", None
                intent.last_payment_error = {
                    "code": "payment_intent_authentication_failure",
                    "doc_url": DOCS_ERROR_CODES + "payment-intent-authentication-failure",
                    "message": "The provided PaymentMethod has failed authentication. You can "
                               "provide a new PaymentMethod to attempt to fulfill this "
                               "PaymentIntent again.", "type": "invalid_request_error"}
            elif intent.confirmation_method == "manual":
                intent.authenticated, intent.status = True, "requires_confirmation"
            else:
                intent.authenticated = True
                self._attempt(intent, *self._method_of(intent), off_session=False,
                              raise_decline=False)
        return self.render(intent)

    @handles("payment_intent", "capture")
    def capture_payment_intent(self, intent_id: str, params: dict[str, Any]) -> PaymentIntent:
        """requires_capture -> succeeded, capturing all or ``amount_to_capture`` (the rest
        is released)."""
        intent = self.change("capture", self.payment_intents.get(intent_id))
        if intent.status != "requires_capture":
            raise invalid_request(
                f"This PaymentIntent could not be captured because it has a status of "
                f"{intent.status}. Only a PaymentIntent with one of the following statuses may "
                "be captured: requires_capture.", code="payment_intent_unexpected_state")
        _refuse_connect(params)
        amount = params.get("amount_to_capture", intent.amount_capturable)
        if amount < 1 or amount > intent.amount_capturable:
            raise invalid_request(
                f"amount_to_capture must be between 1 and the amount_capturable "
                f"({intent.amount_capturable}); it is {amount}.", param="amount_to_capture",
                code="amount_too_large" if amount > intent.amount_capturable else None)
        if params.get("final_capture") is False:
            raise invalid_request(
                "final_capture=false needs multicapture, which these test cards do not "
                "support; capture once (final_capture defaults to true).",
                param="final_capture")
        self._apply_intent(intent, {name: params[name] for name in
                                    ("metadata", "statement_descriptor",
                                     "statement_descriptor_suffix") if name in params})
        assert intent.latest_charge is not None
        charge = self.change("capture", self.charges.get(intent.latest_charge))
        self._capture(charge, amount)
        intent.status, intent.amount_capturable, intent.amount_received = "succeeded", 0, amount
        self.payment_succeeded(intent)
        return intent

    def _capture(self, charge: Charge, amount: int) -> None:
        charge.captured, charge.amount_captured = True, amount
        released = charge.amount - amount
        charge.amount_released += released
        charge.amount_refunded += released
        self._collect(charge)

    @handles("payment_intent", "cancel")
    def cancel_payment_intent(self, intent_id: str, params: dict[str, Any]) -> PaymentIntent:
        """Give up on the payment; from requires_capture the authorization is released."""
        intent = self.change("cancel", self.payment_intents.get(intent_id))
        if intent.status not in CANCELABLE:
            raise invalid_request(
                f"You cannot cancel this PaymentIntent because it has a status of "
                f"{intent.status}. Only a PaymentIntent with one of the following statuses may "
                f"be canceled: {', '.join(CANCELABLE)}.", code="payment_intent_unexpected_state")
        if intent.status == "requires_capture":
            assert intent.latest_charge is not None
            charge = self.change("update", self.charges.get(intent.latest_charge))
            charge.amount_released += intent.amount_capturable
            charge.amount_refunded += intent.amount_capturable
            intent.amount_capturable = 0
        if intent.status == "processing":
            assert intent.latest_charge is not None
            charge = self.change("update", self.charges.get(intent.latest_charge))
            charge.status, charge.amount_captured = "failed", 0
            charge.failure_message = "The payment was canceled before the bank settled it."
        intent.status, intent.canceled_at = "canceled", self.now()
        intent.cancellation_reason = params.get("cancellation_reason")
        intent.next_action = None
        return intent

    # Charges

    def _new_charge(self, *, amount: int, currency: str, card: TestCard, method: PaymentMethod,
                    customer: str | None, capture: bool,
                    decline: tuple[str, str | None, str] | None, **details: Any) -> Charge:
        """A charge of the card: failed with ``decline`` (code, decline code, message), or
        succeeded, its money collected if ``capture``; a bank debit's is pending until the
        bank settles it (its money collected then)."""
        now = self.now()
        charge = Charge(id=self.new_id("ch_"), seq=self._next_seq(), created=now,
                        amount=amount, currency=currency, card=cards.key_of(card),
                        payment_method=method.id, customer=customer,
                        expiry=((method.card["exp_month"], method.card["exp_year"])
                                if method.card is not None else None),
                        status="succeeded", paid=True, captured=False,
                        outcome=_outcome(card, decline), **details)
        self.change("create", charge)
        if decline is not None:
            charge.status, charge.paid = "failed", False
            charge.failure_code, _, charge.failure_message = decline
        elif card.settles_later:
            charge.status, charge.paid = "pending", False
            charge.captured, charge.amount_captured = True, amount
        elif capture:
            self._capture(charge, amount)
        else:
            charge.capture_before = now + CAPTURE_WINDOW_DAYS * SECONDS_PER_DAY
        return charge

    def _collect(self, charge: Charge) -> None:
        """The captured money into the balance (pending, unless the card bypasses it); a
        dispute card's dispute follows."""
        card = cards.named(charge.card)
        fee = (bank_debit_fee if isinstance(card, TestBankAccount) else card_fee)
        txn = self.record_transaction(
            "charge", charge.amount_captured, charge.currency, charge.id,
            fee=fee(charge.amount_captured, charge.currency),
            pending=not card.name.startswith("bypassPending"), description=charge.description)
        charge.balance_transaction = txn.id
        if card.dispute is not None:
            self._open_dispute(charge, card)

    @handles("charge", "create")
    def create_charge(self, params: dict[str, Any]) -> Charge:
        """Stripe's older charges API: charge a ``source`` (or the customer's default
        source) at once; ``capture=false`` only authorizes."""
        for name in ("amount", "currency"):
            if name not in params:
                raise bad_parameter(f"Missing required param: {name}.", param=name,
                                    code="parameter_missing")
        _refuse_connect(params)
        currency = valid_currency(params["currency"])
        _check_amount(params["amount"], currency, "amount")
        customer = (self.customers.get(params["customer"], param="customer")
                    if "customer" in params else None)
        customer_id = customer.id if customer is not None else None
        source = params.get("source") or (customer.default_source if customer else None)
        if source is None:
            raise invalid_request(
                "Cannot charge a customer that has no active card" if customer is not None
                else "Must provide source or customer.",
                param="customer" if customer is not None else "source", code="missing")
        method, card = self.payment_method_for(source, customer_id, param="source")
        if card.settles_later:
            raise invalid_request(
                f"{source} is a bank account: charge it through a payment intent "
                "(payment_method_types=[us_bank_account]), not the charges API.",
                param="source")
        decline = _decline_of(card)
        if card.behaviour in ("authenticates", "authenticates_then_declines"):
            decline = ("authentication_required", "authentication_required",
                       AUTHENTICATION_REQUIRED)
        charge = self._new_charge(
            amount=params["amount"], currency=currency, card=card, method=method,
            customer=customer_id, capture=params.get("capture", True),
            decline=decline, description=params.get("description"),
            metadata=merge_metadata({}, params.get("metadata", {})),
            receipt_email=params.get("receipt_email"),
            shipping=_shipping(params["shipping"]) if "shipping" in params else None,
            statement_descriptor=params.get("statement_descriptor"),
            statement_descriptor_suffix=params.get("statement_descriptor_suffix"),
            transfer_group=params.get("transfer_group"))
        if decline is not None:
            raise ApiError(status=402, type="card_error", message=decline[2], code=decline[0],
                           decline_code=decline[1], keeps_changes=True,
                           extra={"charge": charge.id})
        return charge

    @handles("charge", "update")
    def update_charge(self, charge_id: str, params: dict[str, Any]) -> Charge:
        charge = self.change("update", self.charges.get(charge_id))
        if "customer" in params:
            customer = self.customers.get(params["customer"], param="customer").id
            if charge.customer is not None and customer != charge.customer:
                raise invalid_request("This charge already has a customer; its customer can "
                                      "only be set while it has none.", param="customer")
            charge.customer = customer
        for field in ("description", "receipt_email", "transfer_group"):
            if field in params:
                setattr(charge, field, blank_to_none(params[field]))
        if "metadata" in params:
            charge.metadata = merge_metadata(charge.metadata, params["metadata"])
        if "shipping" in params:
            charge.shipping = _shipping(params["shipping"], charge.shipping)
        if "fraud_details" in params:
            report = params["fraud_details"]
            charge.fraud_details = {} if report == "" or not report.get("user_report") else {
                "user_report": report["user_report"]}
        return charge

    @handles("charge", "capture")
    def capture_charge(self, charge_id: str, params: dict[str, Any]) -> Charge:
        """Capture an uncaptured charge (a payment intent's through the intent)."""
        charge = self.change("capture", self.charges.get(charge_id))
        if charge.payment_intent is not None:
            intent = self.payment_intents.objects[charge.payment_intent]
            if intent.latest_charge == charge.id and intent.status == "requires_capture":
                given = {"amount_to_capture": params["amount"]} if "amount" in params else {}
                self.capture_payment_intent(intent.id, given)
                return charge
        if charge.status == "failed":
            raise invalid_request(f"Charge {charge.id} failed; there is nothing to capture.")
        if charge.captured:
            raise invalid_request(f"Charge {charge.id} has already been captured.",
                                  code="charge_already_captured")
        amount = params.get("amount", charge.amount)
        if amount < 1 or amount > charge.amount:
            raise invalid_request(
                f"The amount to capture must be between 1 and the charge's amount "
                f"({charge.amount}); it is {amount}.", param="amount")
        for field in ("receipt_email", "statement_descriptor", "statement_descriptor_suffix",
                      "transfer_group"):
            if field in params:
                setattr(charge, field, blank_to_none(params[field]))
        self._capture(charge, amount)
        return charge

    # Refunds

    @handles("refund", "create")
    def create_refund(self, params: dict[str, Any]) -> Refund:
        """Give back all that is left of a charge (or a payment intent's), or ``amount``."""
        charge = self._charge_to_refund(params)
        self.change("refund", charge)
        left = charge.refundable
        if left <= 0:
            raise invalid_request(f"Charge {charge.id} has already been refunded.",
                                  param="charge", code="charge_already_refunded")
        amount = params.get("amount", left)
        if amount < 1:
            raise invalid_request("The refund amount must be at least 1.", param="amount")
        if amount > left:
            raise invalid_request(
                f"Refund amount ({_money(amount, charge.currency)}) is greater than unrefunded "
                f"amount on charge ({_money(left, charge.currency)})", param="amount")
        if "currency" in params and valid_currency(params["currency"]) != charge.currency:
            raise invalid_request(
                f"The refund's currency must be the charge's ({charge.currency}).",
                param="currency")
        refund_id = self.new_id("re_")
        txn = self.record_transaction("refund", -amount, charge.currency, refund_id,
                                      description="REFUND FOR CHARGE"
                                      + (f" ({charge.description})" if charge.description
                                         else ""))
        charge.amount_refunded += amount
        pending = cards.named(charge.card).refund == "pending"
        refund = Refund(id=refund_id, seq=self._next_seq(), created=self.now(), amount=amount,
                        status="pending" if pending else "succeeded",
                        currency=charge.currency, charge=charge.id,
                        payment_intent=charge.payment_intent, customer=charge.customer,
                        payment_method=charge.payment_method, balance_transaction=txn.id,
                        reason=params.get("reason"),
                        instructions_email=params.get("instructions_email"),
                        metadata=merge_metadata({}, params.get("metadata", {})))
        return self.change("create", refund)

    def _charge_to_refund(self, params: dict[str, Any]) -> Charge:
        """The charge a refund is of: ``charge``, or ``payment_intent``'s successful one."""
        if "origin" in params:
            raise invalid_request(
                "Refunds to a customer's cash balance (origin) are not supported by this "
                "sandbox; refund a charge or a payment intent.", param="origin")
        charge_id, intent_id = params.get("charge"), params.get("payment_intent")
        if charge_id is None and intent_id is None:
            raise invalid_request("One of charge or payment_intent is required to refund.",
                                  param="charge", code="parameter_missing")
        if intent_id is not None:
            intent = self.payment_intents.get(intent_id, param="payment_intent")
            if intent.status != "succeeded" or intent.latest_charge is None:
                raise invalid_request(
                    f"This PaymentIntent ({intent.id}) does not have a successful charge to "
                    f"refund: it is {intent.status}."
                    + (" Cancel it to release what it authorized."
                       if intent.status == "requires_capture" else ""),
                    param="payment_intent")
            if charge_id is not None and charge_id != intent.latest_charge:
                raise invalid_request(
                    f"The charge {charge_id} is not the payment intent {intent.id}'s charge "
                    f"({intent.latest_charge}); give one of them.", param="charge")
            charge_id = intent.latest_charge
        assert charge_id is not None
        charge = self.charges.get(charge_id, param="charge")
        if charge.status == "failed":
            raise invalid_request(f"Charge {charge.id} failed; there is nothing to refund.",
                                  param="charge")
        if charge.status == "pending":
            raise invalid_request(
                f"Charge {charge.id} is pending: its bank debit has not settled. Refund it once "
                "it succeeds, or cancel its payment intent.", param="charge")
        if not charge.captured:
            raise invalid_request(
                f"Charge {charge.id} has not been captured: capture it, or cancel its payment "
                "intent to release it, instead of refunding it.", param="charge")
        disputes = self.lookup("dispute", "charge", charge.id)
        if any(not found.inquiry and found.status != "won" for found in disputes):
            raise invalid_request(
                f"Charge {charge.id} has been charged back; cannot issue a refund. Respond to "
                "its dispute instead.", param="charge", code="charge_disputed")
        return charge

    @handles("refund", "update")
    def update_refund(self, refund_id: str, params: dict[str, Any]) -> Refund:
        refund = self.change("update", self.refunds.get(refund_id))
        if "metadata" in params:
            refund.metadata = merge_metadata(refund.metadata, params["metadata"])
        return refund

    @handles("refund", "cancel")
    def cancel_refund(self, refund_id: str, params: dict[str, Any] | None = None) -> Refund:
        """Only a refund waiting for the customer's action can be canceled; card refunds
        never wait."""
        refund = self.change("cancel", self.refunds.get(refund_id))
        if refund.status != "requires_action":
            raise invalid_request(
                f"You can't cancel a refund with a status of {refund.status}; only refunds "
                "with a status of requires_action can be canceled, and card refunds never "
                "reach it.")
        refund.status = "canceled"
        return refund

    # Disputes

    def _open_dispute(self, charge: Charge, card: TestCard) -> None:
        """The dispute a dispute card's successful charge turns into, at once."""
        assert card.dispute is not None
        now = self.now()
        inquiry = card.name in INQUIRY_CARDS
        dispute = Dispute(id=self.new_id("dp_"), seq=self._next_seq(), created=now,
                          amount=charge.amount_captured, currency=charge.currency,
                          charge=charge.id, payment_intent=charge.payment_intent,
                          card=card.name, reason=card.dispute,
                          status="warning_needs_response" if inquiry else "needs_response",
                          due_by=now + DISPUTE_RESPONSE_DAYS * SECONDS_PER_DAY,
                          inquiry=inquiry)
        self.change("create", dispute)
        charge.disputed = True
        if not inquiry:
            self._move_dispute_money(dispute, won=False)

    def _move_dispute_money(self, dispute: Dispute, *, won: bool) -> None:
        """A chargeback takes the amount and the dispute fee; winning gives both back."""
        sign = 1 if won else -1
        txn = self.record_transaction(
            "adjustment", sign * dispute.amount, dispute.currency, dispute.id,
            fee=-sign * DISPUTE_FEE, category="dispute_reversal" if won else "dispute",
            description=f"Chargeback {'reversal' if won else 'withdrawal'} for {dispute.charge}",
            fee_description="Dispute fee")
        dispute.transaction_ids.append(txn.id)

    @handles("dispute", "update")
    def update_dispute(self, dispute_id: str, params: dict[str, Any]) -> Dispute:
        """Add evidence (submitted unless ``submit=false``); in test mode the evidence
        ``uncategorized_text`` settles it: ``winning_evidence`` wins, ``losing_evidence``
        loses, ``escalate_inquiry_evidence`` turns an inquiry into a chargeback."""
        dispute = self.change("update", self.disputes.get(dispute_id))
        if dispute.status in CLOSED_DISPUTE:
            raise invalid_request(f"This dispute is closed ({dispute.status}); it can no "
                                  "longer be updated.")
        if "metadata" in params:
            dispute.metadata = merge_metadata(dispute.metadata, params["metadata"])
        if "intended_submission_method" in params:
            dispute.intended_submission_method = params["intended_submission_method"]
        given = params.get("evidence", {})
        if given == "":
            given = {name: "" for name in dispute.evidence}
        evidence = dict(dispute.evidence)
        for name, value in given.items():
            if name in evidence_fields():
                evidence[name] = blank_to_none(value)
        dispute.evidence = {name: value for name, value in evidence.items() if value}
        if params.get("submit", True) and dispute.evidence:
            self._submit_evidence(dispute)
        return dispute

    def _submit_evidence(self, dispute: Dispute) -> None:
        dispute.submission_count += 1
        text = dispute.evidence.get("uncategorized_text")
        if text == "escalate_inquiry_evidence" and dispute.inquiry:
            dispute.inquiry, dispute.status = False, "needs_response"
            self._move_dispute_money(dispute, won=False)
        elif text in ("winning_evidence", "losing_evidence"):
            self._close_dispute(dispute, won=text == "winning_evidence")
        else:
            dispute.status = "warning_under_review" if dispute.inquiry else "under_review"

    def _close_dispute(self, dispute: Dispute, *, won: bool) -> None:
        if dispute.inquiry:
            dispute.status = "warning_closed"
        elif won:
            dispute.status = "won"
            self._move_dispute_money(dispute, won=True)
        else:
            dispute.status = "lost"

    @handles("dispute", "close")
    def close_dispute(self, dispute_id: str, params: dict[str, Any] | None = None) -> Dispute:
        """Accept the dispute as lost (an inquiry just closes)."""
        dispute = self.change("close", self.disputes.get(dispute_id))
        if dispute.status in CLOSED_DISPUTE:
            raise invalid_request(f"This dispute is already closed ({dispute.status}).")
        self._close_dispute(dispute, won=False)
        return dispute

    # Paying an invoice

    def charge_for_invoice(self, intent_id: str | None, *, amount: int, currency: str,
                           customer: str, reference: str, param: str) -> PaymentIntent:
        """Charge an invoice's amount as Stripe does: through a payment intent (the invoice's
        earlier one again, while it wants a payment method), confirmed at once. The intent
        ends succeeded, requires_action or requires_payment_method; nothing is raised."""
        method, card = self.payment_method_for(reference, customer, param=param)
        intent = self.payment_intents.objects.get(intent_id) if intent_id else None
        if intent is None or intent.status not in CONFIRMABLE:
            new_id = self.new_id("pi_")
            intent = self.change("create", PaymentIntent(
                id=new_id, seq=self._next_seq(), created=self.now(), amount=amount,
                currency=currency, client_secret=f"{new_id}_secret_{self.new_id('', 25)}",
                customer=customer, capture_method="automatic",
                description="Payment for Invoice"))
        else:
            self.change("confirm", intent)
            intent.amount = amount
        if method.id != intent.payment_method:
            intent.authenticated = False
        intent.payment_method = method.id
        intent.last_payment_error = intent.next_action = None
        self._attempt(intent, method, card, off_session=False, raise_decline=False)
        return intent


def _check_bank_debit(intent: PaymentIntent) -> None:
    """What Stripe requires of an ACH Direct Debit: US dollars, captured automatically."""
    if intent.currency != "usd":
        raise invalid_request(
            f"The currency provided ({intent.currency}) is invalid. Payments with "
            "us_bank_account support the following currencies: usd.", param="currency",
            code="payment_intent_invalid_parameter")
    if intent.capture_method == "manual":
        raise invalid_request(
            "The payment method type us_bank_account does not support manual capture "
            "(capture_method=manual).", param="capture_method",
            code="payment_intent_invalid_parameter")


def _decline_of(card: TestCard) -> tuple[str, str | None, str] | None:
    """How charging the card fails (code, decline code, message), or None if it succeeds."""
    if card.behaviour in ("declines", "fails_on_customer", "authenticates_then_declines",
                          "blocked"):
        return card.code or "card_declined", card.decline_code, card.message
    return None


def _outcome(card: TestCard, decline: tuple[str, str | None, str] | None) -> dict[str, Any]:
    if isinstance(card, TestBankAccount):
        return whole("Charge.Outcome", network_status="approved_by_network",
                     risk_level="not_assessed", seller_message="Payment complete.",
                     type="authorized")
    risk = {"risk_level": card.risk_level,
            "risk_score": RISK_SCORE_FLOOR[card.risk_level] + int(card.number[-2:]) % 10}
    if card.behaviour == "blocked":
        return whole("Charge.Outcome", network_status="not_sent_to_network",
                     reason="highest_risk_level", type="blocked",
                     seller_message="Stripe blocked this payment as too risky.", **risk)
    if decline is None and card.risk_level == "elevated":
        return whole("Charge.Outcome", network_status="approved_by_network",
                     reason="elevated_risk_level", type="manual_review",
                     seller_message="Stripe evaluated this payment as having elevated risk, "
                                    "and placed it in your manual review queue.", **risk)
    if decline is None:
        return whole("Charge.Outcome", network_status="approved_by_network",
                     seller_message="Payment complete.", type="authorized", **risk)
    reason = decline[1] or decline[0]
    return whole("Charge.Outcome", network_status="declined_by_network", reason=reason,
                 seller_message=SELLER_DECLINE_MESSAGE if reason == "generic_decline"
                 else f"The bank returned the decline code `{reason}`.",
                 type="issuer_declined", **risk)


def _three_d_secure() -> dict[str, Any]:
    return whole("Charge.PaymentMethodDetails.Card.ThreeDSecure",
                 authentication_flow="challenge", electronic_commerce_indicator="05",
                 result="authenticated", version="2.2.0")


def _shipping(given: Any, previous: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """A payment's shipping details: an address, a name, and how it was sent."""
    if given == "" or given is None:
        return None
    previous = previous or {}
    return {"address": merged_address(given.get("address", {}), previous.get("address")),
            **{field: blank_to_none(given.get(field, previous.get(field)))
               for field in ("carrier", "name", "phone", "tracking_number")}}


def _money(amount: int, currency: str) -> str:
    """An amount as Stripe's messages show it: ``$5.00`` (``500 jpy``, ``5.00 eur``)."""
    if currency in ZERO_DECIMAL:
        return f"{amount} {currency}"
    shown = f"{amount / 100:,.2f}"
    return f"${shown}" if currency == "usd" else f"{shown} {currency}"


def _check_amount(amount: int, currency: str, param: str) -> None:
    """Stripe's smallest and largest amounts for a payment."""
    least = MINIMUM_AMOUNT.get(currency, 1)
    if amount < least:
        raise invalid_request(f"Amount must be at least {_money(least, currency)}"
                              + (" usd" if currency == "usd" else ""), param=param,
                              code="amount_too_small")
    if amount > MAXIMUM_AMOUNT:
        raise invalid_request(f"Amount must be no more than {_money(MAXIMUM_AMOUNT, currency)}"
                              + (" usd" if currency == "usd" else ""), param=param,
                              code="amount_too_large")


def _refuse_connect(params: dict[str, Any]) -> None:
    """Money for connected accounts: this sandbox has no other account."""
    for name in ("on_behalf_of", "destination"):
        if name in params:
            raise no_such("account", str(params[name]), param=name)
    if "transfer_data" in params:
        destination = params["transfer_data"].get("destination", "")
        raise no_such("account", destination, param="transfer_data[destination]")
    for name in ("application_fee_amount", "application_fee"):
        if name in params:
            raise invalid_request(
                f"{name} needs a connected account (on_behalf_of or transfer_data), and this "
                "sandbox has no connected accounts.", param=name)


def _refuse_unsupported(params: dict[str, Any]) -> None:
    """Ways to pay this sandbox does not offer: raw card data, confirmation tokens,
    payment method configurations."""
    if "payment_method_data" in params:
        raise invalid_request(
            "payment_method_data is not supported by this sandbox (it would carry raw card "
            "details); pass a test payment method instead: payment_method=pm_card_visa.",
            param="payment_method_data")
    if "confirmation_token" in params:
        raise no_such("ConfirmationToken", params["confirmation_token"],
                      param="confirmation_token")
    if "payment_method_configuration" in params:
        raise no_such("payment method configuration", params["payment_method_configuration"],
                      param="payment_method_configuration")
