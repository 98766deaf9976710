"""The catalog: products (what you sell) and prices (how much and how often).

The family's models, how Stripe's product and price parameters change them (a product with
prices cannot be deleted; a price can only be archived), and their list filters.
"""

from __future__ import annotations

import decimal
import math
from typing import Any, ClassVar

import attrs

from .. import search
from ..backend import BackendCore, Equals, Matches, OneOf, Resource, Store, Within, handles
from ..errors import invalid_request
from ..rules import (
    blank_to_none,
    merge_metadata,
    valid_currency,
)
from ..shapes import NOT_IN_EXAMPLE, STUB_ONLY, Shape


@attrs.define(eq=False)
class Product:
    """A product; it cannot be deleted once it has prices."""

    id: str
    seq: int
    created: int
    name: str
    updated: int
    active: bool = True
    default_price: str | None = None
    description: str | None = None
    images: list[str] = attrs.field(factory=list)
    marketing_features: list[dict[str, str]] = attrs.field(factory=list)
    metadata: dict[str, str] = attrs.field(factory=dict)
    package_dimensions: dict[str, float] | None = None
    shippable: bool | None = None
    statement_descriptor: str | None = None
    tax_code: str | None = None
    type: str = "service"
    unit_label: str | None = None
    url: str | None = None
    deleted: bool = False

    OBJECT: ClassVar[str] = "product"


@attrs.define(eq=False)
class Price:
    """A price; its amounts are immutable and it can only be archived, never deleted."""

    id: str
    seq: int
    created: int
    currency: str
    product: str
    type: str
    active: bool = True
    billing_scheme: str = "per_unit"
    custom_unit_amount: dict[str, Any] | None = None
    lookup_key: str | None = None
    metadata: dict[str, str] = attrs.field(factory=dict)
    nickname: str | None = None
    recurring: dict[str, Any] | None = None
    tax_behavior: str = "unspecified"
    tiers: list[dict[str, Any]] | None = None
    tiers_mode: str | None = None
    transform_quantity: dict[str, Any] | None = None
    unit_amount: int | None = None
    unit_amount_decimal: str | None = None
    deleted: bool = False

    OBJECT: ClassVar[str] = "price"

    def amount_for(self, quantity: int) -> int:
        """The amount in minor units for ``quantity`` of this price, as Stripe bills it."""
        if self.billing_scheme == "tiered":
            return self._tiered_amount(quantity)
        units = decimal.Decimal(quantity)
        if self.transform_quantity:
            divided = units / self.transform_quantity["divide_by"]
            rounding = math.ceil if self.transform_quantity["round"] == "up" else math.floor
            units = decimal.Decimal(rounding(divided))
        unit = decimal.Decimal(self.unit_amount_decimal or 0)
        return int((unit * units).to_integral_value(decimal.ROUND_HALF_UP))

    def _tiered_amount(self, quantity: int) -> int:
        tiers = self.tiers or []
        total = decimal.Decimal(0)
        floor = 0
        for tier in tiers:
            up_to = tier["up_to"]
            unit = decimal.Decimal(tier.get("unit_amount_decimal") or tier.get("unit_amount") or 0)
            flat = decimal.Decimal(tier.get("flat_amount_decimal") or tier.get("flat_amount") or 0)
            if self.tiers_mode == "volume":
                if up_to == "inf" or quantity <= up_to:
                    total = unit * quantity + flat
                    break
                continue
            if quantity <= floor:
                break
            ceiling = quantity if up_to == "inf" else min(quantity, up_to)
            total += unit * (ceiling - floor) + flat
            floor = ceiling if up_to != "inf" else quantity
        return int(total.to_integral_value(decimal.ROUND_HALF_UP))


PRODUCT = Shape(
    "product", "Product",
    own=("active", "created", "default_price", "description", "images", "marketing_features",
         "metadata", "name", "package_dimensions", "shippable", "statement_descriptor",
         "tax_code", "type", "unit_label", "updated", "url"),
    fixed={"livemode": False},
    absent={"tax_details": NOT_IN_EXAMPLE, "deleted": STUB_ONLY},
)

PRICE = Shape(
    "price", "Price",
    own=("active", "billing_scheme", "created", "currency", "custom_unit_amount", "lookup_key",
         "metadata", "nickname", "product", "recurring", "tax_behavior", "tiers_mode",
         "transform_quantity", "type", "unit_amount", "unit_amount_decimal"),
    fixed={"livemode": False},
    absent={"deleted": "never: a price is archived, not deleted"},
    included={"tiers": lambda price, backend: price.tiers,
              "currency_options": lambda price, backend: _currency_options(price)},
)


