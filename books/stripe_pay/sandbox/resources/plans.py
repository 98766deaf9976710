"""Plans: the older form of a recurring price (an amount, a currency, an interval, a
product), created, read, changed (nickname, metadata, active, trial days) and deleted."""

from __future__ import annotations

import decimal
from typing import Any, ClassVar

import attrs

from ..backend import Equals, Resource, Store, Within, handles
from ..errors import invalid_request
from ..rules import blank_to_none, merge_metadata, valid_currency
from ..shapes import STUB_ONLY, Shape
from .catalog import Catalog


@attrs.define(eq=False)
class Plan:
    id: str
    seq: int
    created: int
    currency: str
    interval: str
    product: str
    amount: int | None = None
    amount_decimal: str | None = None
    interval_count: int = 1
    usage_type: str = "licensed"
    active: bool = True
    nickname: str | None = None
    trial_period_days: int | None = None
    transform_usage: dict[str, Any] | None = None
    metadata: dict[str, str] = attrs.field(factory=dict)
    deleted: bool = False

    OBJECT: ClassVar[str] = "plan"


PLAN = Shape(
    "plan", "Plan",
    own=("active", "amount", "amount_decimal", "created", "currency", "interval",
         "interval_count", "metadata", "nickname", "product", "transform_usage",
         "trial_period_days", "usage_type"),
    fixed={"billing_scheme": "per_unit", "livemode": False, "meter": None,
           "tiers_mode": None},
    absent={"deleted": STUB_ONLY},
    included={"tiers": lambda plan, backend: None},
)


class Plans(Catalog):
    """The plans family."""

    RESOURCES: ClassVar[tuple[Resource, ...]] = (
        Resource(PLAN, "plans",
                 filters=(Equals("active"), Equals("product"), Within("created"))),
    )
    plans: Store[Plan]

    @handles("plan", "create")
    def create_plan(self, params: dict[str, Any]) -> Plan:
        for unsupported in ("tiers", "tiers_mode", "meter"):
            if unsupported in params:
                raise invalid_request(
                    f"{unsupported} is not supported by this sandbox's plans: give an amount "
                    "per unit.", param=unsupported)
        if params.get("billing_scheme", "per_unit") != "per_unit":
            raise invalid_request("Tiered plans are not supported by this sandbox.",
                                  param="billing_scheme")
        if "amount" in params and "amount_decimal" in params:
            raise invalid_request(
                "You may only specify one of these parameters: amount, amount_decimal.",
                param="amount")
        if "amount" not in params and "amount_decimal" not in params:
            raise invalid_request("Missing required param: amount.", param="amount",
                                  code="parameter_missing")
        plan_id = params.get("id") or self.new_id("plan_")
        if plan_id in self.plans.objects:
            raise invalid_request("Plan already exists.", param="id",
                                  code="resource_already_exists")
        given = params.get("product")
        if given is None:
            raise invalid_request("Missing required param: product.", param="product",
                                  code="parameter_missing")
        if isinstance(given, str):
            product = self.products.get(given, param="product")
        else:
            product = self.create_product(dict(given))
        exact = decimal.Decimal(str(params.get("amount_decimal", params.get("amount"))))
        amount_decimal = format(exact.normalize(), "f")
        plan = Plan(id=plan_id, seq=self._next_seq(), created=self.now(),
                    currency=valid_currency(params["currency"]), interval=params["interval"],
                    product=product.id, amount_decimal=amount_decimal,
                    # (a fraction of the smallest unit has no whole amount)
                    amount=int(exact) if exact == exact.to_integral_value() else None,
                    interval_count=params.get("interval_count", 1),
                    usage_type=params.get("usage_type", "licensed"),
                    active=params.get("active", True))
        if plan.interval_count < 1:
            raise invalid_request("interval_count must be at least 1.", param="interval_count")
        if "transform_usage" in params:
            plan.transform_usage = dict(params["transform_usage"])
        self._apply_plan(plan, params)
        return self.change("create", plan)

    @handles("plan", "update")
    def update_plan(self, plan_id: str, params: dict[str, Any]) -> Plan:
        """A plan's price never changes: only its nickname, metadata, activity, trial days
        and product."""
        plan = self.change("update", self.plans.get(plan_id))
        if "active" in params:
            plan.active = params["active"]
        if "product" in params:
            plan.product = self.products.get(params["product"], param="product").id
        self._apply_plan(plan, params)
        return plan

    @staticmethod
    def _apply_plan(plan: Plan, params: dict[str, Any]) -> None:
        if "nickname" in params:
            plan.nickname = blank_to_none(params["nickname"])
        if "trial_period_days" in params:
            plan.trial_period_days = params["trial_period_days"]
        if "metadata" in params:
            plan.metadata = merge_metadata(plan.metadata, params["metadata"])

    @handles("plan", "delete")
    def delete_plan(self, plan_id: str, params: dict[str, Any] | None = None) -> Plan:
        plan = self.change("delete", self.plans.get(plan_id))
        plan.deleted = True
        return plan
