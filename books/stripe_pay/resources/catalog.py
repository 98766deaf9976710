"""The catalog: products and their prices."""

from __future__ import annotations

from ..declare import ListFilter, Relation, StripeObject

ROWS: tuple[StripeObject, ...] = (
    StripeObject(
        noun="product", plural="products", service="products", id_prefix="prod_",
        list_filters=(ListFilter("active", "active"), ListFilter("id", "ids", "many"),
                      ListFilter("shippable", "shippable"), ListFilter("url", "url"),
                      ListFilter("created", "created", "range")),
        search_fields=frozenset({"active", "description", "name", "shippable", "url",
                                 "metadata"}),
        help="what you sell",
    ),
    StripeObject(
        noun="price", plural="prices", service="prices", id_prefix="price_",
        list_filters=(ListFilter("active", "active"), ListFilter("currency", "currency"),
                      ListFilter("product", "product"), ListFilter("type", "type"),
                      ListFilter("lookup_key", "lookup_keys", "many"),
                      ListFilter("created", "created", "range")),
        search_fields=frozenset({"active", "currency", "lookup_key", "product", "type",
                                 "metadata"}),
        relations=(Relation("product", "product"),),
        amount="unit_amount",
        delete_refusal="a price cannot be deleted; archive it by updating active to false",
        delete_hint='update a price in stripe with the id is "price_..." and the active is'
                    " false",
        help="how much and how often a product costs",
    ),
)
