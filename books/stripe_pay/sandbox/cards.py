"""Stripe's test cards, as test mode makes them behave.

Each :class:`TestCard` is one card Stripe documents for testing, found by its PaymentMethod
id (``pm_card_visa``) or its token (``tok_visa``); :func:`find` answers for either. What a
card does when charged, attached or set up is its ``behaviour``:

- ``succeeds``: every charge succeeds (``dispute`` names the dispute that follows one);
- ``declines``: the issuer declines every charge (``code``, ``decline_code``), and the card
  cannot be attached to a customer;
- ``fails_on_customer``: attaching succeeds, every charge then fails;
- ``authenticates``: every payment needs 3D Secure first (``requires_action``);
- ``authenticates_then_declines``: it needs authentication, then is declined;
- ``blocked``: Radar blocks every charge as too risky (it attaches fine).

``risk_level`` is what Radar says of a charge (``elevated`` puts it in manual review), and
``refund`` what its refunds do: succeed at once, start ``pending`` (the sandbox's settle control
makes them succeed), or succeed and then fail (the settle control fails them).

The facts follow Stripe's testing page; the numbers' last four digits are the cards'.

Stripe's test US bank accounts (:class:`TestBankAccount`, ``pm_usBankAccount_success``, ...)
are found the same way. Their debits do not settle at once: a payment by one waits in
``processing`` until the sandbox settles it (Stripe's bank network would), and then

- ``settles``: it succeeds;
- ``fails_to_settle``: the bank returns it (``code``: ``insufficient_funds``, ...);
- ``stays_processing``: it never settles (what Stripe offers for trying cancellation).
"""

from __future__ import annotations

import hashlib
from typing import ClassVar, Literal

import attrs

Behaviour = Literal["succeeds", "declines", "fails_on_customer", "authenticates",
                    "authenticates_then_declines", "blocked", "settles", "fails_to_settle",
                    "stays_processing"]
Refunds = Literal["succeed", "pending", "fail"]


@attrs.frozen
class TestCard:
    """One documented test card."""

    name: str
    brand: str
    number: str
    behaviour: Behaviour = "succeeds"
    code: str | None = None
    decline_code: str | None = None
    funding: str = "credit"
    country: str = "US"
    #: the dispute a successful charge turns into (its ``reason``), or None
    dispute: str | None = None
    #: the ids it is found by besides ``pm_card_<name>`` and ``tok_<name>``
    aliases: tuple[str, ...] = ()
    risk_level: str = "normal"
    refund: Refunds = "succeed"

    #: the payment method type it makes
    type: ClassVar[str] = "card"

    @property
    def ids(self) -> tuple[str, ...]:
        """Every test id it answers to."""
        return (f"pm_card_{self.name}", f"tok_{self.name}", *self.aliases)

    @property
    def settles_later(self) -> bool:
        """Whether its payments wait in ``processing`` (a bank debit's do)."""
        return False

    @property
    def last4(self) -> str:
        return self.number[-4:]

    @property
    def attachable(self) -> bool:
        """Stripe refuses to attach a card that simulates an issuer decline."""
        return self.behaviour != "declines"

    @property
    def authenticates(self) -> bool:
        """Whether paying (or setting up) with it needs 3D Secure first."""
        return self.behaviour in ("authenticates", "authenticates_then_declines")

    @property
    def display_brand(self) -> str:
        """The brand as PaymentMethod ``card.display_brand`` names it."""
        return _DISPLAY_BRANDS.get(self.brand, self.brand)

    @property
    def legacy_brand(self) -> str:
        """The brand as a legacy card source (``card_...``) names it: ``Visa``."""
        return _LEGACY_BRANDS[self.brand]

    @property
    def fingerprint(self) -> str:
        """The same for every copy of this card number, as Stripe's fingerprint is."""
        digest = hashlib.sha256(self.number.encode()).digest()
        return "".join(_FINGERPRINT_ALPHABET[byte % len(_FINGERPRINT_ALPHABET)]
                       for byte in digest[:16])

    @property
    def three_d_secure_supported(self) -> bool:
        return not self.name.endswith("threeDSecureNotSupported")

    @property
    def message(self) -> str:
        """What Stripe says when the card is declined."""
        return _MESSAGES.get(self.decline_code or self.code or "", "Your card was declined.")


