"""Routes are derived from the book's declarations and the families' handlers: the sandbox
serves exactly the operations the book sends, on the paths the book declares."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, ClassVar

import pytest
from sandbox_http import raw_request
from stripe_pay.sandbox import backend, routes
from stripe_pay.sandbox.backend import BackendCore, Resource, handles, route
from stripe_pay.sandbox.params import schema_for
from stripe_pay.sandbox.resources import Backend
from stripe_pay.sandbox.shapes import Shape

DOCS = Path(__file__).resolve().parents[2] / "docs" / "SANDBOX.md"
ROUTES = routes.derive(Backend)


SERVED = {kind: row for kind, row in routes.book_rows().items()
          if kind in {resource.kind for resource in Backend.declared_resources()}}


def test_the_sandbox_serves_the_book_objects_it_stores():
    assert set(SERVED) == {"customer", "product", "price", "invoice", "invoiceitem",
                           "payment_intent", "charge", "refund", "dispute",
                           "balance_transaction", "payout", "payment_method",
                           "setup_intent", "checkout.session", "payment_link", "coupon",
                           "promotion_code", "tax_rate", "credit_note",
                           "customer_balance_transaction", "quote",
                           "billing_portal.configuration", "billing_portal.session",
                           "plan", "subscription", "subscription_item",
                           "test_helpers.test_clock", "subscription_schedule"}


@pytest.mark.parametrize(("kind", "row"), SERVED.items(), ids=list(SERVED))
def test_every_operation_the_book_sends_is_served(kind, row):
    # The book's verbs, read here on their own: a record duty is one or more SDK calls, an
    # action one more; each must land on a route with its method, path and params type.
    wanted = set()
    for verb in row.verbs:
        if verb == "get":
            wanted |= {"retrieve", "list"} | ({"search"} if row.searchable else set())
        elif verb == "delete":
            wanted |= set() if row.delete_refusal else {"delete"}
        elif verb != "add":  # adding to a parent is the child's create
            wanted.add(verb)
    wanted |= {action.verb for action in row.actions}
    served = {(one.method, one.path): one for one in ROUTES}
    for name in sorted(wanted):
        declared = row.operation(name)
        one = served.get((declared.http, declared.path))
        assert one is not None, f"{kind} {name}: nothing serves {declared.http} {declared.path}"
        assert one.params == declared.params, (kind, name)
    # (An action may be another object's operation: refunding a charge creates a refund.)
    own = {one.operation for one in ROUTES if one.kind == kind}
    assert own <= wanted, f"{kind}: routes for {sorted(own - wanted)} the book never sends"


def test_every_resource_agrees_with_its_book_row():
    rows = routes.book_rows()
    for resource in Backend.declared_resources():
        row = rows.get(resource.kind)
        if row is None:  # (a customer's card sources: payment methods to the book)
            continue
        assert set(resource.search) == set(row.search_fields), resource.kind
        assert {found.param for found in row.list_filters} <= {
            found.param for found in resource.filters}, resource.kind


def test_every_route_is_served_over_http(sandbox):
    # A route the table lists but the server does not serve would be Stripe's 404 for an
    # unknown URL; a missing object is the resource's own 404 "No such ...".
    for one in ROUTES:
        path = re.sub(r"\{[a-z_]+\}", "x_nothere", one.path)
        # (required parameters given, so that the missing object is what is refused)
        spec = schema_for(one.params, one.params_module)
        body = "&".join(f"{name}={1 if 'int' in spec.fields[name].scalars else 'x'}"
                        for name in sorted(spec.required))
        status, _, body = raw_request(sandbox, one.method, path,
                                      body=body if one.method == "POST" else None)
        message = body.get("error", {}).get("message", "")
        assert not message.startswith("Unrecognized request URL"), one
        if "{id}" in one.path:
            assert (status, body["error"]["code"]) == (404, "resource_missing"), one


def test_methods_stripe_does_not_allow_are_unrecognized(sandbox):
    for method, path in (("DELETE", "/v1/prices/price_x"), ("DELETE", "/v1/invoices"),
                         ("POST", "/v1/invoices/in_x/lines"), ("GET", "/v1/invoices/in_x/pay")):
        status, _, body = raw_request(sandbox, method, path)
        assert status == 404, (method, path)
        assert body["error"]["message"].startswith(f"Unrecognized request URL ({method}: {path})")


def test_the_route_table_in_the_docs_is_the_derived_one():
    table = routes.markdown_table(ROUTES)
    assert table in DOCS.read_text(), (
        "docs/SANDBOX.md's route table is out of date; replace it with the output of: python -c "
        "'from stripe_pay.sandbox import routes; from stripe_pay.sandbox.resources import "
        "Backend; print(routes.markdown_table(routes.derive(Backend)))'")


def _family(**handlers: Any) -> type[BackendCore]:
    """A backend of one family storing customers, with the given handler methods."""
    namespace: dict[str, Any] = {
        "RESOURCES": (Resource(Shape("customer", "Customer"), "customers"),),
        "__annotations__": {"RESOURCES": ClassVar[tuple[Resource, ...]]},
        **handlers,
    }
    return type("Toy", (BackendCore,), namespace)


def test_a_handler_for_an_operation_the_book_lacks_is_refused():
    toy = _family(archive=handles("customer", "archive")(lambda self, id, params: None))
    with pytest.raises(ValueError, match="handles customer 'archive', which the book's customer"):
        routes.derive(toy)


def test_a_handler_for_an_object_no_family_stores_is_refused():
    toy = _family(make=handles("product", "create")(lambda self, params: None))
    with pytest.raises(ValueError, match="Handlers for product, which no family stores"):
        routes.derive(toy)


def test_two_handlers_for_one_path_are_refused():
    toy = _family(first=handles("customer", "create")(lambda self, params: None),
                  second=route("POST", "/v1/customers", "CustomerCreateParams",
                               kind="customer", name="again")(lambda self, params: None))
    with pytest.raises(ValueError, match="POST /v1/customers is served twice"):
        routes.derive(toy)


def test_a_family_without_handlers_gets_the_generic_reads():
    served = {(one.operation, one.generic) for one in routes.derive(_family())}
    assert served == {("retrieve", True), ("list", True)}


def test_the_filter_and_search_table_in_the_docs_is_the_code():
    table = backend.markdown_table(Backend.declared_resources())
    assert table in DOCS.read_text(), (
        "docs/SANDBOX.md's filter and search table is out of date; replace it with the output "
        "of: python -c 'from stripe_pay.sandbox import backend; from stripe_pay.sandbox."
        "resources import Backend; print(backend.markdown_table(Backend.declared_resources()))'")
