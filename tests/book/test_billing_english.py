"""The English forms of billing beside the plain verbs: cancelling at the period's end,
moving a test clock to a time or by a duration, applying and removing discounts. Each is
checked (with its mistakes located) and planned before anything runs, then run live
against the sandbox through the same builder as every other road."""

from __future__ import annotations

import datetime

import pytest
from dateutil.relativedelta import relativedelta
from english_support import run
from test_corpus import calls as corpus_calls

from kognitos_books import Runtime
from kognitos_books.language import LanguageError

GIVEN = ("customer", "subscription", "test clock", "invoice", "coupon")


@pytest.fixture(scope="module")
def offline(tmp_path_factory) -> Runtime:
    return Runtime(home=tmp_path_factory.mktemp("billing"))


VALID = [
    ("cancel the subscription at the end of the period",
     'cancel_at_period_end subscription id=<the subscription>'),
    ("advance the test clock to 2027-01-01",
     'advance test_clock id=<the test clock> {"frozen_time": 1798761600}'),
    ("advance the test clock to 2027-01-01 12:30",
     'advance test_clock id=<the test clock> {"frozen_time": 1798806600}'),
    ("advance the test clock by 1 month",
     'advance test_clock id=<the test clock> {"frozen_time": '
     '"<the test clock\'s frozen time + 1 month>"}'),
    ('apply the coupon "SUMMER25" to the subscription',
     'apply_discount subscription id=<the subscription> {"discounts": ["SUMMER25"]}'),
    ('apply the promotion code "promo_1" to the invoice',
     'apply_discount invoice id=<the invoice> {"discounts": ["promo_1"]}'),
    ("apply the coupon to the invoice",
     'apply_discount invoice id=<the invoice> {"discounts": ["<the coupon\'s id>"]}'),
    ("remove the discounts from the subscription",
     "remove_discounts subscription id=<the subscription>"),
    ("remove the discounts from the invoice", "remove_discounts invoice id=<the invoice>"),
]


def test_every_subscription_found_is_cancelled_at_the_end_of_its_period(offline):
    [loop] = offline.check('cancel all subscriptions in stripe whose status is "past_due" at '
                           "the end of the period").body
    [each] = loop.body
    assert each.procedure.id == "stripe_pay.subscription.cancel_at_period_end"
    assert loop.source.verb == "get" and loop.source.command.phrase is None


@pytest.mark.parametrize("text,expected", VALID, ids=[t[:50] for t, _ in VALID])
def test_billing_forms_in_english(offline, text, expected):
    assert corpus_calls(offline, text, GIVEN) == [expected]


INVALID = [
    ('apply the coupon "SUMMER25" to the customer', 1, 32,
     "the pinned Stripe API version gives customers no discounts",
     "apply it to the customer's subscription or invoice instead"),
    ("cancel the subscription at the end of the day", 1, 25,
     '"at the end of the day" means nothing to "cancel the subscription"',
     "cancel the subscription at the end of the period"),
    ("cancel the invoice at the end of the period", 1, 1,
     "Stripe Pay cannot cancel an invoice", "an invoice can:"),
    ("void the invoice by 1 month", 1, 18, '"by 1 month" means nothing to "void the invoice"',
     'delete "by 1 month"'),
    ('advance the test clock by 2 weeks with the id is "clock_1"', 1, 24,
     "no test clock is known here to read it from", "get or create the test clock first"),
    ('remove the discounts "SUMMER25" from the invoice', 1, 22,
     "names no one of them", "remove the discounts from the invoice"),
    ('get the customer "cus_1" from stripe', 1, 18, '"cus_1" means nothing to "get the '
     'customer"', 'with the id is "cus_1"'),
    ('apply the coupon "SUMMER25" to the subscriptions', 1, 32, "acts on one subscription",
     "for each subscription in the subscriptions"),
]


@pytest.mark.parametrize("text,line,column,message,hint", INVALID,
                         ids=[t[0][:50] for t in INVALID])
def test_mistakes_are_located_before_anything_runs(offline, text, line, column, message,
                                                    hint):
    with pytest.raises(LanguageError) as info:
        offline.check(text, given=(*GIVEN, "subscriptions"))
    error = info.value
    assert (error.line, error.column) == (line, column)
    assert message in error.message
    assert hint in (error.hint or "")


def test_the_forms_are_procedures_called_from_python(offline):
    procedures = {p.id: p.english for p in offline.procedures("stripe_pay")}
    assert procedures["stripe_pay.subscription.cancel_at_period_end"] == \
        "cancel the subscription at the end of the period"
    assert procedures["stripe_pay.invoice.apply_discount"] == \
        'apply the coupon to the invoice'
    assert procedures["stripe_pay.subscription.remove_discounts"] == \
        "remove the discounts from the subscription"



def test_a_plan_shows_each_form_s_request(rt):
    plan = rt.run('''\
get the subscription from stripe with the id is "sub_1"
cancel the subscription at the end of the period
apply the coupon "SUMMER25" to the subscription
apply the promotion code "promo_1" to the subscription
remove the discounts from the subscription
''', journal=False, dry_run=True)
    requests = [(r.method, r.path, dict(r.params)) for step in plan.steps[1:]
                for r in step.plan.requests]
    path = "/v1/subscriptions/<the subscription>"
    assert requests == [("POST", path, {"cancel_at_period_end": "true"}),
                        ("POST", path, {"discounts[0][coupon]": "SUMMER25"}),
                        ("POST", path, {"discounts[0][promotion_code]": "promo_1"}),
                        ("POST", path, {"discounts": ""})]


