"""Tax rates: a percentage of tax, included in a line's amount or added to it.

The family's model, Stripe's tax rate parameters (``percentage`` and ``inclusive`` are fixed
once created; a tax rate is archived, never deleted), and its list filters.
"""

from __future__ import annotations

from typing import Any, ClassVar

import attrs

from ..backend import BackendCore, Equals, Resource, Store, Within, handles
from ..errors import invalid_request
from ..rules import blank_to_none, merge_metadata
from ..shapes import Shape, derived


@attrs.define(eq=False)
class TaxRate:
    """A tax rate; an archived one (``active`` false) cannot be applied to new lines."""

    id: str
    seq: int
    created: int
    display_name: str
    percentage: float
    inclusive: bool
    active: bool = True
    country: str | None = None
    description: str | None = None
    jurisdiction: str | None = None
    state: str | None = None
    tax_type: str | None = None
    metadata: dict[str, str] = attrs.field(factory=dict)
    deleted: bool = False

    OBJECT: ClassVar[str] = "tax_rate"


TAX_RATE = Shape(
    "tax_rate", "TaxRate",
    own=("active", "country", "created", "description", "display_name", "inclusive",
         "jurisdiction", "metadata", "percentage", "state", "tax_type"),
    fixed={"flat_amount": None, "jurisdiction_level": None, "livemode": False,
           "rate_type": "percentage"},
    derived=(derived("effective_percentage", lambda rate, backend: rate.percentage),),
)

_EDITABLE = ("country", "description", "jurisdiction", "state", "tax_type")


class TaxRates(BackendCore):
    """The tax rates family."""

    RESOURCES: ClassVar[tuple[Resource, ...]] = (
        Resource(TAX_RATE, "tax_rates",
                 filters=(Equals("active"), Equals("inclusive"), Within("created"))),
    )
    tax_rates: Store[TaxRate]

    @handles("tax_rate", "create")
    def create_tax_rate(self, params: dict[str, Any]) -> TaxRate:
        percentage = params["percentage"]
        if not 0 <= percentage <= 100:
            raise invalid_request("percentage must be between 0 and 100.", param="percentage")
        rate = TaxRate(id=self.new_id("txr_"), seq=self._next_seq(), created=self.now(),
                       display_name=params["display_name"], percentage=percentage,
                       inclusive=params["inclusive"])
        self._apply_tax_rate(rate, params)
        return self.change("create", rate)

    @handles("tax_rate", "update")
    def update_tax_rate(self, rate_id: str, params: dict[str, Any]) -> TaxRate:
        """Change what Stripe lets change (never the percentage nor inclusive)."""
        rate = self.change("update", self.tax_rates.get(rate_id))
        self._apply_tax_rate(rate, params)
        return rate

    @staticmethod
    def _apply_tax_rate(rate: TaxRate, params: dict[str, Any]) -> None:
        if "display_name" in params:
            rate.display_name = params["display_name"]
        if "active" in params:
            rate.active = params["active"]
        for field in _EDITABLE:
            if field in params:
                setattr(rate, field, blank_to_none(params[field]))
        if "metadata" in params:
            rate.metadata = merge_metadata(rate.metadata, params["metadata"])

    def usable_tax_rates(self, ids: Any, param: str) -> list[str]:
        """The ids of tax rates given for a line or an invoice (``""`` clears them), each
        an active tax rate of this sandbox."""
        if ids == "" or ids is None:
            return []
        found = []
        for index, rate_id in enumerate(ids):
            rate = self.tax_rates.get(rate_id, param=f"{param}[{index}]")
            if not rate.active:
                raise invalid_request(
                    f"Tax rate {rate.id} is archived (active is false) and can't be applied "
                    "to new invoices or lines.", param=f"{param}[{index}]")
            found.append(rate.id)
        if len(set(found)) != len(found):
            raise invalid_request("A tax rate can be applied only once.", param=param)
        return found

    def render_tax_rates(self, ids: list[str]) -> list[dict[str, Any]]:
        return [self.render(self.tax_rates.objects[rate_id]) for rate_id in ids]
