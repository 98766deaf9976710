"""The table of Stripe objects agrees with the SDK, and fields come from the SDK's types."""

import re
import subprocess
import sys

import pytest
import stripe
import stripe.params
from stripe_pay import objects, schema, sdk
from stripe_pay.book import describe_book, describe_inputs

ROWS = objects.OBJECTS


def operations(row):
    """Every SDK operation the row's duties and actions use."""
    names = ["retrieve", "list"] if "get" in row.duties else []
    names += ["search"] if row.searchable else []
    names += [d for d in row.duties if d in ("create", "update")]
    names += ["delete"] if "delete" in row.duties and not row.delete_refusal else []
    return names + [a.verb for a in row.actions]


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.noun)
def test_every_operation_exists_in_the_sdk(row):
    client = stripe.StripeClient("sk_test_unused")
    for name in operations(row):
        op = row.operation(name)
        service = client.v1
        for part in (op.service or row.service).split("."):
            service = getattr(service, part)
        assert callable(getattr(service, op.method)), (row.noun, name)
        assert schema.params_type(op).__name__ == op.params, (row.noun, op.params)
    # invoiceitem, payment_intent, subscription_item, test_helpers.test_clock, ...
    name = sdk.resource_class(row.service).OBJECT_NAME.removeprefix("test_helpers.")
    assert re.sub(r"(?<=[a-z])item$", " item", name).replace("_", " ").replace(
        ".", " ") == row.noun


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.noun)
def test_no_parameter_is_named_like_an_option_of_raw_request(row):
    """The book sends requests with raw_request, which takes these names as its own
    (stripe._request_options) rather than as parameters to send: no input the book accepts
    is one of them. (Its own ``base`` and ``usage`` may be: such a request goes through
    the service method, see test_a_parameter_raw_request_would_take_is_still_sent.)"""
    options = schema.REQUEST_OPTIONS
    assert {"idempotency_key", "headers", "stripe_account"} <= options
    names = [n for n in operations(row) if n not in ("retrieve", "delete")]
    for name in names + (["add"] if row.parent else []):
        inputs = {field.name for field in schema.accepted(row, name)}
        assert inputs and not options & inputs, (row.noun, name, options & inputs)


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.noun)
def test_filters_and_search_fields_are_real(row):
    listed = {f.name for f in schema.accepted(row, "list")} if row.list_filters else set()
    for spec in row.list_filters:
        assert spec.param in listed, (row.noun, spec.param)
    # A field Stripe moved (an invoice's subscription now lives under parent) can still be
    # searched and filtered by; describe_inputs offers it through the list filter.
    conditions = {f.name for f in describe_inputs(noun=row.noun, verb="get")}
    assert row.search_fields <= conditions, row.search_fields - conditions


def test_prefixes_are_unique_and_named():
    prefixes = [row.id_prefix for row in ROWS] + list(objects.OTHER_PREFIXES)
    assert len(prefixes) == len(set(prefixes))
    assert objects.kind_of_id("sub_123456789") == "subscription"
    assert objects.kind_of_id("ii_1") == "invoice item"
    assert objects.kind_of_id("in_1") == "invoice"
    assert objects.kind_of_id("12232232") is None
    assert objects.kind_of_id("sub_sched_1") == "subscription schedule"


def test_find_by_alias_and_plural():
    assert objects.find("item").noun == "invoice item"
    assert objects.find("Invoices").noun == "invoice"
    assert objects.find("subscription schedules").noun == "subscription schedule"
    with pytest.raises(KeyError):
        objects.find("account")


# ---------------------------------------------------------------------- schemas


def fields(noun, verb):
    return {f.name: f for f in describe_inputs(noun=noun, verb=verb)}


def test_accepted_fields_come_from_params_typeddicts():
    created = fields("customer", "create")
    assert set(created) == set(stripe.params.CustomerCreateParams.__annotations__) - set(
        stripe.RequestOptions.__annotations__)
    assert created["email"].type == "string" and not created["email"].required
    assert created["metadata"].type == "object" and created["metadata"].children is None
    address = created["address"]
    assert address.type == "object" and address.child("city").type == "string"
    assert created["tax_exempt"].choices == ("exempt", "none", "reverse")
    assert created["balance"].type == "integer"
    assert created["validate"].type == "boolean"


def test_request_options_are_never_inputs():
    for row in ROWS:
        for verb in row.every_verb:
            names = {f.name for f in describe_inputs(noun=row.noun, verb=verb)}
            assert not names & {"api_key", "idempotency_key", "stripe_account", "headers"}


def test_required_and_choices():
    price = fields("price", "create")
    assert price["currency"].required
    assert price["unit_amount"].type == "integer"
    assert not price["product"].required
    invoice = fields("invoice", "create")
    assert invoice["collection_method"].choices == ("charge_automatically", "send_invoice")
    assert invoice["due_date"].type == "timestamp"
    assert fields("product", "create")["name"].required


def test_add_takes_item_inputs_without_the_invoice():
    added = fields("invoice item", "add")
    assert {"customer", "amount", "currency"} <= set(added)
    assert "invoice" not in added
    assert "invoice" in fields("invoice item", "create")


def test_action_inputs():
    assert "paid_out_of_band" in fields("invoice", "pay")
    assert set(fields("invoice", "send")) == {"expand"}
    assert describe_inputs(noun="price", verb="delete") == ()


def test_get_fields_are_the_resource_fields():
    got = fields("invoice", "get")
    assert {"status", "total", "customer", "metadata", "created", "number"} <= set(got)
    assert got["customer"].type == "string"  # an id, expandable
    assert got["created"].type == "timestamp"
    assert got["status"].choices == ("draft", "open", "paid", "uncollectible", "void")
    assert got["metadata"].children is None
    assert fields("item", "get")["pending"].type == "boolean"  # a list filter only


