"""Tax rates through the real SDK: created, changed where Stripe lets them change, archived
rather than deleted, listed by their filters, and applied to invoices and their items."""

from __future__ import annotations

import pytest
from sandbox_http import raw_request, refused


def test_a_tax_rate_is_created_with_its_details(client):
    rate = client.v1.tax_rates.create(params={
        "display_name": "Sales Tax", "percentage": 8.25, "inclusive": False,
        "country": "US", "state": "TX", "jurisdiction": "US - TX", "tax_type": "sales_tax",
        "description": "Texas"})
    assert rate.id.startswith("txr_")
    assert (rate.display_name, rate.percentage, rate.inclusive, rate.active) == (
        "Sales Tax", 8.25, False, True)
    assert (rate.country, rate.state, rate.jurisdiction, rate.tax_type) == (
        "US", "TX", "US - TX", "sales_tax")
    assert (rate.effective_percentage, rate.rate_type, rate.flat_amount) == (
        8.25, "percentage", None)
    assert client.v1.tax_rates.retrieve(rate.id).description == "Texas"


def test_percentage_and_inclusive_are_fixed_once_created(client, sandbox):
    rate = client.v1.tax_rates.create(params={"display_name": "VAT", "percentage": 20,
                                              "inclusive": True})
    updated = client.v1.tax_rates.update(rate.id, params={"display_name": "TVA",
                                                          "country": "FR", "state": ""})
    assert (updated.display_name, updated.country, updated.state) == ("TVA", "FR", None)
    for field, value in (("percentage", "10"), ("inclusive", "false")):
        status, _, body = raw_request(sandbox, "POST", f"/v1/tax_rates/{rate.id}",
                                      body=f"{field}={value}")
        assert status == 400 and body["error"]["param"] == field
    assert client.v1.tax_rates.retrieve(rate.id).percentage == 20


@pytest.mark.parametrize("percentage", [-1, 100.01])
def test_a_percentage_outside_0_to_100_is_refused(client, percentage):
    refused(lambda: client.v1.tax_rates.create(params={
        "display_name": "Odd", "percentage": percentage, "inclusive": False}),
        "between 0 and 100", param="percentage")


def test_a_tax_rate_is_archived_never_deleted(client, sandbox):
    rate = client.v1.tax_rates.create(params={"display_name": "GST", "percentage": 5,
                                              "inclusive": False})
    status, _, body = raw_request(sandbox, "DELETE", f"/v1/tax_rates/{rate.id}")
    assert status == 404 and "Unrecognized request URL" in body["error"]["message"]
    archived = client.v1.tax_rates.update(rate.id, params={"active": False})
    assert archived.active is False


def test_tax_rates_are_listed_by_active_and_inclusive(client):
    made = [client.v1.tax_rates.create(params={"display_name": name, "percentage": 10,
                                               "inclusive": inclusive})
            for name, inclusive in (("a", True), ("b", False), ("c", True))]
    client.v1.tax_rates.update(made[2].id, params={"active": False})
    assert [r.id for r in client.v1.tax_rates.list(params={"inclusive": True})] == [
        made[2].id, made[0].id]
    assert [r.id for r in client.v1.tax_rates.list(params={"active": True})] == [
        made[1].id, made[0].id]


def test_rates_are_applied_to_invoices_and_items_and_archived_ones_refused(client):
    customer = client.v1.customers.create()
    vat = client.v1.tax_rates.create(params={"display_name": "VAT", "percentage": 20,
                                             "inclusive": False})
    old = client.v1.tax_rates.create(params={"display_name": "Old", "percentage": 7,
                                             "inclusive": False})
    invoice = client.v1.invoices.create(params={"customer": customer.id,
                                                "default_tax_rates": [vat.id]})
    assert [r.id for r in invoice.default_tax_rates] == [vat.id]
    item = client.v1.invoice_items.create(params={"customer": customer.id, "amount": 1000,
                                                  "currency": "usd", "invoice": invoice.id,
                                                  "tax_rates": [old.id]})
    assert [r.id for r in item.tax_rates] == [old.id]
    client.v1.tax_rates.update(old.id, params={"active": False})
    # (an archived rate keeps working where it is set)
    assert client.v1.invoices.retrieve(invoice.id).total == 1070
    refused(lambda: client.v1.invoices.update(invoice.id, params={
        "default_tax_rates": [old.id]}), "archived", param="default_tax_rates[0]")
    refused(lambda: client.v1.invoices.update(invoice.id, params={
        "default_tax_rates": ["txr_missing"]}), "No such tax_rate",
        param="default_tax_rates[0]")
    cleared = client.v1.invoices.update(invoice.id, params={"default_tax_rates": ""})
    assert cleared.default_tax_rates == []
