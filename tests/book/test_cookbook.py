"""The cookbook (examples/cookbook/*.kog): real jobs, each run against the sandbox on
records made for it, with what it must have done."""

from __future__ import annotations

from pathlib import Path

from kognitos_books import Runtime

COOKBOOK = Path(__file__).resolve().parents[2] / "examples" / "cookbook"


def run(rt: Runtime, name: str):
    path = COOKBOOK / f"{name}.kog"
    result = rt.run(path.read_text(encoding="utf-8"), source_name=str(path))
    assert result.ok, [s.error for s in result.failures]
    return result


def said(result) -> list[str]:
    return [s.result for s in result.steps if s.kind == "say"]


def invoice(rt: Runtime, email: str, amount: int, **extra) -> str:
    customer = rt.call("create a customer in stripe", email=email)
    made = rt.call("create an invoice in stripe", customer=customer.id, **extra)
    rt.call("add an item to the invoice", amount=amount, currency="usd")
    return made.id


def statuses(rt: Runtime) -> dict[str, str]:
    return {i.id: i["status"] for i in rt.call("get all invoices from stripe")}


def test_every_cookbook_job_has_a_test():
    names = sorted(p.stem for p in COOKBOOK.glob("*.kog"))
    assert len(names) >= 14
    tested = {name.removeprefix("test_").replace("_", "-") for name in globals()
              if name.startswith("test_") and name != "test_every_cookbook_job_has_a_test"}
    assert set(names) <= tested


def test_void_uncollectible(connected):
    rt = connected
    bad, fine = invoice(rt, "a@x.test", 500), invoice(rt, "b@x.test", 700)
    for target in (bad, fine):
        rt.call("finalize an invoice in stripe", id=target)
    rt.call("mark an invoice in stripe as uncollectible", id=bad)
    run(rt, "void-uncollectible")
    assert statuses(rt) == {bad: "void", fine: "open"}


def test_send_drafts(connected):
    rt = connected
    made = [invoice(rt, f"s{i}@x.test", 100 * (i + 1)) for i in range(3)]
    run(rt, "send-drafts")
    assert statuses(rt) == dict.fromkeys(made, "open")


def test_dunning(connected):
    rt = connected
    assert said(run(rt, "dunning")) == ["nothing overdue"]
    due = invoice(rt, "late@x.test", 1200, due_date="2020-01-31")
    rt.call("finalize an invoice in stripe", id=due)
    customer = rt.call("get an invoice from stripe", id=due)["customer"]
    assert said(run(rt, "dunning")) == [f"reminder: {due} (1200) for {customer}"]


def test_month_end_report(connected):
    rt = connected
    for amount in (1000, 2550):
        paid = invoice(rt, f"p{amount}@x.test", amount)
        rt.call("pay an invoice in stripe", id=paid)
    assert said(run(rt, "month-end-report")) == ["2 invoices paid this month: 35.50 usd"]


def test_welcome_new_customers(connected):
    rt = connected
    rt.call("create a customer in stripe", email="new@x.test")
    assert said(run(rt, "welcome-new-customers")) == ["welcome, new@x.test"]


def test_clean_up_test_customers(connected):
    rt = connected
    for email in ("a@test.example", "b@test.example", "keep@example.com"):
        rt.call("create a customer in stripe", email=email)
    run(rt, "clean-up-test-customers")
    assert [c["email"] for c in rt.call("get all customers from stripe")] == ["keep@example.com"]


def test_review_big_invoices(connected):
    rt = connected
    small, big = invoice(rt, "s@x.test", 5000), invoice(rt, "b@x.test", 250000)
    assert said(run(rt, "review-big-invoices")) == [f"review {big}: 250000"]
    assert statuses(rt) == {small: "open", big: "draft"}


def test_archive_a_products_prices(connected):
    rt = connected
    legacy = rt.call("create a product in stripe", name="Legacy plan")
    other = rt.call("create a product in stripe", name="Current plan")
    for product, amount in ((legacy, 100), (legacy, 200), (other, 300)):
        rt.call("create a price in stripe", product=product.id, unit_amount=amount,
                currency="usd")
    run(rt, "archive-a-products-prices")
    active = {p["unit_amount"]: p["active"] for p in rt.call("get all prices from stripe")}
    assert active == {100: False, 200: False, 300: True}


def test_bill_gold_customers(connected):
    rt = connected
    gold = rt.call("create a customer in stripe", email="g@x.test", metadata={"plan": "gold"})
    rt.call("create a customer in stripe", email="s@x.test", metadata={"plan": "silver"})
    run(rt, "bill-gold-customers")
    (made,) = list(rt.call("get all invoices from stripe"))
    assert made["customer"] == gold.id and made["status"] == "open"
    assert made["amount_due"] == 5000


