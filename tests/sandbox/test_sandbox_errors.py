"""Error answers: Stripe's statuses, types, codes, params and messages, seen through the SDK and
as raw JSON."""

from __future__ import annotations

import base64
import json
import urllib.request

import pytest
import stripe
from sandbox_http import TEST_KEY, make_client, raw_request


def error_of(call) -> stripe.StripeError:
    with pytest.raises(stripe.StripeError) as raised:
        call()
    return raised.value


def test_unknown_parameter(client):
    error = error_of(lambda: client.v1.customers.create(params={"nickname": "x"}))
    assert isinstance(error, stripe.InvalidRequestError)
    assert (error.http_status, error.code, error.param) == (400, "parameter_unknown", "nickname")
    assert error.user_message == "Received unknown parameter: nickname"
    assert error.error.type == "invalid_request_error"
    assert error.error.doc_url == "https://stripe.com/docs/error-codes/parameter-unknown"


def test_unknown_nested_parameter(client):
    error = error_of(lambda: client.v1.customers.create(params={"address": {"planet": "Mars"}}))
    assert (error.code, error.param) == ("parameter_unknown", "address[planet]")
    assert error.user_message == "Received unknown parameter: address[planet]"


def test_missing_required_parameter(client):
    error = error_of(lambda: client.v1.prices.create(params={"unit_amount": 100}))
    assert (error.http_status, error.code, error.param) == (400, "parameter_missing", "currency")
    assert error.user_message == "Missing required param: currency."
    error = error_of(lambda: client.v1.products.create(params={}))
    assert (error.code, error.param) == ("parameter_missing", "name")


def test_missing_nested_required_parameter(client, sandbox):
    product = client.v1.products.create(params={"name": "P"})
    error = error_of(lambda: client.v1.prices.create(params={
        "product": product.id, "currency": "usd", "unit_amount": 1,
        "recurring": {"interval_count": 2}}))
    assert (error.code, error.param) == ("parameter_missing", "recurring[interval]")


def test_invalid_integer(client, sandbox):
    status, _, body = raw_request(sandbox, "POST", "/v1/customers", body="balance=abc")
    assert status == 400
    assert body["error"]["code"] == "parameter_invalid_integer"
    assert body["error"]["param"] == "balance"
    assert body["error"]["message"] == "Invalid integer: abc"
    assert body["error"]["type"] == "invalid_request_error"


def test_invalid_enum_value(client):
    error = error_of(lambda: client.v1.customers.create(params={"tax_exempt": "sometimes"}))
    assert (error.http_status, error.param) == (400, "tax_exempt")
    assert error.user_message == "Invalid tax_exempt: must be one of exempt, none, or reverse"
    error = error_of(lambda: client.v1.invoices.list(params={"status": "late"}))
    assert error.param == "status" and "draft, open, paid, uncollectible, or void" in (
        error.user_message)


def test_invalid_boolean_and_empty_values(sandbox):
    status, _, body = raw_request(sandbox, "GET", "/v1/products?active=maybe")
    assert (status, body["error"]["message"], body["error"]["param"]) == (
        400, "Invalid boolean: maybe", "active")
    status, _, body = raw_request(sandbox, "POST", "/v1/customers", body="balance=")
    assert (status, body["error"]["code"]) == (400, "parameter_invalid_empty")


def test_nested_form_encoding_is_decoded(sandbox):
    status, _, body = raw_request(
        sandbox, "POST", "/v1/customers",
        body="metadata[plan]=gold&preferred_locales[]=fr&preferred_locales[]=en"
             "&invoice_settings[custom_fields][0][name]=PO&invoice_settings[custom_fields][0]"
             "[value]=1&expand[]=invoice_settings.default_payment_method")
    assert status == 200
    assert body["metadata"] == {"plan": "gold"}
    assert body["preferred_locales"] == ["fr", "en"]
    assert body["invoice_settings"]["custom_fields"] == [{"name": "PO", "value": "1"}]