SUBSCRIBED = '''\
create a test clock in stripe with
  the frozen time is 2026-01-31
create a customer in stripe with
  the email is "billing@example.com"
  the test clock is the test clock's id
create a price in stripe with
  the currency is "usd"
  the unit amount is $30.00
  the recurring's interval is "month"
  the product data's name is "Pro"
create a subscription for the customer with
  the price is the price's id
  the collection method is "send_invoice"
  the days until due is 30
'''


def test_a_subscription_is_cancelled_at_the_end_of_its_period(rt):
    results = run(rt, SUBSCRIBED + '''\
cancel the subscription at the end of the period
''')
    subscription, cancelling = results[3], results[4]
    assert cancelling["id"] == subscription["id"]
    assert cancelling["status"] == "active" and cancelling["cancel_at_period_end"] is True


def test_a_test_clock_moves_by_a_month_on_the_calendar_and_to_a_date(rt):
    results = run(rt, SUBSCRIBED + '''\
advance the test clock by 1 month
get the test clock from stripe with the id is the test clock's id
advance the test clock by 2 weeks
get the test clock from stripe with the id is the test clock's id
advance the test clock to 2027-01-01
''')
    start = datetime.datetime(2026, 1, 31, tzinfo=datetime.UTC)
    month, weeks = results[5], results[7]
    # (a month after January 31st is February's last day)
    assert month["frozen_time"] == int(datetime.datetime(2026, 2, 28, tzinfo=datetime.UTC)
                                       .timestamp())
    assert weeks["frozen_time"] == int((start + relativedelta(months=1, weeks=2))
                                       .timestamp())
    assert results[8]["frozen_time"] == 1798761600


def test_discounts_are_applied_and_removed(rt, log):
    results = run(rt, SUBSCRIBED + '''\
create a coupon in stripe with
  the id is "SUMMER25"
  the percent off is 25
  the duration is "forever"
apply the coupon "SUMMER25" to the subscription
remove the discounts from the subscription
create an invoice for the customer
apply the coupon to the invoice
remove the discounts from the invoice
''')
    subscription, invoice, on_invoice, off_invoice = results[3], results[7], results[8], \
        results[9]
    sent = [(e["method"], e["path"], e["params"]) for e in log.entries()
            if e["method"] == "POST" and e["path"].startswith(("/v1/subscriptions/",
                                                                "/v1/invoices/"))]
    assert sent == [
        ("POST", f"/v1/subscriptions/{subscription['id']}",
         {"discounts": [{"coupon": "SUMMER25"}]}),
        ("POST", f"/v1/subscriptions/{subscription['id']}", {"discounts": ""}),
        ("POST", f"/v1/invoices/{invoice['id']}", {"discounts": [{"coupon": "SUMMER25"}]}),
        ("POST", f"/v1/invoices/{invoice['id']}", {"discounts": ""}),
    ]
    assert invoice["discounts"] == []
    [discount] = on_invoice["discounts"]
    assert discount.startswith("di_")
    assert off_invoice["discounts"] == []


def test_the_forms_are_called_by_id_and_in_english_from_python(rt):
    subscription = run(rt, SUBSCRIBED)[3]
    cancelling = rt.call("stripe_pay.subscription.cancel_at_period_end", id=subscription.id)
    assert cancelling["cancel_at_period_end"] is True
    kept = rt.call("update a subscription in stripe", id=subscription.id,
                   cancel_at_period_end=False)
    assert kept["cancel_at_period_end"] is False
    invoice = rt.call("create an invoice in stripe", customer=subscription["customer"])
    rt.call("create a coupon in stripe", id="TENOFF", percent_off=10, duration="once")
    on = rt.call("stripe_pay.invoice.apply_discount", id=invoice.id, discounts=["TENOFF"])
    assert len(on["discounts"]) == 1
    off = rt.call("stripe_pay.invoice.remove_discounts", id=invoice.id)
    assert off["discounts"] == []
    again = rt.call("apply the coupon to the invoice", id=invoice.id, discounts=["TENOFF"])
    assert len(again["discounts"]) == 1


def test_a_time_is_read_in_the_automation_s_time_zone(offline):
    [step] = offline.check('in time zone "America/New_York"\n'
                           "advance the test clock to 2027-01-01 09:00", given=GIVEN)
    assert step.fields["frozen_time"] == int(datetime.datetime(
        2027, 1, 1, 14, 0, tzinfo=datetime.UTC).timestamp())
    [moving] = offline.check('in time zone "America/New_York"\n'
                             "advance the test clock by 1 day", given=GIVEN)
    # across the spring change a day on New York's calendar is 23 hours
    march = int(datetime.datetime(2026, 3, 8, 0, 0, tzinfo=datetime.UTC).timestamp())
    assert moving.fields["frozen_time"].value(march) - march == 23 * 3600


def test_cancelling_at_the_period_end_does_not_ask_first(offline):
    book = next(b for b in offline.plugins.books() if b.name == "stripe_pay")
    subscription = book.noun("subscription")
    assert subscription is not None
    assert not subscription.needs_confirmation("cancel_at_period_end")
    assert subscription.needs_confirmation("cancel")
