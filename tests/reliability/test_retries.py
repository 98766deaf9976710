"""Retries without duplicates: every write carries an idempotency key made from the run and
the step, the key reaches Stripe (the sandbox's request log shows it), and a long run through
server errors, dropped connections and rate limits ends with exactly one object per create.

The SDK's own retries sleep half a second or more each; these tests hand every retry to the
host instead, through public configuration: the book setting ``max_network_retries=0``
(``KBOOKS_STRIPE_PAY_MAX_NETWORK_RETRIES``) and a short :class:`RetryPolicy`.
"""

from __future__ import annotations

import collections
import re
import threading
import time

import pytest
import stripe
from reliability_support import RETRIES_ENV, TEST_KEY, counts, logged

from kognitos_books import BookError, Runtime, Secret
from kognitos_books.automation import RetryPolicy
from kognitos_books.journal import step_key

GROUPS = 50
#: six steps a group, each one request that changes something
GROUP = """\
create a customer in stripe with
  the email is "c{i}@example.com"
create a product in stripe with
  the name is "Plan {i}"
create a price in stripe with
  the unit_amount is {amount}
  the currency is "usd"
  the product is the product's id
create an invoice in stripe with
  the customer is the customer's id
add an item to the invoice with
  the amount is {amount}
  the currency is "usd"
finalize the invoice
"""
FAST = RetryPolicy(retries=12, delay=0.005, max_delay=0.25)


def automation(groups: int) -> str:
    return "".join(GROUP.format(i=i, amount=1000 + i) for i in range(groups))


@pytest.fixture
def host_retries(sandbox, monkeypatch):
    """The SDK does not retry at all; the host does, quickly."""
    monkeypatch.setenv(RETRIES_ENV, "0")
    return sandbox


def test_300_steps_through_faults_create_each_object_once(host_retries, kbooks_home):
    sandbox = host_retries
    text = automation(GROUPS)
    sandbox.set_faults(fail_rate=0.1, drop_rate=0.1, seed=7)
    rt = Runtime(home=kbooks_home)
    lift = threading.Timer(0.5, lambda: sandbox.set_faults(rate_limit=None))

    def on_step(outcome) -> None:
        if outcome.step == 150:
            # One request a second from now on: the steps that follow meet 429s until the
            # timer lifts the limit (the SDK never retries a 429; the host must).
            sandbox.set_faults(rate_limit=1)
            lift.start()

    started = time.monotonic()
    try:
        result = rt.run(text, source_name="bulk.kog", retry=FAST, on_step=on_step)
    finally:
        lift.cancel()
        lift.join()
    seconds = time.monotonic() - started
    sandbox.set_faults(fail_rate=0, drop_rate=0, rate_limit=None)

    assert len(result.steps) == 6 * GROUPS == 300
    assert result.ok, [s.error for s in result.failures][:3]
    assert {s.state for s in result.steps} == {"succeeded"}
    made = {kind: count for kind, count in counts(sandbox.url).items() if count}
    assert made == {"customer": GROUPS, "product": GROUPS, "price": GROUPS,
                    "invoice": GROUPS, "invoiceitem": GROUPS}

    log = logged(sandbox.url)
    faults = collections.Counter(e["fault"] for e in log if e["fault"])
    limited = sum(1 for e in log if e["status"] == 429)
    assert faults["fail"] >= 10 and faults["drop"] >= 10 and limited >= 1, (faults, limited)
    # every failed request was sent again: one request per attempt, and no other
    assert len(log) == sum(s.attempts for s in result.steps)
    retried = sum(s.attempts - 1 for s in result.steps)
    assert retried == faults["fail"] + faults["drop"] + limited

    # Every request carries its step's key; each key acted once, its repeats were replays.
    keys = collections.defaultdict(list)
    pattern = re.compile(rf"kbooks-{result.run_id}-r0-s(\d+)")
    for entry in log:
        assert entry["method"] == "POST"
        found = pattern.fullmatch(entry["idempotency_key"] or "")
        assert found, entry
        keys[int(found.group(1))].append(entry)
    assert sorted(keys) == list(range(1, 301))
    for step, entries in keys.items():
        acted = [e for e in entries if e["status"] == 200 and not e["replayed"]]
        assert len(acted) == 1, (step, entries)
        assert entries[-1]["status"] == 200 and entries[-1]["fault"] is None

    # the invoices are whole: one line each, finalized once, the amount of their item
    client = stripe.StripeClient(TEST_KEY, base_addresses={"api": sandbox.url})
    invoices = list(client.v1.invoices.list({"limit": 100}).auto_paging_iter())
    assert len(invoices) == GROUPS
    assert {i.status for i in invoices} == {"open"}
    assert sorted(i.amount_due for i in invoices) == [1000 + i for i in range(GROUPS)]
    assert all(len(i.lines.data) == 1 for i in invoices)
    steps = rt.journal.steps(result.run_id)
    assert len(steps) == 300 and {s.state for s in steps} == {"succeeded"}
    print(f"\n300 steps in {seconds:.2f}s: {len(log)} requests, {retried} retries "
          f"({faults['fail']} 500s, {faults['drop']} dropped after acting, {limited} 429s)")


