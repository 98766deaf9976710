"""Host overhead: the Stripe Pay manual's commands through the Runtime, against the same
requests made with the SDK directly.

Three ways, the same sandbox (its own process, no faults), the same requests:

* ``raw``: ``stripe.StripeClient`` calls, with an idempotency key on writes as the book sends;
* ``call``: ``Runtime.call("create a customer in stripe", email=..., ...)``;
* ``run``: ``Runtime.run(<the manual's text>)``, parsed, checked and journaled.

Each round runs every command, a few times, in each way back to back, rotating which way
goes first (ABC, BCA, CAB...), so drift on a noisy machine hits all three alike. Objects a
command needs (a draft invoice to send, a customer to delete) are made beforehand, untimed,
with the SDK. The figure is the median, over every command and repetition, of (time of the
way) / (time of raw) within the repetition: a median of pairs taken moments apart, which a
garbage collection or a neighbour's burst of work in one of them does not move. The
requests are checked to be the same once, before measuring.

Besides the commands one a run, the seven make one automation (``TOUR``): one run, one
journal entry and one check for seven steps, against the same seven SDK calls.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

import attrs
import stripe
from common import KEY, Figure, Sandbox, book_env, median, timed

WAYS = ("raw", "call", "run")
TARGET = 1.10
EMAIL = "john@example.com"
PRODUCT = "12232232"


@attrs.define
class Bench:
    """What the commands act on: the SDK client, the runtime and the sandbox's objects."""

    sdk: stripe.StripeClient
    rt: Any
    customer: str = ""

    def key(self) -> dict[str, str]:
        return {"idempotency_key": f"kbooks-{uuid.uuid4()}"}

    def draft_invoice(self, with_item: bool) -> str:
        invoice = self.sdk.v1.invoices.create(params={
            "customer": self.customer, "collection_method": "send_invoice",
            "days_until_due": 30})
        if with_item:
            self.sdk.v1.invoice_items.create(params={
                "customer": self.customer, "invoice": invoice.id, "amount": 700,
                "currency": "usd"})
        return invoice.id

    def remember_invoice(self, way: str, invoice: str) -> None:
        # "the invoice" of the English commands: the runtime remembers what it last saw.
        if way != "raw":
            self.rt.call("get an invoice from stripe", id=invoice)

    def new_customer(self) -> str:
        return self.sdk.v1.customers.create(params={"email": "gone@example.com"}).id


@attrs.frozen
class Command:
    """One manual command: ``prepare`` (untimed) returns what ``act`` needs."""

    name: str
    act: Callable[[Bench, str, Any], Any]
    prepare: Callable[[Bench, str], Any] = lambda bench, way: None


def _get_customer(b: Bench, way: str, _: Any) -> Any:
    if way == "raw":
        return b.sdk.v1.customers.list(params={"email": EMAIL, "limit": 1}).data[0]
    if way == "call":
        return b.rt.call("get a customer from stripe", email=EMAIL)
    return b.rt.run(f'get a customer from stripe whose email is "{EMAIL}"\n')


def _get_invoice(b: Bench, way: str, _: Any) -> Any:
    if way == "raw":
        return b.sdk.v1.invoices.list(params={"status": "open", "limit": 1}).data[0]
    if way == "call":
        return b.rt.call("get an invoice from stripe", status="open")
    return b.rt.run('get an invoice from stripe whose status is "open"\n')


def _create_customer(b: Bench, way: str, _: Any) -> Any:
    if way == "raw":
        return b.sdk.v1.customers.create(params={"email": EMAIL, "name": "John Doe"},
                                         options=b.key())
    if way == "call":
        return b.rt.call("create a customer in stripe", email=EMAIL, name="John Doe")
    return b.rt.run(f'create a customer in stripe with\n  the email is "{EMAIL}"\n'
                    '  the name is "John Doe"\n')


def _create_price(b: Bench, way: str, _: Any) -> Any:
    if way == "raw":
        return b.sdk.v1.prices.create(params={"unit_amount": 1000, "currency": "usd",
                                              "product": PRODUCT}, options=b.key())
    if way == "call":
        return b.rt.call("create a price in stripe", unit_amount=1000, currency="usd",
                         product=PRODUCT)
    return b.rt.run('create a price in stripe with\n  the unit_amount is 1000\n'
                    f'  the currency is "usd"\n  the product is "{PRODUCT}"\n')


def _prepare_add(b: Bench, way: str) -> str:
    invoice = b.draft_invoice(with_item=False)
    b.remember_invoice(way, invoice)
    return invoice