def test_custom_ids():
    assert schema.accepts_custom_id(objects.find("product"))
    assert not schema.accepts_custom_id(objects.find("customer"))


# ---------------------------------------------------------------------- the book


def test_describe_book():
    book = describe_book()
    assert (book.name, book.title, book.target) == ("stripe_pay", "Stripe Pay", "stripe")
    assert [n.name for n in book.nouns] == [
        "customer", "product", "price", "invoice", "invoice item", "payment method",
        "payment intent", "charge", "refund", "setup intent", "dispute", "balance transaction",
        "payout", "checkout session", "payment link", "subscription", "subscription item",
        "subscription schedule", "test clock", "coupon", "promotion code", "tax rate",
        "credit note", "customer balance transaction", "quote", "plan",
        "billing portal configuration", "billing portal session"]
    invoice = book.noun("invoice")
    assert invoice.verbs == ("get", "create", "update", "delete")
    assert [a.name for a in invoice.actions] == ["send", "finalize", "pay", "void",
                                                 "mark_uncollectible", "credit", "preview_credit",
                                                 "apply_discount", "remove_discounts"]
    assert [a.english("invoice") for a in invoice.actions if a.needs_confirmation] == [
        "pay the invoice", "void the invoice", "credit the invoice"]
    assert invoice.action("mark_uncollectible").english("invoice") == (
        "mark the invoice as uncollectible")
    item = book.noun("item")
    assert (item.name, item.parent, item.id_prefix) == ("invoice item", "invoice", "ii_")
    assert "add" in item.verbs
    key = book.credentials[0]
    assert key.problem("sk_test_abc123") is None
    assert key.problem("rk_live_abc123") is None
    assert "starts with sk_test_" in key.problem("pk_test_abc123")
    assert book.settings[0].name == "api_base"
    assert book.settings[0].default == "https://api.stripe.com"


def test_importing_the_book_does_not_import_stripe():
    code = ("import sys, stripe_pay.book as b; b.describe_book(); "
            "print('stripe' in sys.modules, 'werkzeug' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.split() == ["False", "False"]


# ---------------------------------------------------------------------- routes from the SDK


def test_routes_are_read_from_the_sdk_service_methods():
    from stripe_pay import sdk

    void = objects.find("invoice").operation("void")
    assert (void.http, void.path, void.params) == ("POST", "/v1/invoices/{id}/void",
                                                   "InvoiceVoidInvoiceParams")
    assert objects.find("customer").operation("delete").http == "DELETE"
    assert objects.find("customer").operation("search").path == "/v1/customers/search"
    # routes the book has no row for yet read the same way: a refund is a create of its
    # own, cancelling a subscription a DELETE, a nested service is dotted
    refund = sdk.route("refunds", "create")
    assert (refund.http, refund.path, refund.params, refund.returns) == (
        "POST", "/v1/refunds", "RefundCreateParams", "stripe._refund.Refund")
    cancel = sdk.route("subscriptions", "cancel")
    assert (cancel.http, cancel.path, cancel.placeholders) == (
        "DELETE", "/v1/subscriptions/{id}", ("subscription_exposed_id",))
    expire = sdk.route("checkout.sessions", "expire")
    assert expire.path == "/v1/checkout/sessions/{id}/expire"
    assert sdk.params_class(expire.params_module, expire.params).__name__ == "SessionExpireParams"
    assert sdk.resource_class("checkout.sessions") is stripe.checkout.Session
    with pytest.raises(KeyError, match="no service"):
        sdk.route("refundz", "create")
    with pytest.raises(KeyError, match="no method"):
        sdk.route("refunds", "explode")


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.noun)
def test_every_declared_operation_sends_what_its_sdk_method_sends(row):
    """Each operation's request, read from the SDK, is the one the service method makes:
    calling the method on a client whose requestor only records proves it."""
    sent = []

    class Recorder:
        def request(self, method, url, params=None, options=None, base_address="api",
                    usage=None):
            sent.append((method.upper(), url))
            return None

    for name in operations(row):
        op = row.operation(name)
        service = sdk_service(row, op, Recorder())
        # a record under a parent (a customer's balance transaction) has the parent's id
        # first in its path, then its own
        parent = ("p_1",) if op.path_parent else ()
        own = ("x_1",) if op.path.count("{") > len(parent) else ()
        getattr(service, op.method)(*parent, *own, params={})
        assert sent[-1] == (op.http, op.url_path(*own or (None,), *parent)), (row.noun, name)


def sdk_service(row, op, requestor):
    from stripe_pay import sdk

    return sdk.service_class(op.service or row.service)(requestor)


def test_a_parameter_raw_request_would_take_is_still_sent(monkeypatch):
    """A setup intent's ``usage`` is a parameter; raw_request would take it as its own."""
    from stripe_pay.client import StripeSession

    from kognitos_books import Secret

    sent = []

    def request_raw(self, method, url, params=None, options=None, **kwargs):
        sent.append((method, url, dict(params or {}), dict(options or {})))
        return ('{"id": "seti_1", "object": "setup_intent", "usage": "on_session"}', 200, {})

    monkeypatch.setattr(stripe._api_requestor._APIRequestor, "request_raw", request_raw)
    session = StripeSession(Secret("sk_test_" + "a" * 24), max_network_retries=0)
    row = objects.find("setup intent")
    answer = session.send(row, "create", params={"usage": "on_session"},
                          idempotency_key="kbooks-1")
    assert session.record(row, answer)["usage"] == "on_session"
    assert sent == [("post", "/v1/setup_intents", {"usage": "on_session"},
                     {"idempotency_key": "kbooks-1"})]
