"""Stripe's rules for field values that several resource families share.

Metadata merging and its limits, addresses and shipping details, custom fields, currencies,
and the list filters Stripe applies the same way everywhere (``created``-style
time ranges, exact attributes, refused connected accounts).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from .errors import bad_parameter, invalid_request, no_such

T = TypeVar("T")

# Currencies Stripe accepts for charges; a price or invoice item in any other is refused.
_CURRENCY_CODES = """
usd aed afn all amd ang aoa ars aud awg azn bam bbd bdt bgn bhd bif bmd bnd bob brl bsd bwp byn
bzd cad cdf chf clp cny cop crc cve czk djf dkk dop dzd egp etb eur fjd fkp gbp gel gip gmd gnf
gtq gyd hkd hnl htg huf idr ils inr isk jmd jod jpy kes kgs khr kmf krw kwd kyd kzt lak lbp lkr
lrd lsl mad mdl mga mkd mmk mnt mop mur mvr mwk mxn myr mzn nad ngn nio nok npr nzd omr pab pen
pgk php pkr pln pyg qar ron rsd rub rwf sar sbd scr sek sgd shp sle sos srd std szl thb tjs tnd
top try ttd twd tzs uah ugx uyu uzs vnd vuv wst xaf xcd xof xpf yer zar zmw
"""
CURRENCIES = frozenset(_CURRENCY_CODES.split())

DEFAULT_CURRENCY = "usd"

ADDRESS_FIELDS = ("city", "country", "line1", "line2", "postal_code", "state")
METADATA_MAX_KEYS = 50
METADATA_MAX_KEY_LENGTH = 40
METADATA_MAX_VALUE_LENGTH = 500


def blank_to_none(value: Any) -> Any:
    return None if value == "" else value


def merged_address(given: Any, previous: dict[str, Any] | None = None) -> dict[str, Any] | None:
    if given == "" or given is None:
        return None
    previous = previous or {}
    return {field: blank_to_none(given.get(field, previous.get(field)))
            for field in ADDRESS_FIELDS}


def merged_shipping(given: Any, previous: dict[str, Any] | None = None) -> dict[str, Any] | None:
    if given == "" or given is None:
        return None
    previous = previous or {}
    return {
        "address": merged_address(given.get("address", {}), previous.get("address")),
        "carrier": blank_to_none(given.get("carrier", previous.get("carrier"))),
        "name": blank_to_none(given.get("name", previous.get("name"))),
        "phone": blank_to_none(given.get("phone", previous.get("phone"))),
        "tracking_number": blank_to_none(given.get("tracking_number",
                                                   previous.get("tracking_number"))),
    }


def given_custom_fields(given: Any) -> list[dict[str, str]] | None:
    if given == "" or given is None:
        return None
    return [{"name": field["name"], "value": field["value"]} for field in given]


def merge_metadata(current: dict[str, str], given: Any) -> dict[str, str]:
    """Stripe's metadata update: keys merge, an empty value deletes a key, ``""`` clears all."""
    if given == "":
        return {}
    merged = dict(current)
    for key, value in given.items():
        if value == "":
            merged.pop(key, None)
            continue
        if len(key) > METADATA_MAX_KEY_LENGTH:
            raise bad_parameter(
                f"Metadata keys can have at most {METADATA_MAX_KEY_LENGTH} characters; "
                f"'{key}' has {len(key)}.", param=f"metadata[{key}]")
        if len(value) > METADATA_MAX_VALUE_LENGTH:
            raise bad_parameter(
                f"Metadata values can have at most {METADATA_MAX_VALUE_LENGTH} characters.",
                param=f"metadata[{key}]")
        merged[key] = value
    if len(merged) > METADATA_MAX_KEYS:
        raise bad_parameter(f"Metadata can have at most {METADATA_MAX_KEYS} keys.",
                            param="metadata")
    return merged


def valid_currency(value: str, param: str = "currency") -> str:
    code = value.lower()
    if code not in CURRENCIES:
        raise invalid_request(
            f"Invalid currency: {value}. Stripe currently supports these currencies: "
            + ", ".join(sorted(CURRENCIES)), param=param)
    return code


def created_filter(value: Any) -> Callable[[int | None], bool]:
    """A test for Stripe's ``created``-style filter: an exact int or a ``gt/gte/lt/lte`` dict."""
    if isinstance(value, int):
        return lambda stamp: stamp == value
    bounds = value

    def matches(stamp: int | None) -> bool:
        if stamp is None:
            return False
        return (("gt" not in bounds or stamp > bounds["gt"])
                and ("gte" not in bounds or stamp >= bounds["gte"])
                and ("lt" not in bounds or stamp < bounds["lt"])
                and ("lte" not in bounds or stamp <= bounds["lte"]))
    return matches


def refuse_accounts(params: dict[str, Any]) -> None:
    """Connected accounts (``customer_account``) are not part of this sandbox: no such one."""
    if "customer_account" in params:
        raise no_such("account", params["customer_account"], param="customer_account")

