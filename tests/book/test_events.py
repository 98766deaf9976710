"""The Stripe Pay book's events: triggers derived from the SDK's event types, deliveries
verified with Stripe's signature scheme, events listed after a cursor, and the account's
one webhook endpoint per URL, against the sandbox."""

from __future__ import annotations

import json
import time
import typing
from collections import Counter
from itertools import islice

import pytest
import stripe
from stripe.params import _webhook_endpoint_create_params as endpoint_params

from kognitos_books import DeliveryRejected, Event, Record, Secret

SECRET = Secret("whsec_test_1234567890abcdefghijklmnop")
URL = "https://example.test/kbooks/hook"


def sdk_event_types() -> list[str]:
    annotation = typing.get_type_hints(endpoint_params.WebhookEndpointCreateParams,
                                       localns={"StripeContext": object,
                                                "Mapping": typing.Mapping})["enabled_events"]
    return [t for t in typing.get_args(typing.get_args(annotation)[0]) if t != "*"]


@pytest.fixture
def triggers(rt):
    rt.plugins.book("stripe_pay")  # (loads the books: Plugins.implements does not, yet)
    return {t.type: t for t in rt.plugins.triggers("stripe_pay")}


# ---------------------------------------------------------------------- triggers


def test_every_trigger_is_an_sdk_event_type_on_a_book_noun(rt, triggers):
    book = rt.plugins.book("stripe_pay")
    types = sdk_event_types()
    assert set(triggers) <= set(types)
    assert [t for t in types if t in triggers] == list(triggers)  # (the SDK's order)
    for trigger in triggers.values():
        assert book.noun(trigger.noun) is not None, trigger
    assert triggers["customer.subscription.updated"].noun == "subscription"
    assert triggers["payment_intent.succeeded"].noun == "payment intent"
    assert triggers["invoiceitem.created"].noun == "invoice item"
    assert triggers["charge.dispute.created"].noun == "dispute"
    assert triggers["test_helpers.test_clock.ready"].noun == "test clock"


def test_event_types_on_objects_without_a_noun_are_not_offered(triggers):
    from stripe_pay import events

    for name in ("account.updated", "customer.discount.created", "customer.tax_id.created",
                 "climate.product.created", "reserve.plan.created", "issuing_dispute.created",
                 "invoice_payment.paid", "balance.available"):
        assert name in sdk_event_types() and name not in triggers
        assert name in events.unoffered()
    assert len(triggers) + len(events.unoffered()) == len(sdk_event_types())


def test_phrases_are_unique(triggers):
    said = Counter(phrase for t in triggers.values() for phrase in (t.english, *t.aliases))
    assert [phrase for phrase, count in said.items() if count > 1] == []


def test_phrases_read_as_the_language_keeps_them(triggers):
    """Lower case, one space between words, and no word "in" (``when EVENT in BOOK``: the
    book is the word after the line's last "in")."""
    for trigger in triggers.values():
        for phrase in (trigger.english, *trigger.aliases):
            assert phrase == " ".join(phrase.lower().split()), phrase
            assert "in" not in phrase.split(), phrase


@pytest.mark.parametrize(("event_type", "phrase"), [
    ("invoice.paid", "an invoice is paid"),
    ("payment_intent.payment_failed", "a payment fails"),
    ("customer.subscription.deleted", "a subscription is canceled"),
    ("customer.created", "a customer is created"),
    ("invoice.payment_failed", "an invoice payment fails"),
    ("invoice.payment_succeeded", "an invoice payment succeeds"),
    ("charge.refunded", "a charge is refunded"),
    ("payment_intent.succeeded", "a payment succeeds"),
    ("customer.subscription.trial_will_end", "a subscription trial will end"),
    ("invoice.marked_uncollectible", "an invoice is marked uncollectible"),
    ("payment_method.automatically_updated", "a payment method is automatically updated"),
    ("invoice.upcoming", "an invoice is upcoming"),
    ("checkout.session.expired", "a checkout session expires"),
    ("charge.refund.updated", "a refund of a charge is updated"),
    ("refund.updated", "a refund is updated"),
])
def test_english_samples(triggers, event_type, phrase):
    trigger = triggers[event_type]
    assert phrase in (trigger.english, *trigger.aliases)


def test_the_english_is_derived_from_the_suffix_table():
    from stripe_pay import events

    assert events.phrase("payment_failed") == "payment fails"
    assert events.phrase("finalization_failed") == "finalization fails"
    assert events.phrase("requires_action") == "requires action"
    assert events.phrase("reconciliation_completed") == "reconciliation is completed"
    assert events.phrase("will_be_due") == "will be due"


# ---------------------------------------------------------------------- deliveries


def event_body(*, event_type: str = "invoice.paid", livemode: bool = False,
               obj: dict | None = None, previous: dict | None = None) -> bytes:
    data: dict = {"object": obj or {"id": "in_123", "object": "invoice", "status": "paid",
                                    "customer": "cus_123", "currency": "usd"}}
    if previous is not None:
        data["previous_attributes"] = previous
    return json.dumps({"id": "evt_123", "object": "event", "type": event_type,
                       "created": int(time.time()), "livemode": livemode,
                       "api_version": stripe.api_version, "data": data}).encode()