def _add_item(b: Bench, way: str, invoice: str) -> Any:
    if way == "raw":
        return b.sdk.v1.invoice_items.create(params={
            "customer": b.customer, "amount": 1500, "currency": "usd", "invoice": invoice},
            options=b.key())
    if way == "call":
        return b.rt.call("add a item to the invoice", customer=b.customer, amount=1500,
                         currency="usd")
    return b.rt.run(f'add a item to the invoice with\n  the customer is "{b.customer}"\n'
                    '  the amount is 1500\n  the currency is "usd"\n')


def _prepare_send(b: Bench, way: str) -> str:
    invoice = b.draft_invoice(with_item=True)
    b.remember_invoice(way, invoice)
    return invoice


def _send(b: Bench, way: str, invoice: str) -> Any:
    if way == "raw":
        return b.sdk.v1.invoices.send_invoice(invoice, options=b.key())
    if way == "call":
        return b.rt.call("send the invoice")
    return b.rt.run("send the invoice\n")


def _delete_customer(b: Bench, way: str, customer: str) -> Any:
    if way == "raw":
        return b.sdk.v1.customers.delete(customer, options=b.key())
    if way == "call":
        return b.rt.call("delete a customer in stripe", id=customer)
    return b.rt.run(f'delete a customer in stripe with\n  the id is "{customer}"\n')


COMMANDS = (
    Command('get a customer whose email is "..."', _get_customer),
    Command('get an invoice whose status is "open"', _get_invoice),
    Command("create a customer", _create_customer),
    Command("create a price", _create_price),
    Command("add a item to the invoice (with customer)", _add_item, _prepare_add),
    Command("send the invoice", _send, _prepare_send),
    Command("delete a customer", _delete_customer, lambda b, way: b.new_customer()),
)


#: The manual's commands as one automation, in an order in which each makes sense: the
#: invoice added to is a draft, and the customer deleted is the one just created.
TOUR = f"""\
get a customer from stripe whose email is "{EMAIL}"
create a customer in stripe with
  the email is "{EMAIL}"
  the name is "John Doe"
create a price in stripe with
  the unit_amount is 1000
  the currency is "usd"
  the product is "{PRODUCT}"
add a item to the invoice with
  the customer is "{{customer}}"
  the amount is 1500
  the currency is "usd"
send the invoice
delete a customer in stripe with
  the id is the customer's id
get an invoice from stripe whose status is "open"
"""


def _tour(b: Bench, way: str, invoice: str) -> Any:
    if way == "run":
        return b.rt.run(TOUR.format(customer=b.customer))
    if way == "call":
        b.rt.call("get a customer from stripe", email=EMAIL)
        made = b.rt.call("create a customer in stripe", email=EMAIL, name="John Doe")
        b.rt.call("create a price in stripe", unit_amount=1000, currency="usd",
                  product=PRODUCT)
        b.rt.call("add a item to the invoice", customer=b.customer, amount=1500,
                  currency="usd")
        b.rt.call("send the invoice")
        b.rt.call("delete a customer in stripe", id=made.id)
        return b.rt.call("get an invoice from stripe", status="open")
    sdk = b.sdk.v1
    sdk.customers.list(params={"email": EMAIL, "limit": 1})
    made = sdk.customers.create(params={"email": EMAIL, "name": "John Doe"}, options=b.key())
    sdk.prices.create(params={"unit_amount": 1000, "currency": "usd", "product": PRODUCT},
                      options=b.key())
    sdk.invoice_items.create(params={"customer": b.customer, "amount": 1500,
                                     "currency": "usd", "invoice": invoice}, options=b.key())
    sdk.invoices.send_invoice(invoice, options=b.key())
    sdk.customers.delete(made.id, options=b.key())
    return sdk.invoices.list(params={"status": "open", "limit": 1})


WHOLE = Command("the 7 commands as one automation", _tour, _prepare_add)


def _setup(bench: Bench) -> None:
    sdk = bench.sdk.v1
    bench.customer = sdk.customers.create(params={"email": EMAIL, "name": "John Doe"}).id
    sdk.products.create(params={"id": PRODUCT, "name": "Gold plan"})
    invoice = bench.draft_invoice(with_item=True)
    sdk.invoices.finalize_invoice(invoice)  # an open invoice to find


