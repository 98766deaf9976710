"""Thin request handlers: decoded, validated parameters in; Stripe-shaped JSON out.

:func:`request_params` decodes a werkzeug request's query string and form body. Each method of
:class:`StripeResponses` serves one entry of ``urls.URLS``: it calls the backend and shapes the
answer as Stripe does (single objects with ``expand[]``, ``list`` pages with cursors,
``search_result`` pages with ``page`` tokens). Errors propagate as :class:`~.errors.ApiError`.
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from werkzeug.wrappers import Request

from . import search
from .backend import Model, Store
from .errors import bad_parameter, no_such
from .params import decode_form
from .resources import Backend
from .resources.invoices import Invoice, InvoiceItem

DEFAULT_LIMIT = 10
MAX_LIMIT = 100


def request_params(request: Request) -> dict[str, Any]:
    """Query-string and form parameters of a request, nested (body wins over query string)."""
    pairs = list(request.args.items(multi=True))
    if request.method == "POST":
        pairs.extend(request.form.items(multi=True))
    return decode_form(pairs)


def render_json(body: Any) -> bytes:
    """A response body as UTF-8 JSON.

    Compact, unlike Stripe's indented bodies: indentation forces json's pure-Python encoder,
    which costs more than the rest of a typical request.
    """
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def _limit(params: dict[str, Any]) -> int:
    limit = params.get("limit", DEFAULT_LIMIT)
    if limit < 1:
        raise bad_parameter("This value must be greater than or equal to 1.", param="limit",
                            code="parameter_invalid_integer")
    if limit > MAX_LIMIT:
        raise bad_parameter(f"This value must be less than or equal to {MAX_LIMIT}.",
                            param="limit", code="parameter_invalid_integer")
    return limit


def _item_expansions(params: dict[str, Any], *, allowed: Sequence[str] = ()) -> list[str]:
    """``expand[]`` of a list or search request: ``data.x`` paths apply to every item."""
    paths = []
    for path in params.get("expand", ()):
        if path in allowed:
            continue
        if not path.startswith("data."):
            raise bad_parameter(f"This property cannot be expanded ({path}).", param="expand")
        paths.append(path.removeprefix("data."))
    return paths


class StripeResponses:
    """The handlers of every route, over one :class:`Backend`."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    def _one(self, obj: Model, params: dict[str, Any]) -> dict[str, Any]:
        return self.backend.render(obj, params.get("expand", ()))

    def _page(
        self,
        ordered: Iterable[Any],
        params: dict[str, Any],
        url: str,
        *,
        position: Callable[[str], int | None],
        kind: str,
        render: Callable[[Any], dict[str, Any]],
        newest_first: bool = True,
    ) -> dict[str, Any]:
        """A Stripe ``list`` page of ``ordered`` honouring ``limit`` and the two cursors.

        ``position`` gives a cursor id's creation sequence (None if unknown): cursors compare by
        sequence, so a page boundary stays put when objects are created or deleted meanwhile.
        """
        limit = _limit(params)
        after, before = params.get("starting_after"), params.get("ending_before")
        if after is not None and before is not None:
            raise bad_parameter(
                "You may only specify one of these parameters: ending_before, starting_after.",
                param="ending_before")
        objects = list(ordered)
        cursor = after if after is not None else before
        if cursor is None:
            page, has_more = objects[:limit], len(objects) > limit
        else:
            seq = position(cursor)
            if seq is None:
                raise no_such(kind, cursor,
                              param="starting_after" if after is not None else "ending_before")
            later_in_order = (lambda o: o.seq < seq) if newest_first else (lambda o: o.seq > seq)
            if after is not None:
                rest = [o for o in objects if later_in_order(o)]
                page, has_more = rest[:limit], len(rest) > limit
            else:
                earlier = [o for o in objects if not later_in_order(o) and o.seq != seq]
                page, has_more = earlier[-limit:], len(earlier) > limit
        return {"object": "list", "data": [render(o) for o in page], "has_more": has_more,
                "url": url}

    def _list(self, objects: Iterable[Model], store: Store[Any], params: dict[str, Any],
              url: str) -> dict[str, Any]:
        expand = _item_expansions(params)

        def position(object_id: str) -> int | None:
            found = store.objects.get(object_id)
            return None if found is None else found.seq

        return self._page(objects, params, url, position=position, kind=store.kind,
                          render=lambda obj: self.backend.render(obj, expand, within="data."))

    def _search(self, resource: str, store: Store[Any], params: dict[str, Any], url: str
                ) -> dict[str, Any]:
        query_text = params["query"]
        query = search.parse(query_text, resource)
        limit = _limit(params)
        expand = _item_expansions(params, allowed=("total_count",))
        stamp = f"{zlib.crc32(query_text.encode()):08x}"
        below = _decode_page(params["page"], stamp) if "page" in params else None
        matches = [obj for obj in store.newest_first()
                   if query.matches(obj.render(self.backend))]
        remaining = [obj for obj in matches if below is None or obj.seq < below]
        page = remaining[:limit]
        has_more = len(remaining) > limit
        body: dict[str, Any] = {
            "object": "search_result",
            "data": [self.backend.render(obj, expand, within="data.") for obj in page],
            "has_more": has_more,
            "next_page": _encode_page(page[-1].seq, stamp) if has_more else None,
            "url": url,
        }
        if "total_count" in params.get("expand", ()):
            body["total_count"] = len(matches)
        return body

    # Customers

    def create_customer(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._one(self.backend.create_customer(params), params)

    def list_customers(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._list(self.backend.list_customers(params), self.backend.customers, params,
                          "/v1/customers")

    def search_customers(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._search("customer", self.backend.customers, params, "/v1/customers/search")

    def retrieve_customer(self, params: dict[str, Any], id: str) -> dict[str, Any]:
        # A deleted customer still answers its deleted stub, with 200, as on Stripe.
        return self._one(self.backend.customers.get(id, deleted_ok=True), params)

    def update_customer(self, params: dict[str, Any], id: str) -> dict[str, Any]:
        return self._one(self.backend.update_customer(id, params), params)

    def delete_customer(self, params: dict[str, Any], id: str) -> dict[str, Any]:
        return self._one(self.backend.delete_customer(id), params)

    # Products

    def create_product(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._one(self.backend.create_product(params), params)

    def list_products(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._list(self.backend.list_products(params), self.backend.products, params,
                          "/v1/products")

    def search_products(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._search("product", self.backend.products, params, "/v1/products/search")

    def retrieve_product(self, params: dict[str, Any], id: str) -> dict[str, Any]:
        return self._one(self.backend.products.get(id), params)

    def update_product(self, params: dict[str, Any], id: str) -> dict[str, Any]:
        return self._one(self.backend.update_product(id, params), params)

    def delete_product(self, params: dict[str, Any], id: str) -> dict[str, Any]:
        return self._one(self.backend.delete_product(id), params)

    # Prices

    def create_price(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._one(self.backend.create_price(params), params)

    def list_prices(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._list(self.backend.list_prices(params), self.backend.prices, params,
                          "/v1/prices")

    def search_prices(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._search("price", self.backend.prices, params, "/v1/prices/search")

    def retrieve_price(self, params: dict[str, Any], id: str) -> dict[str, Any]:
        return self._one(self.backend.prices.get(id), params)

    def update_price(self, params: dict[str, Any], id: str) -> dict[str, Any]:
        return self._one(self.backend.update_price(id, params), params)

    # Invoice items

    def create_invoice_item(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._one(self.backend.create_invoice_item(params), params)

    def list_invoice_items(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._list(self.backend.list_invoice_items(params), self.backend.invoice_items,
                          params, "/v1/invoiceitems")

    def retrieve_invoice_item(self, params: dict[str, Any], id: str) -> dict[str, Any]:
        return self._one(self.backend.invoice_items.get(id), params)

    def update_invoice_item(self, params: dict[str, Any], id: str) -> dict[str, Any]:
        return self._one(self.backend.update_invoice_item(id, params), params)

    def delete_invoice_item(self, params: dict[str, Any], id: str) -> dict[str, Any]:
        return self._one(self.backend.delete_invoice_item(id), params)

    # Invoices

    def create_invoice(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._one(self.backend.create_invoice(params), params)

    def list_invoices(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._list(self.backend.list_invoices(params), self.backend.invoices, params,
                          "/v1/invoices")

    def search_invoices(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._search("invoice", self.backend.invoices, params, "/v1/invoices/search")

    def retrieve_invoice(self, params: dict[str, Any], id: str) -> dict[str, Any]:
        return self._one(self.backend.invoices.get(id), params)

    def update_invoice(self, params: dict[str, Any], id: str) -> dict[str, Any]:
        return self._one(self.backend.update_invoice(id, params), params)

    def delete_invoice(self, params: dict[str, Any], id: str) -> dict[str, Any]:
        return self._one(self.backend.delete_invoice(id), params)

    def list_invoice_lines(self, params: dict[str, Any], id: str) -> dict[str, Any]:
        invoice: Invoice = self.backend.invoices.get(id)
        items = invoice.items(self.backend)
        by_line = {item.line_id: item for item in items}
        expand = _item_expansions(params)

        def render(item: InvoiceItem) -> dict[str, Any]:
            line = item.render_line()
            for path in expand:
                self.backend.expand(line, "line_item", path, within="data.")
            return line

        def position(line_id: str) -> int | None:
            found = by_line.get(line_id)
            return None if found is None else found.seq

        # Lines keep the order they were added in, unlike top-level lists.
        return self._page(items, params, f"/v1/invoices/{invoice.id}/lines", position=position,
                          kind="line_item", render=render, newest_first=False)

    def finalize_invoice(self, params: dict[str, Any], id: str) -> dict[str, Any]:
        return self._one(self.backend.finalize_invoice(id, params), params)

    def pay_invoice(self, params: dict[str, Any], id: str) -> dict[str, Any]:
        return self._one(self.backend.pay_invoice(id, params), params)

    def send_invoice(self, params: dict[str, Any], id: str) -> dict[str, Any]:
        return self._one(self.backend.send_invoice(id), params)

    def void_invoice(self, params: dict[str, Any], id: str) -> dict[str, Any]:
        return self._one(self.backend.void_invoice(id), params)

    def mark_uncollectible(self, params: dict[str, Any], id: str) -> dict[str, Any]:
        return self._one(self.backend.mark_uncollectible(id), params)


def _encode_page(seq: int, stamp: str) -> str:
    return base64.urlsafe_b64encode(f"{seq}:{stamp}".encode()).decode().rstrip("=")


def _decode_page(token: str, stamp: str) -> int:
    """The sequence a ``page`` token continues below; refuses tokens of another query."""
    try:
        padded = token + "=" * (-len(token) % 4)
        seq_text, token_stamp = base64.urlsafe_b64decode(padded).decode().split(":")
        seq = int(seq_text)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        seq, token_stamp = -1, ""
    if seq < 0 or token_stamp != stamp:
        raise bad_parameter(
            f"Invalid page: {token}. Pass the next_page value of a previous search with the "
            "same query.", param="page")
    return seq
