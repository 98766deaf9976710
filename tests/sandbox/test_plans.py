"""Plans through the real SDK: made for a product (or with one), read, changed, listed and
deleted, with Stripe's refusals."""

from __future__ import annotations

import pytest
import stripe
from sandbox_http import refused
from test_sandbox_shapes import object_problems


@pytest.fixture
def product(client: stripe.StripeClient):
    return client.v1.products.create(params={"name": "Gold"})


def test_a_plan_is_a_recurring_price(client, product):
    plan = client.v1.plans.create(params={"amount": 2000, "currency": "usd",
                                          "interval": "month", "interval_count": 3,
                                          "product": product.id, "nickname": "Quarterly",
                                          "trial_period_days": 14})
    assert plan.id.startswith("plan_") and plan.object == "plan"
    assert (plan.amount, str(plan.amount_decimal), plan.interval, plan.interval_count) == (
        2000, "2000", "month", 3)
    assert (plan.billing_scheme, plan.usage_type, plan.active) == ("per_unit", "licensed", True)
    assert (plan.product, plan.nickname, plan.trial_period_days) == (product.id, "Quarterly",
                                                                     14)
    assert object_problems(plan.last_response.data) == []
    own = client.v1.plans.create(params={"id": "gold-yearly", "amount_decimal": "12.5",
                                         "currency": "usd", "interval": "year",
                                         "product": {"name": "Made with it"}})
    assert (own.id, own.amount, str(own.amount_decimal)) == ("gold-yearly", None, "12.5")
    assert client.v1.products.retrieve(own.product).name == "Made with it"
    refused(lambda: client.v1.plans.create(params={"id": "gold-yearly", "amount": 1,
                                                   "currency": "usd", "interval": "year",
                                                   "product": product.id}),
            "already exists", code="resource_already_exists")


def test_update_list_and_delete(client, product):
    plan = client.v1.plans.create(params={"amount": 500, "currency": "usd",
                                          "interval": "week", "product": product.id})
    other = client.v1.plans.create(params={"amount": 900, "currency": "usd",
                                           "interval": "month", "product": product.id})
    changed = client.v1.plans.update(plan.id, params={"active": False, "nickname": "Old",
                                                      "metadata": {"v": "1"}})
    assert (changed.active, changed.nickname, changed.metadata["v"]) == (False, "Old", "1")
    refused(lambda: client.v1.plans.update(plan.id, params={"amount": 1}), "amount",
            code="parameter_unknown")
    assert [p.id for p in client.v1.plans.list(params={"active": True}).data] == [other.id]
    assert [p.id for p in client.v1.plans.list(params={"product": product.id}).data] == [
        other.id, plan.id]
    deleted = client.v1.plans.delete(plan.id)
    assert deleted.deleted is True
    refused(lambda: client.v1.plans.retrieve(plan.id), "No such plan", status=404)


def test_refusals(client, product):
    base = {"currency": "usd", "interval": "month", "product": product.id}
    refused(lambda: client.v1.plans.create(params=base), "amount", code="parameter_missing")
    refused(lambda: client.v1.plans.create(params={**base, "amount": 1,
                                                   "amount_decimal": "1"}), "only specify one")
    refused(lambda: client.v1.plans.create(params={**base, "billing_scheme": "tiered"}),
            "Tiered", param="billing_scheme")
    refused(lambda: client.v1.plans.create(params={"amount": 1, "currency": "usd",
                                                   "interval": "month"}),
            "product", code="parameter_missing")
    refused(lambda: client.v1.plans.create(params={**base, "amount": 1,
                                                   "product": "prod_missing"}),
            "No such product", param="product")
