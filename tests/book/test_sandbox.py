"""Each hook against the sandbox over real HTTP, counting the requests it sends."""

from __future__ import annotations

from itertools import islice

import pytest
import stripe
from stripe_pay.book import connect
from stripe_pay.client import StripeSession

from kognitos_books import (
    BookError,
    Call,
    Condition,
    CredentialsRejected,
    InvalidCall,
    Or,
    Runtime,
    Secret,
)

LIVE_KEY = "sk_live_51Habcdefghijklmn4242"


def customers_in(sandbox, n, prefix="bulk"):
    """``n`` customers made directly in the sandbox's backend (no HTTP), oldest first."""
    return [sandbox.backend.create_customer({"email": f"{prefix}{i}@example.com",
                                             "name": f"Bulk {i}"}).id for i in range(n)]


# ---------------------------------------------------------------------- connect


def test_connect_verifies_with_one_request(stripe_env, log):
    quiet = connect(credentials={"api_key": Secret("sk_test_4eC39HqLyjWDarjtT1zdp7dc")},
                    settings={"api_base": stripe_env.url}, verify=False)
    assert quiet.mode == "test" and log.entries() == []  # before a run: nothing sent
    conn = connect(credentials={"api_key": Secret("sk_test_4eC39HqLyjWDarjtT1zdp7dc")},
                   settings={"api_base": stripe_env.url}, verify=True)
    assert conn.mode == "test"
    assert isinstance(conn.client, StripeSession)
    assert "4eC39" not in repr(conn) and "4eC39" not in repr(conn.client)
    assert [(e["method"], e["path"], e["params"]) for e in log.entries()] == [
        ("GET", "/v1/customers", {"limit": "1"})]
    assert conn.client.sdk._requestor._options.stripe_version == stripe.api_version
    assert stripe.api_key is None  # the global key is never set


def test_rejected_key_is_masked(stripe_env, log):
    with pytest.raises(CredentialsRejected) as info:
        connect(credentials={"api_key": Secret(LIVE_KEY)},
                settings={"api_base": stripe_env.url}, verify=True)
    assert info.value.message == "Stripe rejected the API key sk_live_…4242"
    text = f"{info.value} {info.value.hint} {info.value!r}"
    assert "51Habcdefghijklmn" not in text
    assert "kbooks install stripe_pay" in info.value.hint
    assert len(log.entries()) == 1


def test_install_through_the_runtime(stripe_env, kbooks_home, monkeypatch):
    monkeypatch.delenv("KBOOKS_STRIPE_PAY_API_KEY")
    monkeypatch.delenv("KBOOKS_STRIPE_PAY_API_BASE")
    rt = Runtime()
    conn = rt.install("stripe_pay", credentials={"api_key": "rk_test_abcdefghijkl9999"},
                      settings={"api_base": stripe_env.url})
    assert (conn.mode, conn.masked) == ("test", "rk_test_…9999")
    assert rt.call("create a customer in stripe", email="x@example.com")["email"] == (
        "x@example.com")
    with pytest.raises(CredentialsRejected):
        Runtime().install("stripe_pay", credentials={"api_key": LIVE_KEY},
                          settings={"api_base": stripe_env.url})


def test_live_keys_are_live_mode():
    assert StripeSession(Secret("rk_live_abc"), "http://127.0.0.1:1").mode == "live"
    assert StripeSession(Secret("sk_test_abc"), "http://127.0.0.1:1").mode == "test"


def test_unreachable_base_is_a_clear_error(unused_port):
    session = StripeSession(Secret("sk_test_abcdefghijkl1234"), f"http://127.0.0.1:{unused_port}",
                            max_network_retries=0)
    with pytest.raises(BookError, match=r"could not reach Stripe at http://127\.0\.0\.1"):
        session.verify()


def test_bad_api_base_setting():
    from kognitos_books import ConfigurationError

    with pytest.raises(ConfigurationError, match="not an http"):
        connect(credentials={"api_key": Secret("sk_test_abc")}, settings={"api_base": "ftp://x"},
                verify=False)


@pytest.fixture
def unused_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------- get


def test_manual_gets_cost_one_request_each(connected, stripe_env, log):
    backend = stripe_env.backend
    customer = backend.create_customer({"email": "john@example.com", "name": "John Doe"})
    customers_in(stripe_env, 3)
    invoice = backend.create_invoice({"customer": customer.id})
    backend.create_invoice_item({"customer": customer.id, "invoice": invoice.id,
                                 "amount": 100, "currency": "usd"})
    backend.finalize_invoice(invoice.id)
    backend.create_invoice({"customer": customer.id})  # a newer draft
    found = connected.call("get a customer from stripe", email="john@example.com")
    assert found.id == customer.id
    assert [(e["method"], e["path"], e["params"]) for e in log.entries()] == [
        ("GET", "/v1/customers", {"email": "john@example.com", "limit": "1"})]
    log.clear()
    status = connected.call("get an invoice from stripe", status="open")
    assert (status.id, status["status"]) == (invoice.id, "open")
    assert [(e["method"], e["path"], e["params"]) for e in log.entries()] == [
        ("GET", "/v1/invoices", {"status": "open", "limit": "1"})]