def _requests(sandbox: Sandbox, since: int, token: Any) -> list[str]:
    """The requests logged after the first ``since``, with ``token`` (the id of the object
    made for this run of the command) masked, as it differs from way to way."""
    sent = [f"{e['method']} {e['path']} {sorted(e['params'].items())}"
            for e in sandbox.requests()[since:]]
    return [line.replace(token, "<id>") for line in sent] if token else sent


def _same_requests(bench: Bench, sandbox: Sandbox) -> list[str]:
    """Commands whose ways sent different requests (none, if all is well)."""
    different = []
    for command in (*COMMANDS, WHOLE):
        sent = {}
        for way in WAYS:
            token = command.prepare(bench, way)
            before = len(sandbox.requests())
            command.act(bench, way, token)
            # (the customer a tour creates and deletes is its own in each way)
            sent[way] = [re.sub(r"cus_\w+", "cus_<id>", line)
                         for line in _requests(sandbox, before, token)]
        if not sent["raw"] == sent["call"] == sent["run"]:
            different.append(command.name)
    return different


def measure(rounds: int, repeats: int) -> dict[str, Any]:
    """Each command's times by way, and the ratio of each way to raw within each
    repetition (the ways of one repetition run back to back)."""
    from kognitos_books import Runtime

    with Sandbox() as sandbox, book_env(sandbox.url):
        from stripe_pay.client import API_VERSION, MAX_NETWORK_RETRIES

        sdk = stripe.StripeClient(KEY, base_addresses={"api": sandbox.url},
                                  max_network_retries=MAX_NETWORK_RETRIES,
                                  stripe_version=API_VERSION)
        bench = Bench(sdk=sdk, rt=Runtime())
        _setup(bench)
        different = _same_requests(bench, sandbox)
        for _ in range(2):  # warm every path up
            for command in (*COMMANDS, WHOLE):
                for way in WAYS:
                    command.act(bench, way, command.prepare(bench, way))
        times: dict[tuple[str, str], list[float]] = {}
        ratios: dict[tuple[str, str], list[float]] = {}
        for index in range(rounds):
            order = WAYS[index % 3:] + WAYS[:index % 3]
            for command in (*COMMANDS, WHOLE):
                for _ in range(repeats):
                    took = {}
                    for way in order:
                        token = command.prepare(bench, way)
                        took[way] = timed(lambda c=command, w=way, t=token: c.act(bench, w, t))
                        times.setdefault((command.name, way), []).append(took[way])
                    for way in ("call", "run"):
                        ratios.setdefault((command.name, way), []).append(
                            took[way] / took["raw"])
            if index % 10 == 9:
                sandbox.clear_log()  # the log keeps 10,000; keep its cost flat
    return {"times": times, "ratios": ratios, "different": different}


def run(quick: bool) -> list[Figure]:
    rounds, repeats = (10, 3) if quick else (40, 3)
    found = measure(rounds, repeats)
    times, ratios = found["times"], found["ratios"]
    pairs = rounds * repeats
    figures = []
    for way, label in (("call", "Runtime.call / raw SDK"),
                       ("run", "Runtime.run (journaled) / raw SDK")):
        value = median([r for c in COMMANDS for r in ratios[(c.name, way)]])
        figures.append(Figure("overhead", label, round(value, 3), "x", f"<= {TARGET:.2f}",
                              value <= TARGET,
                              f"median of {pairs} interleaved pairs x {len(COMMANDS)} "
                              "commands, one command a run"))
    value = median(ratios[(WHOLE.name, "run")])
    figures.append(Figure("overhead", "Runtime.run of the 7 as one automation / raw SDK",
                          round(value, 3), "x", f"<= {TARGET:.2f}", value <= TARGET,
                          f"median of {pairs} pairs; one run of 7 steps, "
                          f"raw {median(times[(WHOLE.name, 'raw')]) * 1000:.1f} ms"))
    raw_ms = sum(median(times[(c.name, "raw")]) for c in COMMANDS) * 1000 / len(COMMANDS)
    figures.append(Figure("overhead", "raw SDK, mean of the commands' medians",
                          round(raw_ms, 3), "ms"))
    for command in COMMANDS:
        raw = median(times[(command.name, "raw")])
        figures.append(Figure(
            "overhead", f"  {command.name}", round(raw * 1000, 3), "ms raw",
            note=" ".join(f"{way} x{median(ratios[(command.name, way)]):.3f}"
                          for way in ("call", "run"))))
    if found["different"]:
        figures.append(Figure("overhead", "commands whose requests differ",
                              len(found["different"]), target="0", met=False,
                              note="; ".join(found["different"])))
    return figures