def signed(body: bytes, secret: Secret = SECRET, timestamp: int | None = None) -> dict:
    header = stripe.WebhookSignature.generate_signature_header(
        body.decode(), secret.reveal(), timestamp)
    return {"stripe-signature": header}


def rejected(rt, headers: dict, body: bytes) -> str:
    with pytest.raises(DeliveryRejected) as caught:
        rt.plugins.verify_event(rt.connect("stripe_pay"), headers, body, SECRET)
    message = str(caught.value)
    assert SECRET.reveal() not in message and SECRET.reveal()[6:] not in message
    return message


def test_a_signed_delivery_is_decoded(rt, log):
    body = event_body(event_type="invoice.updated", previous={"status": "open"})
    event = rt.plugins.verify_event(rt.connect("stripe_pay"), signed(body), body, SECRET)
    assert (event.id, event.type, event.livemode) == ("evt_123", "invoice.updated", False)
    assert event.record == Record("stripe_pay", "invoice", "in_123", json.loads(body)["data"][
        "object"])
    assert event.previous == {"status": "open"}
    assert event.data["api_version"] == stripe.api_version
    assert log.entries() == []  # verifying sends nothing


def test_the_object_gives_the_noun(rt):
    body = event_body(event_type="customer.subscription.deleted",
                      obj={"id": "sub_1", "object": "subscription", "status": "canceled"})
    event = rt.plugins.verify_event(rt.connect("stripe_pay"), signed(body), body, SECRET)
    assert (event.record.noun, event.record.id) == ("subscription", "sub_1")


def test_a_delivery_without_a_signature_is_refused(rt):
    assert "no Stripe-Signature header" in rejected(rt, {}, event_body())


def test_a_forged_delivery_is_refused(rt):
    body = event_body()
    changed = body.replace(b'"paid"', b'"void"')
    assert "does not match" in rejected(rt, signed(body), changed)
    other = Secret("whsec_someone_elses_secret_0000")
    assert "does not match" in rejected(rt, signed(body, other), body)


def test_a_stale_delivery_is_refused(rt):
    body = event_body()
    assert "more than 300 seconds old" in rejected(
        rt, signed(body, timestamp=int(time.time()) - 301), body)
    fresh = rt.plugins.verify_event(rt.connect("stripe_pay"),
                                    signed(body, timestamp=int(time.time()) - 250), body,
                                    SECRET)
    assert fresh.id == "evt_123"


def test_a_live_event_is_refused_on_a_test_connection(rt):
    body = event_body(livemode=True)
    assert "live-mode event" in rejected(rt, signed(body), body)


def test_what_is_not_an_event_is_refused(rt):
    for body, why in ((b"not json {", "not JSON"),
                      (b"\xff\xfe", "not UTF-8"),
                      (json.dumps({"object": "customer", "id": "cus_1"}).encode(),
                       "not an event object"),
                      (event_body(event_type="account.updated",
                                  obj={"id": "acct_1", "object": "account"}),
                       "no noun for the object of 'account.updated'")):
        assert why in rejected(rt, signed(body) if body[:1] != b"\xff" else
                               {"stripe-signature": "t=1,v1=00"}, body)


# ---------------------------------------------------------------------- listing events


def make_customers(rt, count: int) -> list[str]:
    return [rt.call("create a customer in stripe", name=f"Customer {n}").id
            for n in range(count)]


def listed(rt, after: Event | None = None, types: tuple[str, ...] = ()) -> list[Event]:
    return list(rt.plugins.list_events(rt.connect("stripe_pay"), after, types))


def test_events_are_listed_oldest_first(rt):
    made = make_customers(rt, 3)
    every = listed(rt, types=("customer.created",))
    assert [e.record.id for e in every] == made
    assert all(e.type == "customer.created" and e.record.noun == "customer" for e in every)
    assert [e.record.id for e in listed(rt, every[0], ("customer.created",))] == made[1:]
    assert listed(rt, every[-1], ("customer.created",)) == []


def test_listing_after_an_event_walks_forward_page_by_page(rt, log, monkeypatch):
    from stripe_pay import events

    monkeypatch.setattr(events, "PAGE_SIZE", 2)
    made = make_customers(rt, 7)
    first, *_ = listed(rt, types=("customer.created",))
    log.clear()
    later = rt.plugins.list_events(rt.connect("stripe_pay"), first, ("customer.created",))
    assert log.entries() == []  # lazily: nothing asked before the first is wanted
    assert [e.record.id for e in islice(later, 2)] == made[1:3]
    assert len(log.entries()) == 1
    assert [e.record.id for e in later] == made[3:]
    assert len(log.entries()) == 3  # 6 events, 2 a page
    assert all("ending_before" in entry["params"] for entry in log.entries())