def test_no_match_is_one_request_and_a_clear_error(connected, log):
    with pytest.raises(BookError) as info:
        connected.call("get an invoice from stripe", status="open")
    assert info.value.message == 'no invoice in Stripe has status "open"'
    assert len(log.entries()) == 1


def test_search_is_used_when_nothing_was_written(connected, stripe_env, log):
    customers_in(stripe_env, 3)
    found = connected.call("get a customer from stripe", name="Bulk 1")
    assert found["email"] == "bulk1@example.com"
    [entry] = log.entries()
    assert (entry["path"], entry["params"]) == (
        "/v1/customers/search", {"query": "name:'Bulk 1'", "limit": "1"})


def test_a_search_of_many_pages_is_read_to_the_end(connected, stripe_env, log):
    ids = customers_in(stripe_env, 230)
    call = Call(book="stripe_pay", verb="get", noun="customer", many=True,
                where=Condition(("name",), "contains", "Bulk"))
    found = [c.id for c in connected.dispatch(call)]
    assert sorted(found) == sorted(ids) and len(set(found)) == 230
    pages = log.entries()
    assert [e["path"] for e in pages] == ["/v1/customers/search"] * 3
    assert "page" not in pages[0]["params"]
    assert pages[1]["params"]["page"] and pages[2]["params"]["page"] != pages[1]["params"]["page"]


def test_after_a_write_search_gives_way_to_a_client_filter(connected, stripe_env, log):
    customers_in(stripe_env, 3)
    connected.call("create a customer in stripe", email="new@example.com", name="New One")
    log.clear()
    assert connected.call("get a customer from stripe", name="New One")["email"] == (
        "new@example.com")
    [entry] = log.entries()
    assert (entry["path"], entry["params"]) == ("/v1/customers", {"limit": "100"})


def test_plan_matches_what_get_sends(connected, stripe_env, log):
    customers_in(stripe_env, 2)
    for where in (Condition(("email",), "is", "bulk0@example.com"),
                  Condition(("name",), "contains", "Bulk"),
                  Or((Condition(("name",), "is", "Bulk 0"), Condition(("phone",), "is", "1"))),
                  Condition(("name",), "starts with", "bulk")):
        log.clear()
        call = Call(book="stripe_pay", verb="get", noun="customer", where=where)
        plan = connected.plan(call)
        connected.dispatch(call)
        sent = [(e["method"], e["path"]) for e in log.entries()]
        assert sent == [(r.method, r.path) for r in plan.requests], plan.strategy


def test_many_is_lazy_and_pages(connected, stripe_env, log):
    ids = customers_in(stripe_env, 205)
    everyone = connected.call("get all customers from stripe")
    assert log.entries() == []  # nothing is fetched until read
    first = list(islice(everyone, 3))
    assert [c.id for c in first] == ids[::-1][:3]
    assert len(log.entries()) == 1
    log.clear()
    assert [c.id for c in everyone] == ids[::-1]
    pages = log.entries()
    assert [e["params"].get("limit") for e in pages] == ["100", "100", "100"]
    assert pages[1]["params"]["starting_after"] == ids[::-1][99]


def test_client_filter_reads_pages_until_a_match(connected, stripe_env, log):
    ids = customers_in(stripe_env, 150)
    call = Call(book="stripe_pay", verb="get", noun="customer",
                where=Condition(("name",), "starts with", "bulk 0"))
    assert connected.dispatch(call).id == ids[0]  # the oldest: on the second page
    assert len(log.entries()) == 2


def test_get_by_id_and_filters_over_http(connected, stripe_env, log):
    customer = stripe_env.backend.create_customer({"email": "a@example.com"})
    assert connected.call("get a customer from stripe", id=customer.id)["email"] == (
        "a@example.com")
    assert log.lines() == [("GET", f"/v1/customers/{customer.id}")]


# ---------------------------------------------------------------------- writes


def test_writes_send_the_idempotency_key_once(connected, log):
    call = Call(book="stripe_pay", verb="create", noun="customer",
                fields={"email": "once@example.com"}, idempotency_key="kbooks-fixed-1")
    first = connected.dispatch(call)
    again = connected.dispatch(call)  # a retried step
    assert again.id == first.id
    entries = log.entries()
    assert [e["idempotency_key"] for e in entries] == ["kbooks-fixed-1"] * 2
    assert [e["replayed"] for e in entries] == [False, True]
    assert len(list(connected.call("get all customers from stripe"))) == 1


