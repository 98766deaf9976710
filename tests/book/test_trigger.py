"""``kbooks sandbox trigger``: the requests that cause an event, sent through the SDK to a
sandbox on a free port, and the objects they made."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
import stripe

from kognitos_books.cli import main

REQUIRED = ("customer.created", "customer.updated", "customer.deleted", "invoice.created",
            "invoice.finalized", "invoice.paid", "invoice.payment_succeeded",
            "invoice.payment_failed", "invoice.voided", "payment_intent.succeeded",
            "payment_intent.payment_failed", "payment_intent.canceled", "charge.succeeded",
            "charge.failed", "charge.refunded", "customer.subscription.created",
            "customer.subscription.updated", "customer.subscription.deleted",
            "product.created", "price.created")
ID = re.compile(r"-> (?:declined \(\w+\), as wanted: )?(\w+_\w+)")


def trigger(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["sandbox", "trigger", *argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def client(stripe_env):
    from stripe_flows import TEST_KEY

    return stripe.StripeClient(TEST_KEY, base_addresses={"api": stripe_env.url})


def test_invoice_paid_makes_a_paid_invoice(stripe_env, client, capsys):
    from stripe_flows import TEST_KEY

    code, out, err = trigger(capsys, "invoice.paid", "--api-base", stripe_env.url)
    assert code == 0, err
    assert [line.split()[:2] for line in out.splitlines() if line.startswith("  POST")] == [
        ["POST", "/v1/customers"], ["POST", "/v1/payment_methods/pm_card_visa/attach"],
        ["POST", "/v1/invoiceitems"], ["POST", "/v1/invoices"],
        ["POST", f"/v1/invoices/{ID.findall(out)[3]}/finalize"],
        ["POST", f"/v1/invoices/{ID.findall(out)[3]}/pay"]]
    customer, card, item, invoice, *_ = ID.findall(out)
    paid = client.v1.invoices.retrieve(invoice)
    assert (paid.status, paid.customer, paid.amount_paid) == ("paid", customer, 2000)
    assert client.v1.payment_methods.retrieve(card).customer == customer
    assert client.v1.invoice_items.retrieve(item).invoice == invoice
    assert TEST_KEY not in out + err


@pytest.mark.parametrize("event_type", REQUIRED)
def test_every_fixture_causes_its_event(stripe_env, client, capsys, event_type):
    code, out, err = trigger(capsys, event_type, "--api-base", stripe_env.url)
    assert code == 0, err
    caused = re.search(rf"Stripe made the event (evt_\w+) \({re.escape(event_type)}\)", out)
    assert caused, out
    event = json.loads(client.raw_request("get", f"/v1/events/{caused.group(1)}").body)
    assert event["type"] == event_type
    obj = event["data"]["object"]
    assert set(ID.findall(out)) & {v for v in obj.values() if isinstance(v, str)}
    answered = [entry["status"] for entry in stripe_env.requests()]
    assert answered and all(status == 200 or (status == 402 and "declined" in out)
                            for status in answered), answered


def test_declined_payments_are_what_the_failures_need(stripe_env, client, capsys):
    code, out, _ = trigger(capsys, "invoice.payment_failed", "--api-base", stripe_env.url)
    assert code == 0 and "declined (card_declined), as wanted" in out
    invoice = ID.findall(out)[3]
    assert client.v1.invoices.retrieve(invoice).status == "open"
    code, out, _ = trigger(capsys, "payment_intent.payment_failed", "--api-base",
                           stripe_env.url)
    assert code == 0 and "declined" in out
    (intent,) = [pi for pi in client.v1.payment_intents.list().data
                 if pi.description == "(created by kbooks sandbox trigger)"]
    assert intent.status == "requires_payment_method"


def test_a_subscription_is_made_and_canceled(stripe_env, client, capsys):
    code, out, _ = trigger(capsys, "customer.subscription.deleted", "--api-base",
                           stripe_env.url)
    assert code == 0
    subscription = next(found for found in ID.findall(out) if found.startswith("sub_"))
    assert client.v1.subscriptions.retrieve(subscription).status == "canceled"


def test_list_names_every_fixture_and_its_requests(capsys):
    code, out, _ = trigger(capsys, "--list")
    assert code == 0
    fixtures: dict[str, list[str]] = {}
    last = ""
    for line in out.splitlines():
        if line.startswith("  "):
            fixtures[last].append(line.strip())
        else:
            last = line
            fixtures[last] = []
    assert set(REQUIRED) <= set(fixtures)
    assert fixtures["invoice.paid"] == [
        "POST /v1/customers", "POST /v1/payment_methods/{id}/attach", "POST /v1/invoiceitems",
        "POST /v1/invoices", "POST /v1/invoices/{id}/finalize", "POST /v1/invoices/{id}/pay"]
    assert fixtures["customer.subscription.deleted"][-1] == "DELETE /v1/subscriptions/{id}"


def test_an_unknown_type_suggests_the_near_ones(capsys, stripe_env):
    code, _, err = trigger(capsys, "invoice.payd", "--api-base", stripe_env.url)
    assert code == 2 and "did you mean invoice.paid" in err
    assert stripe_env.requests() == []


def test_a_remote_base_and_a_live_key_are_refused_unless_asked(capsys, stripe_env,
                                                               monkeypatch):
    code, _, err = trigger(capsys, "customer.created", "--api-base", "https://api.stripe.com")
    assert code == 2 and "--allow-remote" in err
    live = "sk_live_" + "a1" * 12
    monkeypatch.setenv("KBOOKS_STRIPE_PAY_API_KEY", live)
    code, _, err = trigger(capsys, "customer.created", "--api-base", stripe_env.url)
    assert code == 2 and "--allow-live" in err and live not in err
    assert stripe_env.requests() == []


def test_without_an_action_the_sandbox_still_serves(capsys):
    import argparse

    from stripe_pay.sandbox import cli

    parser = argparse.ArgumentParser()
    cli.configure(parser)
    args = parser.parse_args(["--port", "0", "--quiet"])
    assert args.sandbox_action is None and args.port == 0
    assert parser.parse_args(["trigger", "invoice.paid"]).event_type == "invoice.paid"


def test_trigger_help_imports_no_sdk(kbooks_home):
    check = ("import contextlib, io, sys\nfrom kognitos_books.cli import main\n"
             "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
             "    main(['sandbox', 'trigger', '--help'])\n"
             "print('stripe' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True,
                         check=True)
    assert out.stdout.split() == ["False"], out.stderr