def test_open_invoices_summary(connected):
    rt = connected
    assert said(run(rt, "open-invoices-summary")) == []
    for amount in (1000, 500):
        rt.call("finalize an invoice in stripe", id=invoice(rt, f"o{amount}@x.test", amount))
    assert said(run(rt, "open-invoices-summary")) == ["2 open: 15.00 usd"]


def test_credit_invoices(connected):
    rt = connected
    customer = rt.call("create a customer in stripe", email="late@example.com")
    owed = []
    for amount in (2000, 1200):
        made = rt.call("create an invoice in stripe", customer=customer.id)
        rt.call("add an item to the invoice", amount=amount, currency="usd")
        owed.append(rt.call("finalize an invoice in stripe", id=made.id))
    paid = rt.call("create an invoice in stripe", customer=customer.id)
    rt.call("add an item to the invoice", amount=3000, currency="usd")
    rt.call("pay an invoice in stripe", id=paid.id)
    assert said(run(rt, "credit-invoices")) == [
        f"{owed[1]['number']}: amount due now 700", f"{owed[0]['number']}: amount due now 1500",
        "late@example.com: balance -500 (below zero: credit)"]
    notes = rt.call("get all credit notes from stripe", customer=customer.id)
    assert sorted((note["invoice"], note["type"]) for note in notes) == sorted([
        (owed[0].id, "pre_payment"), (owed[1].id, "pre_payment"), (paid.id, "post_payment")])
    # the credit goes toward the customer's next invoice
    after = rt.call("create an invoice in stripe", customer=customer.id)
    rt.call("add an item to the invoice", amount=1000, currency="usd")
    final = rt.call("finalize an invoice in stripe", id=after.id)
    assert (final["starting_balance"], final["amount_due"]) == (-500, 500)


def test_coupon_campaign(connected):
    rt = connected
    summer = [rt.call("create a customer in stripe", email=f"sun{i}@x.test",
                      metadata={"campaign": "summer"}).id for i in range(2)]
    rt.call("create a customer in stripe", email="winter@x.test",
            metadata={"campaign": "winter"})
    lines = said(run(rt, "coupon-campaign"))
    assert sorted(lines[:2]) == sorted(f"{c}: 4000 less 25% is 3000" for c in summer)
    assert lines[2] == "2 invoices sent: 60.00 usd"
    invoices = list(rt.call("get all invoices from stripe"))
    assert sorted(i["customer"] for i in invoices) == sorted(summer)
    assert {(i["status"], i["total"], i["total_discount_amounts"][0]["amount"])
            for i in invoices} == {("open", 3000, 1000)}
    coupon = rt.call("get a coupon from stripe", id="SUMMER25")
    (code,) = list(rt.call("get all promotion codes from stripe"))
    assert (coupon["times_redeemed"], code["times_redeemed"], code["code"]) == (2, 2, "SUMMER")


def test_trial_on_a_test_clock(connected):
    rt = connected
    lines = said(run(rt, "trial-on-a-test-clock"))
    (converted,) = rt.call("get all subscriptions from stripe", status="active")
    assert converted["trial_end"] == converted["billing_cycle_anchor"]
    assert lines == ["started: trialing", f"converted: {converted.id}", "paid: 3000 usd"]


def test_subscription_dunning(connected):
    rt = connected
    assert said(run(rt, "subscription-dunning")) == ["no past-due subscriptions"]
    clock = rt.call("create a test clock in stripe", frozen_time=1_767_225_600)
    customer = rt.call("create a customer in stripe", email="late@x.test",
                       test_clock=clock.id)
    price = rt.call("create a price in stripe", currency="usd", unit_amount=900,
                    recurring={"interval": "month"}, product_data={"name": "Late"})
    late = rt.call("create a subscription in stripe", customer=customer.id,
                   items=[{"price": price.id}], default_payment_method="pm_card_visa")
    failing = rt.call("attach a payment method in stripe", id="pm_card_chargeCustomerFail",
                      customer=customer.id)  # (the card fails from the first renewal on)
    rt.call("update a subscription in stripe", id=late.id,
            default_payment_method=failing.id)
    renewal = 1_767_225_600 + 31 * 86_400  # (February 1st)
    rt.call("advance a test clock in stripe", id=clock.id, frozen_time=renewal + 60)
    assert said(run(rt, "subscription-dunning")) == [
        f"past due: {late.id} for {customer.id}"]
    rt.call("advance a test clock in stripe", id=clock.id, frozen_time=renewal + 8 * 86_400)
    assert said(run(rt, "subscription-dunning")) == [
        f"canceled: {late.id}", "no past-due subscriptions"]
    assert rt.call("get a subscription from stripe", id=late.id)["status"] == "canceled"