def test_a_dropped_response_is_retried_without_acting_twice(connected, stripe_env, log,
                                                           monkeypatch):
    monkeypatch.setattr(stripe.HTTPClient, "INITIAL_DELAY", 0.01)  # keep the backoff short
    stripe_env.set_faults(drop_rate=1.0)
    try:
        call = Call(book="stripe_pay", verb="create", noun="customer",
                    fields={"email": "drop@example.com"}, idempotency_key="kbooks-drop-1")
        with pytest.raises(BookError, match="could not reach Stripe"):
            connected.dispatch(call)
    finally:
        stripe_env.set_faults(drop_rate=0.0)
    # The SDK retried with the same key; the customer was created exactly once.
    keys = {e["idempotency_key"] for e in log.entries()}
    assert keys == {"kbooks-drop-1"} and len(log.entries()) == 3
    assert connected.dispatch(call)["email"] == "drop@example.com"
    assert len(list(connected.call("get all customers from stripe"))) == 1


def test_price_delete_is_refused_before_any_request(rt, log):
    with pytest.raises(InvalidCall, match="a price cannot be deleted"):
        rt.call("delete a price in stripe", id="price_123")
    assert log.entries() == []


def test_wrong_prefix_is_refused_before_any_request(rt, log):
    with pytest.raises(InvalidCall, match="sub_123456789 is a subscription id"):
        rt.call("delete an invoice in stripe", id="sub_123456789")
    assert log.entries() == []


def test_each_invoice_action_is_one_request(connected, stripe_env, log):
    customer = connected.call("create a customer in stripe", email="c@example.com")
    connected.call("create an invoice in stripe", customer=customer.id)
    log.clear()
    item = connected.call("add an invoice item to the invoice", customer=customer.id,
                          amount=1500, currency="usd")
    assert item["amount"] == 1500
    assert log.lines() == [("POST", "/v1/invoiceitems")]
    for verb, status in (("finalize", "open"), ("mark_uncollectible", "uncollectible"),
                         ("pay", "paid")):
        log.clear()
        english = {"mark_uncollectible": "mark the invoice as uncollectible"}.get(
            verb, f"{verb} the invoice")
        assert connected.call(english)["status"] == status
        [entry] = log.entries()
        assert entry["method"] == "POST" and entry["path"].endswith(f"/{verb}")
        assert entry["idempotency_key"].startswith("kbooks-")
    assert entry["params"] == {"paid_out_of_band": "true"}


def test_send_finalizes_a_draft_in_one_request(connected, stripe_env, log):
    customer = connected.call("create a customer in stripe", email="s@example.com")
    invoice = connected.call("create an invoice in stripe", customer=customer.id)
    assert (invoice["collection_method"], invoice["status"]) == ("send_invoice", "draft")
    assert invoice["due_date"] - invoice["created"] == pytest.approx(30 * 86400, abs=60)
    connected.call("add an invoice item to the invoice", amount=1000, currency="usd")
    log.clear()
    sent = connected.call("send the invoice")
    assert sent["status"] == "open"
    assert log.lines() == [("POST", f"/v1/invoices/{invoice.id}/send")]
    log.clear()
    assert connected.call("void the invoice")["status"] == "void"
    assert log.lines() == [("POST", f"/v1/invoices/{invoice.id}/void")]


def test_adding_to_an_unseen_invoice_asks_for_its_customer(rt, stripe_env, log):
    customer = stripe_env.backend.create_customer({"email": "u@example.com"})
    invoice = stripe_env.backend.create_invoice({"customer": customer.id})
    rt.connect("stripe_pay")
    log.clear()
    item = rt.call("add an invoice item to the invoice", invoice=invoice.id, amount=300,
                   currency="usd")
    assert item["customer"] == customer.id
    assert log.lines() == [("GET", f"/v1/invoices/{invoice.id}"), ("POST", "/v1/invoiceitems")]


def test_adding_to_a_finalized_unseen_invoice_stops_after_the_lookup(rt, stripe_env, log):
    backend = stripe_env.backend
    customer = backend.create_customer({"email": "f@example.com"})
    invoice = backend.create_invoice({"customer": customer.id})
    backend.finalize_invoice(invoice.id)  # nothing due: paid at once
    rt.connect("stripe_pay")
    log.clear()
    with pytest.raises(BookError) as info:
        rt.call("add an invoice item to the invoice", invoice=invoice.id, amount=1,
                   currency="usd")
    assert info.value.message == f"the invoice {invoice.id} is paid, not a draft"
    assert info.value.hint.startswith("items can be added only to a draft invoice")
    assert log.lines() == [("GET", f"/v1/invoices/{invoice.id}")]


