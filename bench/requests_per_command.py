"""Requests per command: each command of the Stripe Pay manual, run verbatim with
``Runtime.run`` against a fresh sandbox, and the requests its request log shows for it, next
to the fewest Stripe's API allows for the same effect.

The objects the commands name exist beforehand (a customer with the manual's email, the
product ``12232232``, an open invoice, a draft invoice the runtime has seen); making them is
not counted. The invoice id ``sub_123456789`` is refused before anything is sent.
"""

from __future__ import annotations

from typing import Any

import stripe
from common import KEY, Figure, Sandbox, book_env

EMAIL = "john@example.com"

#: (label, command as the manual prints it, fewest requests Stripe needs, why)
COMMANDS: tuple[tuple[str, str, int, str], ...] = (
    ('get a customer whose email is "..."',
     f'get a customer from stripe whose email is "{EMAIL}"', 1,
     "GET /v1/customers?email=...&limit=1"),
    ('get an invoice whose status is "open"',
     'get an invoice from stripe whose status is "open"', 1,
     "GET /v1/invoices?status=open&limit=1"),
    ("create a customer",
     f'create a customer in stripe with\n  the email is "{EMAIL}"\n  the name is "John Doe"',
     1, "POST /v1/customers"),
    ("create a price",
     'create a price in stripe with\n  the unit_amount is 1000\n  the currency is "usd"\n'
     '  the product is "12232232"', 1, "POST /v1/prices"),
    ("add a item to the invoice (customer given)",
     'add a item to the invoice with\n  the customer is "{customer}"\n  the amount is 1500\n'
     '  the currency is "usd"', 1, "POST /v1/invoiceitems"),
    ("send the invoice", "send the invoice", 1, "POST /v1/invoices/{id}/send"),
    ("delete a customer", 'delete a customer in stripe with\n  the id is "{doomed}"', 1,
     "DELETE /v1/customers/{id}"),
    ('delete an invoice ("sub_123456789")',
     'delete an invoice in stripe with\n  the id is "sub_123456789"', 0,
     "a subscription id: refused before sending"),
)
#: Commands about "the invoice": the runtime is shown the draft invoice first (not counted).
ON_THE_DRAFT = ("add a item", "send the invoice")


def _setup(sandbox: Sandbox, rt: Any) -> dict[str, str]:
    sdk = stripe.StripeClient(KEY, base_addresses={"api": sandbox.url}).v1
    customer = sdk.customers.create(params={"email": EMAIL, "name": "John Doe"}).id
    sdk.products.create(params={"id": "12232232", "name": "Gold plan"})
    invoice = sdk.invoices.create(params={"customer": customer,
                                          "collection_method": "send_invoice",
                                          "days_until_due": 30})
    sdk.invoice_items.create(params={"customer": customer, "invoice": invoice.id,
                                     "amount": 700, "currency": "usd"})
    sdk.invoices.finalize_invoice(invoice.id)  # an open invoice to find
    draft = sdk.invoices.create(params={"customer": customer,
                                        "collection_method": "send_invoice",
                                        "days_until_due": 30})
    doomed = sdk.customers.create(params={"email": "gone@example.com"}).id
    return {"customer": customer, "doomed": doomed, "draft": draft.id}


def _shown(entry: dict[str, Any]) -> str:
    """A logged request as ``GET /v1/customers email=...&limit=1``."""
    query = "&".join(f"{k}={v}" for k, v in entry["params"].items())
    return " ".join(filter(None, (entry["method"], entry["path"],
                                  query if entry["method"] == "GET" else "")))


def measure() -> list[dict[str, Any]]:
    """Each command's requests, as the sandbox logged them."""
    from kognitos_books import Runtime
    from kognitos_books.language import LanguageError

    found = []
    with Sandbox() as sandbox, book_env(sandbox.url):
        rt = Runtime()
        names = _setup(sandbox, rt)
        for label, text, fewest, why in COMMANDS:
            command = text.format(**names)
            if command.startswith(ON_THE_DRAFT):
                rt.call("get an invoice from stripe", id=names["draft"])
            before = len(sandbox.requests())
            outcome = "ok"
            try:
                result = rt.run(command + "\n")
                if not result.ok:
                    outcome = f"failed: {result.failures[0].error}"
            except LanguageError as error:
                outcome = f"refused: {error.errors[0].message}"
            sent = sandbox.requests()[before:]
            found.append({"command": label, "text": command, "requests": len(sent),
                          "fewest": fewest, "why": why, "outcome": outcome,
                          "sent": [_shown(e) for e in sent]})
    return found


def run(quick: bool) -> list[Figure]:
    figures = []
    for row in measure():
        ok = row["requests"] == row["fewest"] and (
            row["outcome"] == "ok" or (row["fewest"] == 0 and row["outcome"].startswith(
                "refused")))
        sent = "; ".join(row["sent"]) or row["outcome"]
        figures.append(Figure("requests", row["command"], row["requests"], "requests",
                              f"= {row['fewest']} (fewest)", ok, sent))
    return figures
