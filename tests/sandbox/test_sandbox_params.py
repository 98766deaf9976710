"""Form decoding and schema validation, without HTTP."""

from __future__ import annotations

import pytest
from stripe_pay.sandbox.errors import ApiError
from stripe_pay.sandbox.params import decode_form, schema_for, validate


def refusal(name: str, pairs: list[tuple[str, str]]) -> ApiError:
    with pytest.raises(ApiError) as raised:
        validate(name, decode_form(pairs))
    assert raised.value.status == 400 and raised.value.stored is False
    return raised.value


def test_decode_nested_keys():
    assert decode_form([("metadata[plan]", "gold"), ("expand[]", "a"), ("expand[]", "b"),
                        ("items[0][price]", "p1"), ("items[1][price]", "p2"), ("name", "x"),
                        ("name", "y")]) == {
        "metadata": {"plan": "gold"}, "expand": ["a", "b"],
        "items": {"0": {"price": "p1"}, "1": {"price": "p2"}}, "name": "y"}


@pytest.mark.parametrize("pairs", [
    [("metadata", "x"), ("metadata[a]", "b")],
    [("a[b]", "x"), ("a", "y")],
    [("[x]", "1")],
    [("a[][b]", "1")],
])
def test_decode_refuses_contradictory_keys(pairs):
    with pytest.raises(ApiError) as raised:
        decode_form(pairs)
    assert raised.value.status == 400


def test_validate_converts_types():
    assert validate("CustomerCreateParams", decode_form([
        ("balance", "-12"), ("metadata[0]", "digit keys stay a map"),
        ("preferred_locales[0]", "fr"), ("preferred_locales[1]", "en"),
        ("invoice_settings[custom_fields][0][name]", "n"),
        ("invoice_settings[custom_fields][0][value]", "v"),
    ])) == {
        "balance": -12, "metadata": {"0": "digit keys stay a map"},
        "preferred_locales": ["fr", "en"],
        "invoice_settings": {"custom_fields": [{"name": "n", "value": "v"}]},
    }
    assert validate("ProductListParams", decode_form([("active", "false"),
                                                       ("created[gte]", "5")])) == {
        "active": False, "created": {"gte": 5}}
    assert validate("ProductCreateParams", decode_form([
        ("name", "x"), ("package_dimensions[height]", "1.5"),
        ("package_dimensions[length]", "2"), ("package_dimensions[weight]", "3"),
        ("package_dimensions[width]", "4")]))["package_dimensions"]["height"] == 1.5
    assert validate("PriceCreateParams", decode_form([
        ("currency", "usd"), ("unit_amount_decimal", "12.50"),
        ("tiers[0][up_to]", "inf")])) == {
        "currency": "usd", "unit_amount_decimal": "12.50", "tiers": [{"up_to": "inf"}]}


def test_client_options_are_not_parameters():
    # The SDK's *Params TypedDicts inherit its request options; Stripe never receives them.
    error = refusal("CustomerCreateParams", [("api_key", "sk_test_x")])
    assert (error.code, error.param) == ("parameter_unknown", "api_key")
    assert "api_key" not in schema_for("CustomerCreateParams").fields


def test_schema_is_derived_once():
    assert schema_for("InvoiceCreateParams") is schema_for("InvoiceCreateParams")
    spec = schema_for("InvoiceCreateParams")
    assert spec.fields["pending_invoice_items_behavior"].enum == ("exclude", "include")
    assert spec.fields["collection_method"].enum == ("charge_automatically", "send_invoice")


def test_enum_written_as_literal_or_str_is_strict():
    error = refusal("InvoiceCreateParams", [("customer", "cus_1"),
                                            ("collection_method", "by_carrier_pigeon")])
    assert error.message == ("Invalid collection_method: must be one of charge_automatically or "
                             "send_invoice")


@pytest.mark.parametrize("name, pairs, code, param, message", [
    ("CustomerCreateParams", [("balance", "1.5")], "parameter_invalid_integer", "balance",
     "Invalid integer: 1.5"),
    ("CustomerCreateParams", [("balance", "99999999999999999999")],
     "parameter_invalid_integer", "balance", "Invalid integer: 99999999999999999999"),
    ("PriceCreateParams", [("currency", "usd"), ("recurring[interval]", "fortnight")], None,
     "recurring[interval]", "Invalid recurring[interval]: must be one of day, month, week, or "
     "year"),
    ("ProductCreateParams", [("name", "x"), ("package_dimensions[height]", "tall"),
                             ("package_dimensions[length]", "1"),
                             ("package_dimensions[weight]", "1"),
                             ("package_dimensions[width]", "1")],
     None, "package_dimensions[height]", "Invalid decimal: tall"),
    ("CustomerCreateParams", [("address", "Paris")], None, "address", "Invalid hash: address"),
    ("CustomerCreateParams", [("email[x]", "y")], None, "email",
     "Invalid string: email must be a string, not a hash"),
    ("CustomerCreateParams", [("preferred_locales[a]", "fr")], None, "preferred_locales",
     "Invalid array: preferred_locales"),
    ("InvoiceItemCreateParams", [("period[start]", "1")], "parameter_missing", "period[end]",
     "Missing required param: period[end]."),
])
def test_refusals(name, pairs, code, param, message):
    error = refusal(name, pairs)
    assert (error.code, error.param, error.message) == (code, param, message)
