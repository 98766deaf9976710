"""The test cards table: every card the issue's list names is known, behaves as Stripe
documents, and carries a number that passes the Luhn check."""

import pytest
from stripe_pay.sandbox import cards


def luhn(number: str) -> bool:
    digits = [int(d) for d in reversed(number)]
    total = sum(digits[0::2]) + sum(sum(divmod(2 * d, 10)) for d in digits[1::2])
    return total % 10 == 0


@pytest.mark.parametrize("card", cards.CARDS, ids=lambda c: c.name)
def test_every_number_is_a_card_number(card):
    assert luhn(card.number) and card.last4 == card.number[-4:]


@pytest.mark.parametrize(("card_id", "behaviour", "code", "decline_code"), [
    ("pm_card_visa", "succeeds", None, None),
    ("tok_visa", "succeeds", None, None),
    ("pm_card_mastercard", "succeeds", None, None),
    ("pm_card_chargeDeclined", "declines", "card_declined", "generic_decline"),
    ("pm_card_visa_chargeDeclined", "declines", "card_declined", "generic_decline"),
    ("pm_card_chargeDeclinedInsufficientFunds", "declines", "card_declined",
     "insufficient_funds"),
    ("tok_chargeDeclinedExpiredCard", "declines", "expired_card", None),
    ("pm_card_chargeCustomerFail", "fails_on_customer", "card_declined", "generic_decline"),
    ("pm_card_authenticationRequired", "authenticates", None, None),
    ("pm_card_threeDSecure2Required", "authenticates", None, None),
    ("pm_card_createDispute", "succeeds", None, None),
    ("pm_card_radarBlock", "blocked", "card_declined", "fraudulent"),
    ("pm_card_riskLevelElevated", "succeeds", None, None),
    ("pm_card_pendingRefund", "succeeds", None, None),
    ("pm_usBankAccount_success", "settles", None, None),
    ("pm_usBankAccount_insufficientFunds", "fails_to_settle", "insufficient_funds", None),
    ("pm_usBankAccount_processing", "stays_processing", None, None),
])
def test_documented_cards_behave_as_documented(card_id, behaviour, code, decline_code):
    card = cards.find(card_id)
    assert card is not None, card_id
    assert (card.behaviour, card.code, card.decline_code) == (behaviour, code, decline_code)


def test_only_issuer_declines_refuse_to_be_attached():
    assert not cards.find("pm_card_chargeDeclined").attachable
    assert cards.find("pm_card_chargeCustomerFail").attachable
    assert cards.find("pm_card_createDispute").dispute == "fraudulent"
    assert cards.find("pm_card_nothing") is None and cards.find("cus_1") is None
    assert cards.find("pm_card_chargeDeclinedInsufficientFunds").message == (
        "Your card has insufficient funds.")


@pytest.mark.parametrize("account", cards.BANK_ACCOUNTS, ids=lambda a: a.name)
def test_every_test_bank_account_is_found_by_its_numbers(account):
    assert cards.bank_account("110000000", account.number) is account
    assert cards.find(f"pm_usBankAccount_{account.name}") is account
    assert cards.named(cards.key_of(account)) is account
    assert account.type == "us_bank_account" and account.settles_later
    assert cards.bank_account("111000025", account.number) is None
