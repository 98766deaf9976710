"""Turning automation values into Stripe parameters, and parameters into what a plan shows.

Inputs arrive as plain Python values: text, integers (amounts already in the currency's
smallest unit, as Stripe takes them), booleans, dates, nested dicts (``metadata``), lists,
records (a record stands for its id), and dotted keys (``metadata.plan``) for nested fields.
"""

from __future__ import annotations

import datetime
import decimal
from collections.abc import Mapping
from typing import Any


def timestamp(value: datetime.date | datetime.datetime) -> int:
    """Unix seconds; naive dates and times are taken as UTC so a run means the same
    wherever it happens."""
    if not isinstance(value, datetime.datetime):
        value = datetime.datetime(value.year, value.month, value.day)
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.UTC)
    return int(value.timestamp())


def to_stripe(value: Any) -> Any:
    """One value as Stripe takes it."""
    if isinstance(value, (datetime.date, datetime.datetime)):
        return timestamp(value)
    if isinstance(value, decimal.Decimal):
        # Stripe's *_decimal fields take decimal strings; a whole number stays an integer.
        return int(value) if value == value.to_integral_value() else str(value)
    if isinstance(value, Mapping):
        return {str(k): to_stripe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_stripe(v) for v in value]
    record_id = getattr(value, "id", None)
    if record_id is not None and hasattr(value, "noun"):
        # A record (``the customer``) stands for its id.
        return record_id
    return value


def nest(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Inputs as Stripe parameters: ``{"metadata.plan": "gold"}`` becomes
    ``{"metadata": {"plan": "gold"}}``; values converted by :func:`to_stripe`."""
    params: dict[str, Any] = {}
    for key, value in fields.items():
        parts = key.split(".")
        target = params
        for part in parts[:-1]:
            existing = target.get(part)
            if not isinstance(existing, dict):
                existing = {}
                target[part] = existing
            target = existing
        converted = to_stripe(value)
        leaf = parts[-1]
        if isinstance(converted, dict) and isinstance(target.get(leaf), dict):
            target[leaf].update(converted)
        else:
            target[leaf] = converted
    return params


def form(params: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Parameters flattened the way they travel in a form body (``metadata[plan]``,
    ``expand[0]``), for showing a plan."""
    flat: dict[str, Any] = {}
    for key, value in params.items():
        name = f"{prefix}[{key}]" if prefix else str(key)
        if value is None:
            continue
        if isinstance(value, Mapping):
            flat.update(form(value, name))
        elif isinstance(value, (list, tuple)):
            flat.update(form({str(i): item for i, item in enumerate(value)}, name))
        elif isinstance(value, bool):
            flat[name] = str(value).lower()
        else:
            flat[name] = value
    return flat