def test_resource_missing_in_path_and_in_parameter(client):
    error = error_of(lambda: client.v1.customers.retrieve("cus_nothere"))
    assert (error.http_status, error.code, error.param) == (404, "resource_missing", "id")
    assert error.user_message == "No such customer: 'cus_nothere'"
    error = error_of(lambda: client.v1.invoices.create(params={"customer": "cus_nothere"}))
    assert (error.http_status, error.code, error.param) == (400, "resource_missing", "customer")
    error = error_of(lambda: client.v1.invoice_items.create(params={
        "customer": "cus_nothere", "amount": 1, "currency": "usd"}))
    assert error.param == "customer"


def test_unrecognized_url(sandbox):
    status, _, body = raw_request(sandbox, "GET", "/v1/foo")
    assert status == 404
    assert body["error"]["type"] == "invalid_request_error"
    assert body["error"]["message"].startswith("Unrecognized request URL (GET: /v1/foo).")
    status, _, body = raw_request(sandbox, "PUT", "/v1/customers")
    assert status == 404 and "(PUT: /v1/customers)" in body["error"]["message"]


def test_errors_link_to_the_request_log(sandbox):
    status, headers, body = raw_request(sandbox, "GET", "/v1/customers/cus_nothere")
    request_id = headers["Request-Id"]
    assert body["error"]["request_log_url"] == f"{sandbox.url}/_sandbox/requests/{request_id}"
    with urllib.request.urlopen(body["error"]["request_log_url"]) as response:
        logged = json.loads(response.read())
    assert logged["request_id"] == request_id and logged["status"] == 404


def test_every_response_has_a_request_id(client, sandbox):
    customer = client.v1.customers.create()
    assert customer.last_response.request_id.startswith("req_")
    error = error_of(lambda: client.v1.customers.retrieve("cus_nothere"))
    assert error.request_id.startswith("req_")
    assert error.request_id != customer.last_response.request_id


def test_missing_api_key(sandbox):
    status, headers, body = raw_request(sandbox, "GET", "/v1/customers", key=None)
    assert status == 401
    assert body["error"]["type"] == "invalid_request_error"
    assert body["error"]["message"].startswith("You did not provide an API key.")
    assert "Request-Id" in headers


def test_malformed_key_is_refused_and_masked(sandbox):
    key = "sk_test_" + "a" * 20 + "WXYZ"
    client = make_client(sandbox, key="sk_tset_" + "a" * 20 + "WXYZ")
    error = error_of(lambda: client.v1.customers.list())
    assert isinstance(error, stripe.AuthenticationError)
    assert error.http_status == 401
    assert error.user_message == "Invalid API Key provided: ****WXYZ"
    status, _, body = raw_request(sandbox, "GET", "/v1/customers", key="sk_test_")
    assert status == 401 and body["error"]["message"] == "Invalid API Key provided: sk_test_****"
    status, _, body = raw_request(sandbox, "GET", "/v1/customers", key=key + "!")
    assert status == 401
    assert body["error"]["message"] == "Invalid API Key provided: sk_test_****XYZ!"
    assert key not in json.dumps(body)


def test_live_keys_are_refused(sandbox):
    live = "sk_live_" + "b" * 24 + "9876"
    error = error_of(lambda: make_client(sandbox, key=live).v1.customers.list())
    assert isinstance(error, stripe.AuthenticationError) and error.http_status == 401
    assert "only accepts test mode keys" in error.user_message
    assert "sk_live_****9876" in error.user_message
    assert live not in error.user_message
    assert sandbox.requests()[-1]["status"] == 401


def test_restricted_and_basic_auth_keys_are_accepted(sandbox):
    restricted = make_client(sandbox, key="rk_test_restricted42")
    assert restricted.v1.customers.create(params={"name": "R"}).name == "R"
    token = base64.b64encode(f"{TEST_KEY}:".encode()).decode()
    status, _, body = raw_request(sandbox, "GET", "/v1/customers", key=None,
                                  headers={"Authorization": f"Basic {token}"})
    assert status == 200 and body["object"] == "list"
    bad = base64.b64encode(b"sk_live_123456789012345678:").decode()
    status, _, _ = raw_request(sandbox, "GET", "/v1/customers", key=None,
                               headers={"Authorization": f"Basic {bad}"})
    assert status == 401