_MESSAGES = {
    "insufficient_funds": "Your card has insufficient funds.",
    "lost_card": "Your card has been declined.",
    "stolen_card": "Your card has been declined.",
    "expired_card": "Your card has expired.",
    "incorrect_cvc": "Your card's security code is incorrect.",
    "processing_error": "An error occurred while processing your card. Try again in a little "
                        "bit.",
    "card_velocity_exceeded": "Your card was declined for making repeated attempts too "
                              "frequently or exceeding its amount limit.",
}


_DISPLAY_BRANDS = {"amex": "american_express", "diners": "diners_club",
                   "unionpay": "union_pay"}
_LEGACY_BRANDS = {"visa": "Visa", "mastercard": "MasterCard", "amex": "American Express",
                  "discover": "Discover", "diners": "Diners Club", "jcb": "JCB",
                  "unionpay": "UnionPay"}
_FINGERPRINT_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def _declined(name: str, number: str, decline_code: str, *aliases: str) -> TestCard:
    return TestCard(name, "visa", number, "declines", "card_declined", decline_code,
                    aliases=aliases)


def _error(name: str, number: str, code: str) -> TestCard:
    return TestCard(name, "visa", number, "declines", code, None,
                    aliases=(f"tok_visa_{name}",))


CARDS: tuple[TestCard, ...] = (
    TestCard("visa", "visa", "4242424242424242"),
    TestCard("visa_debit", "visa", "4000056655665556", funding="debit"),
    TestCard("mastercard", "mastercard", "5555555555554444"),
    TestCard("mastercard_debit", "mastercard", "5200828282828210", funding="debit"),
    TestCard("mastercard_prepaid", "mastercard", "5105105105105100", funding="prepaid"),
    TestCard("amex", "amex", "378282246310005"),
    TestCard("discover", "discover", "6011111111111117"),
    TestCard("diners", "diners", "3056930009020004"),
    TestCard("jcb", "jcb", "3566002020360505", country="JP"),
    TestCard("unionpay", "unionpay", "6200000000000005", country="CN"),
    TestCard("us", "visa", "4000000760000002"),
    TestCard("gb", "visa", "4000008260000000", country="GB"),
    TestCard("de", "visa", "4000002760000016", country="DE"),
    TestCard("bypassPending", "visa", "4000000000000077"),
    TestCard("threeDSecureOptional", "visa", "4000000000003055"),
    TestCard("amex_threeDSecureNotSupported", "amex", "378282246310005"),
    # issuer declines (never attachable)
    _declined("visa_chargeDeclined", "4000000000000002", "generic_decline",
              "pm_card_chargeDeclined", "tok_chargeDeclined"),
    _declined("visa_chargeDeclinedInsufficientFunds", "4000000000009995", "insufficient_funds",
              "pm_card_chargeDeclinedInsufficientFunds",
              "tok_chargeDeclinedInsufficientFunds",
              "tok_visa_debit_chargeDeclinedInsufficientFunds"),
    _declined("visa_chargeDeclinedLostCard", "4000000000009987", "lost_card",
              "pm_card_chargeDeclinedLostCard"),
    _declined("visa_chargeDeclinedStolenCard", "4000000000009979", "stolen_card",
              "pm_card_chargeDeclinedStolenCard"),
    _declined("visa_chargeDeclinedVelocityLimitExceeded", "4000000000006975",
              "card_velocity_exceeded"),
    _error("chargeDeclinedExpiredCard", "4000000000000069", "expired_card"),
    _error("chargeDeclinedIncorrectCvc", "4000000000000127", "incorrect_cvc"),
    _error("chargeDeclinedProcessingError", "4000000000000119", "processing_error"),
    # attach fine, then every charge fails
    TestCard("chargeCustomerFail", "visa", "4000000000000341", "fails_on_customer",
             "card_declined", "generic_decline", aliases=("tok_visa_chargeCustomerFail",)),
    # 3D Secure
    TestCard("authenticationRequired", "visa", "4000002760003184", "authenticates",
             country="DE"),
    TestCard("authenticationRequiredOnSetup", "visa", "4000002500003155", "authenticates"),
    TestCard("threeDSecure2Required", "visa", "4000000000003220", "authenticates",
             country="IE"),
    TestCard("authenticationRequiredChargeDeclinedInsufficientFunds", "visa",
             "4000008260003178", "authenticates_then_declines", "card_declined",
             "insufficient_funds", country="GB"),
    TestCard("threeDSecureRequiredChargeDeclined", "visa", "4000008400001629",
             "authenticates_then_declines", "card_declined", "generic_decline"),
    # disputes: the charge succeeds, then is disputed
    TestCard("createDispute", "visa", "4000000000000259", dispute="fraudulent"),
    TestCard("createDisputeProductNotReceived", "visa", "4000000000002685",
             dispute="product_not_received"),
    TestCard("createDisputeInquiry", "visa", "4000000000001976", dispute="general"),
    # Radar
    TestCard("radarBlock", "visa", "4100000000000019", "blocked", "card_declined",
             "fraudulent", risk_level="highest"),
    TestCard("riskLevelHighest", "visa", "4000000000004954", "blocked", "card_declined",
             "fraudulent", risk_level="highest"),
    TestCard("riskLevelElevated", "visa", "4000000000009235", risk_level="elevated"),
    # refunds that do not simply succeed
    TestCard("pendingRefund", "visa", "4000000000007726", refund="pending"),
    TestCard("refundFail", "visa", "4000000000005126", refund="fail"),
)



