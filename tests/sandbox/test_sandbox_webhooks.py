"""Webhook endpoints through the SDK: created with a url and the events they want, their
``whsec_`` secret shown once, updated, disabled, listed, deleted, at most 16 of them, https
URLs (and http ones on this machine), and the secret never anywhere else."""

from __future__ import annotations

import json

import pytest
import stripe
from sandbox_http import raw_request, refused
from stripe_pay.sandbox.resources.webhooks import MAX_ENDPOINTS

LOCAL = "http://127.0.0.1:9/hooks"


def endpoint(client: stripe.StripeClient, url: str = LOCAL, **params) -> stripe.WebhookEndpoint:
    return client.v1.webhook_endpoints.create(params={
        "url": url, "enabled_events": params.pop("enabled_events", ["*"]), **params})


def test_an_endpoint_shows_its_secret_once(client, sandbox):
    made = endpoint(client, enabled_events=["invoice.paid", "customer.created"],
                    description="Billing", metadata={"team": "ops"})
    assert made.id.startswith("we_") and made.object == "webhook_endpoint"
    assert made.secret.startswith("whsec_") and len(made.secret) > 20
    assert (made.url, made.status, made.enabled_events) == (
        LOCAL, "enabled", ["invoice.paid", "customer.created"])
    assert (made.description, made.metadata.to_dict(), made.livemode) == (
        "Billing", {"team": "ops"}, False)
    retrieved = client.v1.webhook_endpoints.retrieve(made.id)
    assert "secret" not in retrieved
    assert {**retrieved.to_dict(), "secret": made.secret} == made.to_dict()
    assert all("secret" not in one for one in client.v1.webhook_endpoints.list().data)
    other = endpoint(client)
    assert other.secret != made.secret
    # nor is it in the change log, the request log, or any event
    for path in ("/_sandbox/changes", "/_sandbox/requests"):
        assert made.secret not in json.dumps(raw_request(sandbox, "GET", path, key=None)[2])
    assert made.secret not in repr(sandbox.backend.webhook_endpoints.objects[made.id])


def test_an_endpoint_needs_a_url_and_the_events_it_wants(client):
    refused(lambda: client.v1.webhook_endpoints.create(params={"url": LOCAL}),
            "enabled_events", param="enabled_events")
    refused(lambda: client.v1.webhook_endpoints.create(params={"enabled_events": ["*"]}),
            "url", param="url")
    refused(lambda: endpoint(client, enabled_events=["customer.*"]), "must be one of",
            param="enabled_events[0]")


@pytest.mark.parametrize("url", ["https://example.com/hooks", "http://localhost:8000/x",
                                 "http://127.0.0.1/x", "http://[::1]:9/x"])
def test_https_urls_and_http_ones_on_this_machine_are_taken(client, url):
    assert endpoint(client, url).url == url


@pytest.mark.parametrize("url", ["http://example.com/hooks", "ftp://127.0.0.1/x", "hooks",
                                 "https:///nohost"])
def test_other_urls_are_refused(client, url):
    refused(lambda: endpoint(client, url), "Invalid URL", "https", param="url")
    made = endpoint(client)
    refused(lambda: client.v1.webhook_endpoints.update(made.id, params={"url": url}),
            "Invalid URL", param="url")


def test_an_endpoint_is_updated_disabled_and_enabled(client):
    made = endpoint(client)
    changed = client.v1.webhook_endpoints.update(made.id, params={
        "url": "https://example.com/new", "enabled_events": ["charge.succeeded"],
        "description": "Charges", "metadata": {"a": "1"}})
    assert (changed.url, changed.enabled_events, changed.description) == (
        "https://example.com/new", ["charge.succeeded"], "Charges")
    assert "secret" not in changed
    assert client.v1.webhook_endpoints.update(made.id, params={
        "disabled": True}).status == "disabled"
    assert client.v1.webhook_endpoints.retrieve(made.id).status == "disabled"
    back = client.v1.webhook_endpoints.update(made.id, params={
        "disabled": False, "description": "", "metadata": {"a": ""}})
    assert (back.status, back.description, back.metadata.to_dict()) == ("enabled", None, {})


def test_endpoints_are_listed_newest_first_and_deleted(client):
    made = [endpoint(client, description=str(number)) for number in range(3)]
    listed = client.v1.webhook_endpoints.list(params={"limit": 2})
    assert [one.id for one in listed.data] == [made[2].id, made[1].id] and listed.has_more
    rest = client.v1.webhook_endpoints.list(params={"starting_after": made[1].id})
    assert [one.id for one in rest.data] == [made[0].id]
    gone = client.v1.webhook_endpoints.delete(made[1].id)
    assert gone.to_dict() == {"id": made[1].id, "object": "webhook_endpoint", "deleted": True}
    refused(lambda: client.v1.webhook_endpoints.retrieve(made[1].id),
            "No such webhook_endpoint", status=404, code="resource_missing")
    assert [one.id for one in client.v1.webhook_endpoints.list().data] == [
        made[2].id, made[0].id]


def test_an_account_has_at_most_sixteen_endpoints(client):
    made = [endpoint(client) for _ in range(MAX_ENDPOINTS)]
    assert MAX_ENDPOINTS == 16
    error = refused(lambda: endpoint(client), "maximum of 16 webhook endpoints")
    assert error.error.type == "invalid_request_error"
    client.v1.webhook_endpoints.delete(made[0].id)
    assert endpoint(client).status == "enabled"