def test_every_event_oldest_first_across_pages(rt, monkeypatch):
    from stripe_pay import events

    monkeypatch.setattr(events, "PAGE_SIZE", 2)
    made = make_customers(rt, 5)
    assert [e.record.id for e in listed(rt, types=("customer.created",))] == made


def test_more_types_than_stripe_takes_are_filtered_here(rt, log):
    from stripe_pay import events

    made = make_customers(rt, 2)
    rt.call("create a product in stripe", name="Gold")
    many = ("customer.created", *(t.type for t in events.triggers()
                                  if t.type != "customer.created"))[:events.MAX_TYPES + 5]
    log.clear()
    found = listed(rt, types=many)
    assert [e.record.id for e in found if e.type == "customer.created"] == made
    assert all(e.type in many for e in found)
    assert all("types" not in entry["params"] for entry in log.entries())
    assert "product.created" in {e.type for e in listed(rt)}


def test_an_event_stripe_no_longer_has_falls_back_to_its_time(rt):
    made = make_customers(rt, 2)
    first = listed(rt, types=("customer.created",))[0]
    gone = Event("evt_forgotten000000000000", first.type, first.created, False, first.record)
    with pytest.warns(UserWarning, match="no longer has the event evt_forgotten"):
        found = listed(rt, gone, ("customer.created",))
    assert [e.record.id for e in found] == made  # the same second's events: the host drops


# ---------------------------------------------------------------------- endpoints


def test_ensure_endpoint_makes_one_then_finds_it(rt, log):
    conn = rt.connect("stripe_pay")
    made = rt.plugins.ensure_endpoint(conn, URL, ("invoice.paid",))
    assert made.created and made.secret is not None
    assert made.secret.reveal().startswith("whsec_") and "whsec_" not in repr(made)
    assert made.types == ("invoice.paid",)
    again = rt.plugins.ensure_endpoint(conn, URL, ("invoice.paid",))
    assert (again.id, again.created, again.secret) == (made.id, False, None)
    posts = [e for e in log.entries() if e["method"] == "POST"]
    assert len(posts) == 1 and posts[0]["idempotency_key"].startswith("kbooks-endpoint-")


def test_ensure_endpoint_changes_the_types_of_the_one_it_finds(rt):
    conn = rt.connect("stripe_pay")
    made = rt.plugins.ensure_endpoint(conn, URL, ("invoice.paid",))
    other = rt.plugins.ensure_endpoint(conn, "https://example.test/other", ("customer.created",))
    changed = rt.plugins.ensure_endpoint(conn, URL, ("invoice.paid", "invoice.voided"))
    assert (changed.id, changed.created) == (made.id, False)
    assert set(changed.types) == {"invoice.paid", "invoice.voided"}
    listed_urls = [e["url"] for e in json.loads(rt.connect("stripe_pay").client.sdk.raw_request(
        "get", "/v1/webhook_endpoints").body)["data"]]
    assert sorted(listed_urls) == sorted([URL, "https://example.test/other"])
    assert other.id != made.id


def test_remove_endpoint(rt):
    conn = rt.connect("stripe_pay")
    rt.plugins.ensure_endpoint(conn, URL, ("invoice.paid",))
    assert rt.plugins.remove_endpoint(conn, URL) is True
    assert rt.plugins.remove_endpoint(conn, URL) is False
    again = rt.plugins.ensure_endpoint(conn, URL, ("invoice.paid",))
    assert again.created


def test_ensure_endpoint_enables_a_disabled_one(rt):
    conn = rt.connect("stripe_pay")
    made = rt.plugins.ensure_endpoint(conn, URL, ("invoice.paid",))
    conn.client.sdk.v1.webhook_endpoints.update(made.id, params={"disabled": True})
    again = rt.plugins.ensure_endpoint(conn, URL, ("invoice.paid",))
    assert again.id == made.id
    assert conn.client.sdk.v1.webhook_endpoints.retrieve(made.id).status == "enabled"


class Receiver:
    """An HTTP server on 127.0.0.1 that keeps what is POSTed to it and answers 200."""

    def __init__(self) -> None:
        import http.server
        import threading

        got = self.got = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                got.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


def test_a_delivery_from_the_endpoint_made_is_verified_and_decoded(rt, stripe_env):
    receiver = Receiver()
    try:
        conn = rt.connect("stripe_pay")
        endpoint = rt.plugins.ensure_endpoint(conn, receiver.url, ("customer.created",))
        customer = rt.call("create a customer in stripe", email="jo@example.com")
        rt.call("create a product in stripe", name="Not wanted")
        assert stripe_env.drain_webhooks(timeout=10)
    finally:
        receiver.stop()
    ((headers, body),) = receiver.got
    assert endpoint.secret is not None
    event = rt.plugins.verify_event(conn, headers, body, endpoint.secret)
    assert (event.type, event.record.noun, event.record.id) == (
        "customer.created", "customer", customer.id)
    assert event.record["email"] == "jo@example.com"
    assert [e.id for e in listed(rt, types=("customer.created",))] == [event.id]
    with pytest.raises(DeliveryRejected, match="does not match"):
        rt.plugins.verify_event(conn, headers, body, SECRET)