def _currency_options(price: Price) -> dict[str, Any]:
    """The price in each of its currencies: its own (other currencies are not kept)."""
    return {price.currency: {"custom_unit_amount": price.custom_unit_amount,
                             "tax_behavior": price.tax_behavior, "tiers": price.tiers,
                             "unit_amount": price.unit_amount,
                             "unit_amount_decimal": price.unit_amount_decimal}}


def _recurring_matches(price: Price, wanted: dict[str, Any]) -> bool:
    return price.recurring is not None and all(
        price.recurring.get(key) == value for key, value in wanted.items())


class Catalog(BackendCore):
    """The products and prices family."""

    RESOURCES: ClassVar[tuple[Resource, ...]] = (
        Resource(
            PRODUCT, "products",
            filters=(Equals("active"), OneOf("ids", "id"), Equals("shippable"), Equals("url"),
                     Equals("type"), Within("created")),
            search={"active": search.boolean("active"),
                    "description": search.text("description", substring=True),
                    "metadata": search.METADATA, "name": search.text("name", substring=True),
                    "shippable": search.boolean("shippable"),
                    "url": search.text("url", substring=True)},
        ),
        Resource(
            PRICE, "prices",
            filters=(Equals("active"), Equals("type"), Equals("product"),
                     Equals("currency", normalize=str.lower),
                     OneOf("lookup_keys", "lookup_key"),
                     Matches("recurring", test=_recurring_matches), Within("created")),
            search={"active": search.boolean("active"), "currency": search.text("currency"),
                    "lookup_key": search.text("lookup_key", substring=True),
                    "metadata": search.METADATA,
                    "product": search.text("product", substring=True),
                    "type": search.text("type")},
        ),
    )
    products: Store[Product]
    prices: Store[Price]

    @handles("product", "create")
    def create_product(self, params: dict[str, Any]) -> Product:
        product_id = params.get("id") or self.new_id("prod_", 14)
        if product_id in self.products.objects:
            raise invalid_request("Product already exists.", param="id",
                                  code="resource_already_exists")
        now = self.now()
        product = Product(id=product_id, seq=self._next_seq(), created=now, updated=now,
                          name=params["name"])
        self._apply_product(product, params)
        self.change("create", product)
        if "default_price_data" in params:
            price_params = dict(params["default_price_data"], product=product.id)
            price = self.create_price(price_params)
            product.default_price = price.id
        return product

    @handles("product", "update")
    def update_product(self, product_id: str, params: dict[str, Any]) -> Product:
        product = self.change("update", self.products.get(product_id))
        if "default_price" in params:
            price = self.prices.get(params["default_price"], param="default_price")
            if price.product != product.id:
                raise invalid_request(
                    f"The price {price.id} belongs to product {price.product}, not "
                    f"{product.id}; a default price must be one of the product's prices.",
                    param="default_price")
            if not price.active:
                raise invalid_request("An archived price can't be the default price.",
                                      param="default_price")
            product.default_price = price.id
        self._apply_product(product, params)
        product.updated = self.now()
        return product

    def _apply_product(self, product: Product, params: dict[str, Any]) -> None:
        if "name" in params:
            product.name = params["name"]
        for field in ("active", "shippable"):
            if field in params:
                setattr(product, field, params[field])
        for field in ("description", "statement_descriptor", "tax_code", "unit_label", "url"):
            if field in params:
                setattr(product, field, blank_to_none(params[field]))
        if "type" in params:
            product.type = params["type"]
        if "images" in params:
            product.images = [] if params["images"] == "" else list(params["images"])
        if "marketing_features" in params:
            features = params["marketing_features"]
            product.marketing_features = ([] if features == "" else
                                          [{"name": feature["name"]} for feature in features])
        if "package_dimensions" in params:
            dimensions = params["package_dimensions"]
            product.package_dimensions = None if dimensions == "" else {
                key: dimensions[key] for key in ("height", "length", "weight", "width")}
        if "metadata" in params:
            product.metadata = merge_metadata(product.metadata, params["metadata"])

    @handles("product", "delete")
    def delete_product(self, product_id: str, params: dict[str, Any] | None = None
                       ) -> Product:
        """Delete a product that has no prices (archived ones count)."""
        product = self.change("delete", self.products.get(product_id))
        if self.lookup("price", "product", product.id):
            raise invalid_request(
                "This product cannot be deleted because it has one or more user-created prices.")
        product.deleted = True
        return product

    # Prices

    @handles("price", "create")
    def create_price(self, params: dict[str, Any]) -> Price:
        """A per-unit or tiered price for ``product`` (or a product made from ``product_data``)."""
        currency = valid_currency(params["currency"])
        if "product" in params and "product_data" in params:
            raise invalid_request(
                "You may only specify one of these parameters: product, product_data.",
                param="product")
        if "product" in params:
            product = self.products.get(params["product"], param="product")
        elif "product_data" in params:
            product = self.create_product(params["product_data"])
        else:
            raise invalid_request(
                "You must specify either `product` or `product_data` when creating a price.",
                param="product", code="parameter_missing")
        billing_scheme = params.get("billing_scheme", "per_unit")
        price = Price(id=self.new_id("price_"), seq=self._next_seq(), created=self.now(),
                      currency=currency, product=product.id,
                      type="recurring" if "recurring" in params else "one_time",
                      billing_scheme=billing_scheme)
        if billing_scheme == "tiered":
            self._set_tiers(price, params)
        else:
            self._set_unit_amount(price, params)
        if "recurring" in params:
            recurring = params["recurring"]
            price.recurring = {
                "interval": recurring["interval"],
                "interval_count": recurring.get("interval_count", 1),
                "meter": recurring.get("meter"),
                "trial_period_days": recurring.get("trial_period_days"),
                "usage_type": recurring.get("usage_type", "licensed"),
            }
        if "transform_quantity" in params:
            if billing_scheme == "tiered":
                raise invalid_request(
                    "transform_quantity can't be used with billing_scheme=tiered.",
                    param="transform_quantity")
            price.transform_quantity = dict(params["transform_quantity"])
        for field in ("active", "nickname", "tax_behavior"):
            if field in params:
                setattr(price, field, params[field])
        if "metadata" in params:
            price.metadata = merge_metadata({}, params["metadata"])
        if "lookup_key" in params:
            self._set_lookup_key(price, params["lookup_key"],
                                 params.get("transfer_lookup_key", False))
        return self.change("create", price)

    @staticmethod
    def _set_unit_amount(price: Price, params: dict[str, Any]) -> None:
        if "unit_amount" in params and "unit_amount_decimal" in params:
            raise invalid_request(
                "You may only specify one of these parameters: unit_amount, unit_amount_decimal.",
                param="unit_amount")
        if "custom_unit_amount" in params:
            custom = params["custom_unit_amount"]
            price.custom_unit_amount = {key: custom.get(key)
                                        for key in ("maximum", "minimum", "preset")}
            return
        if "unit_amount" in params:
            if params["unit_amount"] < 0:
                raise invalid_request("This value must be greater than or equal to 0.",
                                      param="unit_amount")
            price.unit_amount = params["unit_amount"]
            price.unit_amount_decimal = str(params["unit_amount"])
        elif "unit_amount_decimal" in params:
            exact = decimal.Decimal(params["unit_amount_decimal"])
            price.unit_amount_decimal = params["unit_amount_decimal"]
            price.unit_amount = int(exact) if exact == exact.to_integral_value() else None
        else:
            raise invalid_request(
                "Missing required param: unit_amount. A per-unit price needs unit_amount, "
                "unit_amount_decimal or custom_unit_amount.",
                param="unit_amount", code="parameter_missing")

    @staticmethod
    def _set_tiers(price: Price, params: dict[str, Any]) -> None:
        if "tiers" not in params or not params["tiers"]:
            raise invalid_request("Missing required param: tiers.", param="tiers",
                                  code="parameter_missing")
        if "tiers_mode" not in params:
            raise invalid_request("Missing required param: tiers_mode.", param="tiers_mode",
                                  code="parameter_missing")
        if params["tiers"][-1]["up_to"] != "inf":
            raise invalid_request("The last tier must have up_to set to inf.", param="tiers")
        price.tiers = [dict(tier) for tier in params["tiers"]]
        price.tiers_mode = params["tiers_mode"]

    def _set_lookup_key(self, price: Price, lookup_key: str, transfer: bool) -> None:
        if lookup_key == "":
            price.lookup_key = None
            return
        for other in self.lookup("price", "lookup_key", lookup_key):
            if other is not price:
                if not transfer:
                    raise invalid_request(
                        f"A price (`{other.id}`) already uses that lookup key.",
                        param="lookup_key")
                self.change("update", other).lookup_key = None
        price.lookup_key = lookup_key

    @handles("price", "update")
    def update_price(self, price_id: str, params: dict[str, Any]) -> Price:
        """Change what Stripe lets change: activity, nickname, metadata, lookup key, tax."""
        price = self.change("update", self.prices.get(price_id))
        if params.get("active") is False:
            product = self.products.objects.get(price.product)
            if product is not None and product.default_price == price.id:
                raise invalid_request(
                    "This price cannot be archived because it is the default price of its "
                    "product.", param="active")
        for field in ("active", "tax_behavior"):
            if field in params:
                setattr(price, field, params[field])
        if "nickname" in params:
            price.nickname = blank_to_none(params["nickname"])
        if "metadata" in params:
            price.metadata = merge_metadata(price.metadata, params["metadata"])
        if "lookup_key" in params:
            self._set_lookup_key(price, params["lookup_key"],
                                 params.get("transfer_lookup_key", False))
        return price
