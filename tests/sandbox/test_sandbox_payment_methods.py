"""Payment methods and customers' card sources through the real SDK: Stripe's test cards
behave as in test mode, attach and detach follow Stripe's rules, and a customer's defaults must
be its own methods."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
import stripe
from sandbox_http import raw_request, refused
from stripe_pay.sandbox import cards
from stripe_pay.sandbox.errors import ApiError
from stripe_pay.sandbox.resources import Backend

DECLINING = [card for card in cards.CARDS if card.behaviour == "declines"]


@pytest.fixture
def customer(client: stripe.StripeClient) -> stripe.Customer:
    return client.v1.customers.create(params={"email": "jenny@example.com"})


@pytest.mark.parametrize("name", ["visa", "visa_debit", "mastercard_prepaid", "amex", "jcb",
                                  "unionpay", "gb"])
def test_a_test_id_makes_a_new_payment_method_of_its_card(client, name):
    card = cards.named(name)
    first = client.v1.payment_methods.retrieve(f"pm_card_{name}")
    second = client.v1.payment_methods.retrieve(f"pm_card_{name}")
    assert first.id != second.id and first.id.startswith("pm_") and first.object == (
        "payment_method")
    assert not first.id.startswith("pm_card_")
    assert (first.type, first.customer, first.livemode) == ("card", None, False)
    facts = first.card
    assert (facts.brand, facts.last4, facts.funding, facts.country) == (
        card.brand, card.number[-4:], card.funding, card.country)
    assert facts.fingerprint == second.card.fingerprint == card.fingerprint
    assert facts.display_brand == {"amex": "american_express", "unionpay": "union_pay"}.get(
        card.brand, card.brand)
    today = datetime.datetime.now(datetime.UTC)
    assert (facts.exp_month, facts.exp_year) == (today.month, today.year + 3)
    # the new method is stored: it answers by its own id
    assert client.v1.payment_methods.retrieve(first.id).card.last4 == card.last4


def test_different_numbers_have_different_fingerprints(client):
    visa = client.v1.payment_methods.retrieve("pm_card_visa").card.fingerprint
    debit = client.v1.payment_methods.retrieve("pm_card_visa_debit").card.fingerprint
    assert visa != debit and len(visa) == 16


def test_unknown_ids_are_stripes_missing_resources(client):
    for unknown in ("pm_card_nothing", "pm_nothing"):
        error = refused(lambda u=unknown: client.v1.payment_methods.retrieve(u),
                        f"No such PaymentMethod: '{unknown}'", status=404)
        assert error.code == "resource_missing"


def test_create_from_a_test_token(client):
    method = client.v1.payment_methods.create(params={
        "type": "card", "card": {"token": "tok_mastercard", "exp_month": 4, "exp_year": 2031},
        "billing_details": {"name": "Jenny Rosen", "address": {"country": "FR"}},
        "metadata": {"order": "7"}, "allow_redisplay": "always"})
    assert (method.card.brand, method.card.last4) == ("mastercard", "4444")
    assert (method.card.exp_month, method.card.exp_year) == (4, 2031)
    assert method.billing_details.name == "Jenny Rosen"
    assert method.billing_details.address.to_dict() == {
        "city": None, "country": "FR", "line1": None, "line2": None, "postal_code": None,
        "state": None}
    assert (method.metadata.to_dict(), method.allow_redisplay) == ({"order": "7"}, "always")


def test_create_refuses_what_test_mode_refuses(client):
    refused(lambda: client.v1.payment_methods.create(params={
        "type": "card", "card": {"number": "4242424242424242", "exp_month": 1,
                                 "exp_year": 2030, "cvc": "123"}}),
        "Sending credit card numbers directly to the Stripe API is generally unsafe",
        "card[token]=tok_visa", param="card[number]")
    refused(lambda: client.v1.payment_methods.create(params={"card": {"token": "tok_visa"}}),
            "Missing required param: type", param="type")
    refused(lambda: client.v1.payment_methods.create(params={"type": "sepa_debit"}),
            "card and US bank account payment methods only", param="type")
    refused(lambda: client.v1.payment_methods.create(params={"type": "card"}),
            "Missing required param: card", param="card")
    error = refused(lambda: client.v1.payment_methods.create(params={
        "type": "card", "card": {"token": "tok_nothing"}}), "No such token: 'tok_nothing'",
        param="card[token]")
    assert error.code == "resource_missing"
    refused(lambda: client.v1.payment_methods.create(params={
        "type": "card", "customer": "cus_x", "payment_method": "pm_x"}), "connected accounts")
    assert client.v1.payment_methods.list().data == []


def test_attach_saves_the_method_to_the_customer(client, customer):
    method = client.v1.payment_methods.attach("pm_card_visa", params={"customer": customer.id})
    assert method.customer == customer.id
    again = client.v1.payment_methods.attach(method.id, params={"customer": customer.id})
    assert again.id == method.id and again.customer == customer.id
    listed = client.v1.customers.payment_methods.list(customer.id)
    assert [m.id for m in listed.data] == [method.id]
    assert listed.url == f"/v1/customers/{customer.id}/payment_methods"
    one = client.v1.customers.payment_methods.retrieve(customer.id, method.id)
    assert one.id == method.id
    other = client.v1.customers.create()
    refused(lambda: client.v1.customers.payment_methods.retrieve(other.id, method.id),
            f"No such PaymentMethod: '{method.id}'", status=404)
    refused(lambda: client.v1.payment_methods.attach(method.id, params={"customer": other.id}),
            "already been attached to a customer")
    refused(lambda: client.v1.payment_methods.attach("pm_card_visa",
                                                     params={"customer": "cus_nothing"}),
            "No such customer: 'cus_nothing'", param="customer")
    refused(lambda: client.v1.payment_methods.attach("pm_card_visa"),
            "Missing required param: customer", param="customer")


@pytest.mark.parametrize("card", DECLINING, ids=lambda card: card.name)
def test_cards_that_simulate_issuer_declines_cannot_be_attached(client, customer, card):
    for ref in (f"pm_card_{card.name}",
                client.v1.payment_methods.create(params={
                    "type": "card", "card": {"token": f"tok_{card.name}"}}).id):
        with pytest.raises(stripe.CardError) as raised:
            client.v1.payment_methods.attach(ref, params={"customer": customer.id})
        error = raised.value
        assert (error.http_status, error.code, error.error.decline_code) == (
            402, card.code, card.decline_code)
        assert error.error.type == "card_error" and error.user_message == card.message
    assert client.v1.customers.payment_methods.list(customer.id).data == []


def test_a_card_that_fails_on_the_customer_attaches_fine(client, customer):
    method = client.v1.payment_methods.attach("pm_card_chargeCustomerFail",
                                              params={"customer": customer.id})
    assert (method.customer, method.card.last4) == (customer.id, "0341")


def test_detach_is_permanent(client, customer):
    method = client.v1.payment_methods.attach("pm_card_visa", params={"customer": customer.id})
    client.v1.customers.update(customer.id, params={
        "invoice_settings": {"default_payment_method": method.id}})
    detached = client.v1.payment_methods.detach(method.id)
    assert detached.customer is None
    after = client.v1.customers.retrieve(customer.id)
    assert after.invoice_settings.default_payment_method is None
    refused(lambda: client.v1.payment_methods.attach(method.id,
                                                     params={"customer": customer.id}),
            "detached from a Customer, and may not be used again")
    refused(lambda: client.v1.payment_methods.detach(method.id),
            "not attached to a customer so detachment is impossible")
    refused(lambda: client.v1.payment_methods.detach("pm_card_visa"),
            "not attached to a customer")
    refused(lambda: client.v1.customers.update(customer.id, params={
        "invoice_settings": {"default_payment_method": method.id}}),
        "does not have a payment method with the ID")


def test_update_changes_an_attached_method(client, customer):
    loose = client.v1.payment_methods.create(params={"type": "card",
                                                     "card": {"token": "tok_visa"}})
    refused(lambda: client.v1.payment_methods.update(loose.id, params={"metadata": {"a": "1"}}),
            "You must save this PaymentMethod to a customer before you can update it")
    client.v1.payment_methods.attach(loose.id, params={"customer": customer.id})
    client.v1.payment_methods.update(loose.id, params={
        "billing_details": {"name": "Jenny", "address": {"city": "Paris"}},
        "metadata": {"a": "1", "b": "2"}})
    updated = client.v1.payment_methods.update(loose.id, params={
        "billing_details": {"email": "jenny@example.com", "address": {"postal_code": "75001"}},
        "metadata": {"a": ""}, "card": {"exp_month": 2, "exp_year": 2033}})
    details = updated.billing_details
    assert (details.name, details.email) == ("Jenny", "jenny@example.com")
    assert (details.address.city, details.address.postal_code) == ("Paris", "75001")
    assert updated.metadata.to_dict() == {"b": "2"}
    assert (updated.card.exp_month, updated.card.exp_year, updated.card.last4) == (
        2, 2033, "4242")


def test_lists_filter_by_customer_and_type_and_page(client, customer):
    other = client.v1.customers.create()
    mine = [client.v1.payment_methods.attach(f"pm_card_{name}",
                                             params={"customer": customer.id}).id
            for name in ("visa", "mastercard", "amex") * 4]
    client.v1.payment_methods.attach("pm_card_visa", params={"customer": other.id})
    client.v1.payment_methods.retrieve("pm_card_discover")  # attached to nobody
    listed = client.v1.payment_methods.list(params={"customer": customer.id, "type": "card",
                                                    "limit": 5})
    assert len(listed.data) == 5 and listed.has_more
    walked = [m.id for m in listed.auto_paging_iter()]
    assert walked == mine[::-1]
    via_customer = client.v1.customers.payment_methods.list(customer.id, params={"limit": 100})
    assert [m.id for m in via_customer.data] == mine[::-1]
    assert client.v1.payment_methods.list(params={"customer": customer.id,
                                                  "type": "sepa_debit"}).data == []
    assert len(client.v1.payment_methods.list(params={"limit": 100}).data) == 14
    refused(lambda: client.v1.customers.payment_methods.list("cus_nothing"),
            "No such customer", status=404)


def test_payment_method_on_customer_create_attaches_it(client, sandbox):
    customer = client.v1.customers.create(params={"payment_method": "pm_card_visa"})
    [method] = client.v1.customers.payment_methods.list(customer.id).data
    assert method.customer == customer.id and method.card.last4 == "4242"
    saved = client.v1.payment_methods.create(params={"type": "card",
                                                     "card": {"token": "tok_amex"}})
    second = client.v1.customers.create(params={
        "payment_method": saved.id, "invoice_settings": {"default_payment_method": saved.id}})
    assert second.invoice_settings.default_payment_method == saved.id
    assert client.v1.payment_methods.retrieve(saved.id).customer == second.id
    # a declining card refuses the whole request: no customer is made
    customers = sandbox.backend.stores["customer"].live_count()
    with pytest.raises(stripe.CardError):
        client.v1.customers.create(params={"payment_method": "pm_card_chargeDeclined"})
    assert sandbox.backend.stores["customer"].live_count() == customers


def test_the_default_payment_method_must_be_attached_to_the_customer(client, customer):
    loose = client.v1.payment_methods.retrieve("pm_card_visa")
    for wanted in (loose.id, "pm_card_visa", "pm_nothing"):
        refused(lambda w=wanted: client.v1.customers.update(customer.id, params={
            "invoice_settings": {"default_payment_method": w}}),
            f"The customer does not have a payment method with the ID {wanted}. The payment "
            "method must be attached to the customer.",
            param="invoice_settings[default_payment_method]")
    other = client.v1.customers.create()
    theirs = client.v1.payment_methods.attach("pm_card_visa", params={"customer": other.id})
    refused(lambda: client.v1.customers.update(customer.id, params={
        "invoice_settings": {"default_payment_method": theirs.id}}), "must be attached")
    mine = client.v1.payment_methods.attach(loose.id, params={"customer": customer.id})
    updated = client.v1.customers.update(customer.id, params={
        "invoice_settings": {"default_payment_method": mine.id}})
    assert updated.invoice_settings.default_payment_method == mine.id
    expanded = client.v1.customers.retrieve(customer.id, params={
        "expand": ["invoice_settings.default_payment_method"]})
    assert expanded.invoice_settings.default_payment_method.card.last4 == "4242"
    cleared = client.v1.customers.update(customer.id, params={
        "invoice_settings": {"default_payment_method": ""}})
    assert cleared.invoice_settings.default_payment_method is None


def test_a_source_token_makes_the_default_card(client):
    customer = client.v1.customers.create(params={"source": "tok_visa"})
    assert customer.default_source.startswith("card_")
    [card] = client.v1.customers.payment_sources.list(customer.id).data
    assert (card.id, card.object, card.customer) == (customer.default_source, "card",
                                                      customer.id)
    assert (card.brand, card.last4, card.funding, card.country) == ("Visa", "4242", "credit",
                                                                    "US")
    assert card.fingerprint == cards.named("visa").fingerprint
    expanded = client.v1.customers.retrieve(customer.id, params={"expand": ["default_source"]})
    assert expanded.default_source.last4 == "4242"
    # a new source replaces the default, and the previous default is deleted
    updated = client.v1.customers.update(customer.id, params={"source": "tok_amex"})
    assert updated.default_source not in (None, card.id)
    sources = client.v1.customers.payment_sources.list(customer.id).data
    assert [(s.id, s.brand, s.last4) for s in sources] == [
        (updated.default_source, "American Express", "0005")]
    refused(lambda: client.v1.customers.payment_sources.retrieve(customer.id, card.id),
            "No such source", status=404)


def test_declining_tokens_are_refused_as_sources(client, sandbox):
    with pytest.raises(stripe.CardError) as raised:
        client.v1.customers.create(params={"source": "tok_chargeDeclinedInsufficientFunds"})
    assert (raised.value.code, raised.value.error.decline_code, raised.value.param) == (
        "card_declined", "insufficient_funds", "source")
    assert sandbox.backend.stores["customer"].live_count() == 0
    assert sandbox.backend.stores["card"].live_count() == 0
    refused(lambda: client.v1.customers.create(params={"source": "tok_nothing"}),
            "No such token: 'tok_nothing'", param="source")
    refused(lambda: client.v1.customers.create(params={"source": "pm_card_visa"}),
            "Only test tokens", param="source")


def test_sources_are_added_updated_and_deleted(client, customer):
    sources = client.v1.customers.payment_sources
    first = sources.create(customer.id, params={"source": "tok_visa",
                                                "metadata": {"kind": "first"}})
    assert client.v1.customers.retrieve(customer.id).default_source == first.id
    second = sources.create(customer.id, params={"source": "tok_mastercard"})
    third = sources.create(customer.id, params={"source": "tok_discover"})
    assert client.v1.customers.retrieve(customer.id).default_source == first.id
    # expand[]=sources includes the customer's cards, newest first, as the sources list does
    listed = client.v1.customers.retrieve(customer.id, params={"expand": ["sources"]}).sources
    assert [source.id for source in listed.data] == [third.id, second.id, first.id]
    assert (listed.object, listed.has_more, listed.url) == (
        "list", False, f"/v1/customers/{customer.id}/sources")
    assert "sources" not in client.v1.customers.retrieve(customer.id)
    changed = sources.update(customer.id, first.id, params={
        "name": "Jenny Rosen", "address_city": "Paris", "address_zip": "75001",
        "exp_month": 3, "exp_year": 2032, "metadata": {"kind": ""}})
    assert (changed.name, changed.address_city, changed.address_zip) == (
        "Jenny Rosen", "Paris", "75001")
    assert (changed.exp_month, changed.exp_year, changed.metadata.to_dict()) == (3, 2032, {})
    refused(lambda: sources.update(customer.id, first.id, params={"account_holder_name": "J"}),
            "bank account sources")
    refused(lambda: sources.update(customer.id, first.id, params={"exp_month": "March"}),
            "Invalid integer: March", param="exp_month")
    # its card, seen as a PaymentMethod
    as_method = client.v1.payment_methods.retrieve(first.id)
    assert (as_method.id, as_method.object, as_method.customer) == (
        first.id, "payment_method", customer.id)
    assert (as_method.card.brand, as_method.billing_details.name) == ("visa", "Jenny Rosen")
    # deleting the default makes the newest remaining source the default
    deleted = sources.delete(customer.id, first.id)
    assert deleted.to_dict() == {"id": first.id, "object": "card", "deleted": True}
    assert client.v1.customers.retrieve(customer.id).default_source == third.id
    sources.delete(customer.id, third.id)
    assert client.v1.customers.retrieve(customer.id).default_source == second.id
    sources.delete(customer.id, second.id)
    assert client.v1.customers.retrieve(customer.id).default_source is None
    assert sources.list(customer.id).data == []
    assert client.v1.customers.retrieve(customer.id, params={
        "expand": ["sources"]}).sources.data == []
    assert sources.list(customer.id, params={"object": "bank_account"}).data == []


def test_default_source_must_be_one_of_the_customers(client, customer):
    other = client.v1.customers.create(params={"source": "tok_visa"})
    error = refused(lambda: client.v1.customers.update(customer.id, params={
        "default_source": other.default_source}),
        f"Customer {customer.id} does not have a linked source with ID {other.default_source}",
        param="default_source")
    assert error.code == "resource_missing"
    own = client.v1.customers.payment_sources.create(customer.id, params={"source": "tok_jcb"})
    newer = client.v1.customers.payment_sources.create(customer.id,
                                                       params={"source": "tok_visa"})
    assert client.v1.customers.update(customer.id, params={
        "default_source": newer.id}).default_source == newer.id
    assert client.v1.customers.update(customer.id, params={
        "default_source": own.id}).default_source == own.id


def test_a_customers_saved_methods_pay_its_invoices(client, customer):
    def invoice() -> str:
        draft = client.v1.invoices.create(params={"customer": customer.id})
        client.v1.invoice_items.create(params={"customer": customer.id, "invoice": draft.id,
                                               "amount": 900, "currency": "usd"})
        return draft.id

    saved = client.v1.payment_methods.attach("pm_card_visa", params={"customer": customer.id})
    assert client.v1.invoices.pay(invoice(), params={"payment_method": saved.id}).status == (
        "paid")
    card = client.v1.customers.payment_sources.create(customer.id, params={"source": "tok_visa"})
    assert client.v1.invoices.pay(invoice(), params={"source": card.id}).status == "paid"
    failing = client.v1.payment_methods.attach("pm_card_chargeCustomerFail",
                                               params={"customer": customer.id})
    with pytest.raises(stripe.CardError):
        client.v1.invoices.pay(invoice(), params={"payment_method": failing.id})
    other = client.v1.customers.create()
    theirs = client.v1.payment_methods.attach("pm_card_visa", params={"customer": other.id})
    refused(lambda: client.v1.invoices.pay(invoice(), params={"payment_method": theirs.id}),
            f"belongs to the Customer {other.id}", param="payment_method")


def test_source_changes_are_recorded(client, sandbox, customer):
    first = client.v1.customers.update(customer.id, params={"source": "tok_visa"})
    mark = sandbox.backend.changes.last_seq
    second = client.v1.customers.update(customer.id, params={"source": "tok_amex"})
    recorded = {(c.kind, c.id): c for c in sandbox.backend.changes.since(mark)}
    assert set(recorded) == {("customer", customer.id), ("card", first.default_source),
                             ("card", second.default_source)}
    assert recorded["card", first.default_source].action == "delete"
    assert recorded["card", second.default_source].action == "create"
    assert recorded["customer", customer.id].previous_attributes == {
        "default_source": first.default_source}


def test_the_sandbox_control_refuses_unknown_intents(sandbox):
    status, _, body = raw_request(sandbox, "POST", "/_sandbox/authenticate/pi_nothing", key=None,
                                  body="{}")
    assert status == 404 and body["error"]["code"] == "resource_missing"
    status, _, body = raw_request(sandbox, "POST", "/_sandbox/authenticate/seti_x", key=None,
                                  body='{"outcome": "maybe"}')
    assert status == 400 and "complete" in body["error"]["message"]


# The API other families call, on a backend of its own.

@pytest.fixture
def backend() -> Backend:
    return Backend()


def _resolve(backend: Backend, ref: str, customer: str | None = None) -> Any:
    with backend.operation():
        return backend.payment_method_for(ref, customer, param="payment_method")


def test_payment_method_for_resolves_every_kind_of_reference(backend):
    cus = backend.create_customer({"source": "tok_mastercard"})
    made, card = _resolve(backend, "pm_card_visa")
    assert (made.id[:3], made.customer, card.name) == ("pm_", None, "visa")
    assert backend.payment_methods.objects[made.id] is made
    token, card = _resolve(backend, "tok_amex")
    assert card.brand == "amex" and token.id in backend.payment_methods.objects
    with backend.operation():
        backend.attach_payment_method(made, cus.id)
    again, card = _resolve(backend, made.id, cus.id)
    assert again is made and card.name == "visa"
    source, card = _resolve(backend, cus.default_source, cus.id)
    assert (source.id, source.customer, card.name) == (cus.default_source, cus.id, "mastercard")
    assert source.id not in backend.payment_methods.objects  # a view, never stored


@pytest.mark.parametrize(("ref", "customer", "message", "status"), [
    ("pm_nothing", None, "No such PaymentMethod: 'pm_nothing'", 400),
    ("pm_card_nothing", None, "No such PaymentMethod: 'pm_card_nothing'", 400),
    ("tok_nothing", None, "No such token: 'tok_nothing'", 400),
    ("card_nothing", "mine", "No such source: 'card_nothing'", 400),
    ("attached", None, "belongs to the Customer", 400),
    ("attached", "other", "not to", 400),
    ("source", None, "belongs to the Customer", 400),
    ("source", "other", "does not have a linked source", 400),
    ("spent", None, "may not be used again", 400),
])
def test_payment_method_for_refuses_as_stripe(backend, ref, customer, message, status):
    mine = backend.create_customer({"source": "tok_visa"})
    other = backend.create_customer({})
    attached = backend.attach_payment_method_route("pm_card_visa", {"customer": mine.id})
    spent = backend.attach_payment_method_route("pm_card_visa", {"customer": mine.id})
    backend.detach_payment_method(spent.id, {})
    refs = {"attached": attached.id, "source": mine.default_source, "spent": spent.id}
    customers = {"mine": mine.id, "other": other.id}
    with pytest.raises(ApiError) as raised:
        _resolve(backend, refs.get(ref, ref), customers.get(customer or ""))
    assert raised.value.status == status and message in raised.value.message
    assert raised.value.param == "payment_method"
