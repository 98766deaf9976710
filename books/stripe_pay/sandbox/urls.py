"""The sandbox's URL table: method and path pattern -> handler and the SDK schema of its params.

Each handler is a method of :class:`~.responses.StripeResponses`; each ``params`` names the
``stripe.params`` TypedDict the request is validated against. A path Stripe serves but this table
lacks answers Stripe's "Unrecognized request URL" 404, as does a method Stripe does not allow on a
path (``DELETE /v1/prices/{id}``: prices can only be archived).
"""

from __future__ import annotations

import attrs
from werkzeug.routing import Map, Rule


@attrs.frozen
class Route:
    """One endpoint."""

    method: str
    path: str
    handler: str
    params: str


URLS: tuple[Route, ...] = (
    Route("POST", "/v1/customers", "create_customer", "CustomerCreateParams"),
    Route("GET", "/v1/customers", "list_customers", "CustomerListParams"),
    Route("GET", "/v1/customers/search", "search_customers", "CustomerSearchParams"),
    Route("GET", "/v1/customers/<id>", "retrieve_customer", "CustomerRetrieveParams"),
    Route("POST", "/v1/customers/<id>", "update_customer", "CustomerUpdateParams"),
    Route("DELETE", "/v1/customers/<id>", "delete_customer", "CustomerDeleteParams"),

    Route("POST", "/v1/products", "create_product", "ProductCreateParams"),
    Route("GET", "/v1/products", "list_products", "ProductListParams"),
    Route("GET", "/v1/products/search", "search_products", "ProductSearchParams"),
    Route("GET", "/v1/products/<id>", "retrieve_product", "ProductRetrieveParams"),
    Route("POST", "/v1/products/<id>", "update_product", "ProductUpdateParams"),
    Route("DELETE", "/v1/products/<id>", "delete_product", "ProductDeleteParams"),

    Route("POST", "/v1/prices", "create_price", "PriceCreateParams"),
    Route("GET", "/v1/prices", "list_prices", "PriceListParams"),
    Route("GET", "/v1/prices/search", "search_prices", "PriceSearchParams"),
    Route("GET", "/v1/prices/<id>", "retrieve_price", "PriceRetrieveParams"),
    Route("POST", "/v1/prices/<id>", "update_price", "PriceUpdateParams"),

    Route("POST", "/v1/invoiceitems", "create_invoice_item", "InvoiceItemCreateParams"),
    Route("GET", "/v1/invoiceitems", "list_invoice_items", "InvoiceItemListParams"),
    Route("GET", "/v1/invoiceitems/<id>", "retrieve_invoice_item", "InvoiceItemRetrieveParams"),
    Route("POST", "/v1/invoiceitems/<id>", "update_invoice_item", "InvoiceItemUpdateParams"),
    Route("DELETE", "/v1/invoiceitems/<id>", "delete_invoice_item", "InvoiceItemDeleteParams"),

    Route("POST", "/v1/invoices", "create_invoice", "InvoiceCreateParams"),
    Route("GET", "/v1/invoices", "list_invoices", "InvoiceListParams"),
    Route("GET", "/v1/invoices/search", "search_invoices", "InvoiceSearchParams"),
    Route("GET", "/v1/invoices/<id>", "retrieve_invoice", "InvoiceRetrieveParams"),
    Route("POST", "/v1/invoices/<id>", "update_invoice", "InvoiceUpdateParams"),
    Route("DELETE", "/v1/invoices/<id>", "delete_invoice", "InvoiceDeleteParams"),
    Route("GET", "/v1/invoices/<id>/lines", "list_invoice_lines", "InvoiceLineItemListParams"),
    Route("POST", "/v1/invoices/<id>/finalize", "finalize_invoice",
          "InvoiceFinalizeInvoiceParams"),
    Route("POST", "/v1/invoices/<id>/pay", "pay_invoice", "InvoicePayParams"),
    Route("POST", "/v1/invoices/<id>/send", "send_invoice", "InvoiceSendInvoiceParams"),
    Route("POST", "/v1/invoices/<id>/void", "void_invoice", "InvoiceVoidInvoiceParams"),
    Route("POST", "/v1/invoices/<id>/mark_uncollectible", "mark_uncollectible",
          "InvoiceMarkUncollectibleParams"),
)


def url_map() -> Map:
    """A werkzeug routing map whose endpoints are the :class:`Route` entries.

    Static segments win over ``<id>`` (``/v1/customers/search`` is not a customer id), and paths
    are matched exactly: no redirects for trailing or doubled slashes, which Stripe does not do.
    """
    return Map(
        [Rule(route.path, methods=[route.method], endpoint=route) for route in URLS],
        strict_slashes=False,
        merge_slashes=False,
    )
