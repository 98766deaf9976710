"""Taxes: tax rates applied to invoices and their lines."""

from __future__ import annotations

from ..declare import ListFilter, StripeObject

ROWS: tuple[StripeObject, ...] = (
    StripeObject(
        noun="tax rate", plural="tax rates", service="tax_rates", id_prefix="txr_",
        list_filters=(ListFilter("active", "active"), ListFilter("inclusive", "inclusive"),
                      ListFilter("created", "created", "range")),
        delete_refusal="a tax rate cannot be deleted; archive it by updating active to false",
        delete_hint='update a tax rate in stripe with the id is "txr_..." and the active is '
                    "false",
        help="a percentage of tax, included in prices or added to them",
    ),
)