WRITES = """\
create a customer in stripe with
  the email is "keys@example.com"
update the customer with
  the metadata's tier is "gold"
create a product in stripe with
  the name is "Keys"
update the product with
  the description is "every write has a key"
create a price in stripe with
  the unit_amount is 500
  the currency is "usd"
  the product is the product's id
create an invoice in stripe with
  the customer is the customer's id
add an item to the invoice with
  the amount is 500
  the currency is "usd"
finalize the invoice
pay the invoice
create an invoice in stripe with
  the customer is the customer's id
add an item to the invoice with
  the amount is 700
  the currency is "usd"
send the invoice
void the invoice
create an invoice in stripe with
  the customer is the customer's id
add an item to the invoice with
  the amount is 900
  the currency is "usd"
finalize the invoice
mark the invoice as uncollectible
create an invoice in stripe with
  the customer is the customer's id
delete the invoice
"""


def test_every_create_and_action_sends_its_step_key(rt, sandbox):
    result = rt.run(WRITES)
    assert result.ok, [s.error for s in result.failures]
    log = logged(sandbox.url)
    posts = [e for e in log if e["method"] == "POST"]
    writes = [s for s in result.steps if s.verb != "delete"]
    assert len(posts) == len(writes) == 18
    for step, entry in zip(writes, posts, strict=True):
        assert entry["idempotency_key"] == step_key(result.run_id, 0, step.step), (step, entry)
    # the one DELETE went out too (the sandbox logs keys of POSTs only)
    assert [e["method"] for e in log].count("DELETE") == 1


def test_a_refusal_is_not_retried(rt, sandbox):
    result = rt.run('get a customer from stripe whose id is "cus_missing"\n', retry=FAST)
    (step,) = result.steps
    assert step.state == "failed" and step.attempts == 1
    assert len(logged(sandbox.url)) == 1


def test_retries_give_up_after_the_policy_and_say_so(rt, sandbox, monkeypatch):
    monkeypatch.setenv(RETRIES_ENV, "0")
    sandbox.set_faults(fail_rate=1.0)
    result = rt.run('create a customer in stripe with\n  the name is "never"\n',
                    retry=RetryPolicy(retries=3, delay=0.001))
    (step,) = result.steps
    assert step.state == "failed" and step.attempts == 4
    assert len(logged(sandbox.url)) == 4 and counts(sandbox.url)["customer"] == 0


def test_max_network_retries_is_a_checked_setting(sandbox, kbooks_home, monkeypatch):
    monkeypatch.setenv(RETRIES_ENV, "3")
    session = Runtime(home=kbooks_home).connect("stripe_pay").client
    assert session.max_network_retries == 3
    for bad in ("-1", "many", "11"):
        monkeypatch.setenv(RETRIES_ENV, bad)
        with pytest.raises(Exception) as err:
            Runtime(home=kbooks_home).connect("stripe_pay")
        assert "max_network_retries" in str(err.value) and err.value.exit_code == 2


@pytest.mark.parametrize("error,retryable", [
    (stripe.APIConnectionError("reset", should_retry=True), True),
    (stripe.APIConnectionError("bad certificate", should_retry=False), False),
    (stripe.APIError("boom", http_status=500), True),
    (stripe.APIError("boom", http_status=503), True),
    (stripe.RateLimitError("slow down", http_status=429), True),
    (stripe.InvalidRequestError("lock", None, http_status=409), True),
    (stripe.InvalidRequestError("no such customer", "id", http_status=404), False),
    (stripe.InvalidRequestError("bad", "x", http_status=400), False),
    (stripe.CardError("declined", None, "card_declined", http_status=402), False),
    (stripe.APIError("replayed", http_status=500, headers={"Stripe-Should-Retry": "false"}),
     False),
    (stripe.InvalidRequestError("retry me", None, http_status=400,
                                headers={"stripe-should-retry": "true"}), True),
])
def test_which_failures_the_book_calls_passing(error, retryable):
    from stripe_pay.client import StripeSession

    session = StripeSession(Secret(TEST_KEY), "https://api.stripe.com",
                            max_network_retries=0)
    mapped = session.error(error)
    assert isinstance(mapped, BookError) and mapped.retryable is retryable