def test_what_only_a_draft_allows_is_refused_once_known(connected, stripe_env, log):
    customer = connected.call("create a customer in stripe", email="k@example.com")
    invoice = connected.call("create an invoice in stripe", customer=customer.id)
    connected.call("add an invoice item to the invoice", amount=100, currency="usd")
    connected.call("finalize the invoice")
    log.clear()
    with pytest.raises(BookError) as deleting:
        connected.call("delete an invoice in stripe", id=invoice.id)
    assert deleting.value.message == f"the invoice {invoice.id} is open, not a draft"
    assert "void it instead" in deleting.value.hint
    with pytest.raises(BookError, match="is open, not a draft"):
        connected.call("add an invoice item to the invoice", amount=1, currency="usd")
    assert log.entries() == []


def test_stripes_own_refusal_gets_the_hint_too(rt, stripe_env, log):
    backend = stripe_env.backend
    customer = backend.create_customer({"email": "o@example.com"})
    invoice = backend.create_invoice({"customer": customer.id})
    backend.create_invoice_item({"customer": customer.id, "invoice": invoice.id,
                                 "amount": 100, "currency": "usd"})
    backend.finalize_invoice(invoice.id)
    rt.connect("stripe_pay")
    log.clear()
    with pytest.raises(BookError) as info:
        rt.call("delete an invoice in stripe", id=invoice.id)
    assert info.value.status == 400 and info.value.request_id
    assert "void it instead" in info.value.hint
    with pytest.raises(BookError) as info:
        rt.call("add an invoice item to the invoice", invoice=invoice.id, customer=customer.id,
                amount=1, currency="usd")
    assert info.value.param == "invoice"
    assert "draft" in info.value.hint
    assert log.lines() == [("DELETE", f"/v1/invoices/{invoice.id}"),
                           ("POST", "/v1/invoiceitems")]


def test_refusals_of_an_item_that_do_not_fit_its_draft_get_no_draft_advice(connected):
    customer = connected.call("create a customer in stripe", email="c@example.com")
    invoice = connected.call("create an invoice in stripe", customer=customer.id,
                             currency="eur")
    with pytest.raises(BookError) as info:
        connected.call("add an invoice item to the invoice", amount=1, currency="usd")
    assert info.value.message == (f"The invoice item's currency (usd) must match the currency "
                                  f"of invoice {invoice.id} (eur).")
    assert (info.value.status, info.value.param) == (400, "currency")
    assert info.value.hint == ("an invoice's items are in its currency: give the item the "
                               "invoice's currency, or add it to an invoice in the item's "
                               "currency")
    other = connected.call("create a customer in stripe", email="o@example.com")
    with pytest.raises(BookError) as info:
        connected.call("add an invoice item to the invoice", invoice=invoice.id,
                       customer=other.id, amount=1, currency="eur")
    assert "must be the customer of invoice" in info.value.message
    assert info.value.hint is None
    item = connected.call("add an invoice item to the invoice", invoice=invoice.id, amount=1,
                          currency="eur")
    assert item["invoice"] == invoice.id  # the draft took an item in its own currency


def test_stripe_errors_carry_stripe_details_and_never_the_key(connected, log):
    with pytest.raises(BookError) as info:
        connected.call("update a customer in stripe", id="cus_missing", name="X")
    error = info.value
    assert error.message == "No such customer: 'cus_missing'"
    assert (error.code, error.param, error.status) == ("resource_missing", "id", 404)
    assert error.request_id == log.entries()[-1]["request_id"]
    assert "4eC39" not in str(error)


def test_deleting_returns_the_deleted_stub(connected, log):
    customer = connected.call("create a customer in stripe", email="d@example.com")
    log.clear()
    gone = connected.call("delete a customer in stripe")  # the customer remembered last
    assert (gone.id, dict(gone.data)) == (customer.id, {"id": customer.id,
                                                        "object": "customer",
                                                        "deleted": True})
    assert log.lines() == [("DELETE", f"/v1/customers/{customer.id}")]


def test_item_writes_count_as_invoice_writes(connected, stripe_env, log):
    customer = stripe_env.backend.create_customer({"email": "w@example.com"})
    invoice = stripe_env.backend.create_invoice({"customer": customer.id})
    connected.call("create an invoice item in stripe", customer=customer.id,
                   invoice=invoice.id, amount=2000, currency="usd")
    log.clear()
    found = connected.call("get an invoice from stripe", total=2000)
    assert found.id == invoice.id
    [entry] = log.entries()
    assert entry["path"] == "/v1/invoices"  # not the search, which may not show the item yet