@attrs.frozen
class TestBankAccount(TestCard):
    """One of Stripe's test US bank accounts (routing number 110000000), for ACH Direct Debit
    payments: ``pm_usBankAccount_<name>``. See the module's docstring for ``behaviour``."""

    brand: str = ""
    number: str = ""
    funding: str = ""
    type: ClassVar[str] = "us_bank_account"
    routing_number: ClassVar[str] = "110000000"
    bank_name: ClassVar[str] = "STRIPE TEST BANK"

    @property
    def ids(self) -> tuple[str, ...]:
        return (f"pm_usBankAccount_{self.name}", *self.aliases)

    @property
    def settles_later(self) -> bool:
        return True

    @property
    def message(self) -> str:
        return _BANK_MESSAGES.get(self.code or "", "The payment failed.")


_BANK_MESSAGES = {
    "insufficient_funds": "The customer's account has insufficient funds to cover this payment.",
    "account_closed": "The customer's bank account has been closed.",
    "no_account": "The customer's bank account could not be located.",
    "debit_not_authorized": "The customer has notified their bank that this payment was "
                            "unauthorized.",
}


def _returned(name: str, number: str, code: str) -> TestBankAccount:
    return TestBankAccount(name, number=number, behaviour="fails_to_settle", code=code)


BANK_ACCOUNTS: tuple[TestBankAccount, ...] = (
    TestBankAccount("success", number="000123456789", behaviour="settles"),
    _returned("accountClosed", "000111111113", "account_closed"),
    _returned("noAccount", "000111111116", "no_account"),
    _returned("insufficientFunds", "000222222227", "insufficient_funds"),
    _returned("debitNotAuthorized", "000333333335", "debit_not_authorized"),
    TestBankAccount("processing", number="000000000009", behaviour="stays_processing"),
)

_BY_ID: dict[str, TestCard] = {}
_BY_NAME: dict[str, TestCard] = {card.name: card for card in CARDS}
_BY_NAME.update((f"usBankAccount_{account.name}", account) for account in BANK_ACCOUNTS)
for _card in (*CARDS, *BANK_ACCOUNTS):
    for _id in _card.ids:
        _BY_ID.setdefault(_id, _card)


def find(payment_method_or_token: str) -> TestCard | None:
    """The test card ``pm_card_...`` or ``tok_...`` names (None for any other id)."""
    return _BY_ID.get(payment_method_or_token)


def bank_account(routing_number: str, account_number: str) -> TestBankAccount | None:
    """The test bank account of these numbers (None for any other)."""
    if routing_number != TestBankAccount.routing_number:
        return None
    return next((one for one in BANK_ACCOUNTS if one.number == account_number), None)


def named(name: str) -> TestCard:
    """The test card called ``name`` (``visa``; a bank account ``usBankAccount_success``);
    KeyError for an unknown name."""
    return _BY_NAME[name]


def key_of(card: TestCard) -> str:
    """The name :func:`named` finds ``card`` by."""
    return f"usBankAccount_{card.name}" if isinstance(card, TestBankAccount) else card.name


def ids() -> list[str]:
    """Every id a test card answers to."""
    return sorted(_BY_ID)
