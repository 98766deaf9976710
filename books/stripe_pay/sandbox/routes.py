"""The sandbox's routes, derived from the book's declarations and the families' handlers.

For every object a family stores, the book's row in ``stripe_pay.objects.OBJECTS`` (found
through the SDK class of the row's records: the customers service's are ``stripe.Customer``,
whose ``OBJECT_NAME`` is ``customer``) gives each operation's HTTP method, path and
``stripe.params`` TypedDict: ``row.operation(name)``. A family handles
``create``, ``update``, ``delete`` and the row's action verbs with methods marked
:func:`~.backend.handles`; ``retrieve``, ``list`` and (for resources with search fields)
``search`` are the backend's generic handlers unless a family handles them itself. Paths the
book has no verb for (an invoice's lines) are declared next to their handlers with
:func:`~.backend.route`.

A path Stripe serves but this table lacks answers Stripe's "Unrecognized request URL" 404, as
does a method Stripe does not allow on a path (``DELETE /v1/prices/{id}``: prices can only be
archived, and the book has no delete for them).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import attrs
from werkzeug.routing import Map, Rule

if TYPE_CHECKING:
    from stripe_pay.objects import StripeObject

    from .backend import BackendCore

_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")

#: Stripe's API reference's order of an object's operations (actions come after).
ORDER = ("create", "retrieve", "update", "delete", "list", "search")
#: The generic handlers of BackendCore, by operation.
GENERIC = {"retrieve": "retrieve_object", "list": "list_objects", "search": "search_objects"}


@attrs.frozen
class Route:
    """One endpoint: ``method`` and Stripe's ``path`` (``{id}`` placeholders), the params
    TypedDict, the backend method serving it, the object kind and operation it stands for."""

    method: str
    path: str
    params: str
    handler: str
    kind: str
    operation: str
    generic: bool = False
    #: the module of the params TypedDict when not ``stripe.params`` itself
    params_module: str = ""

    @property
    def args(self) -> tuple[str, ...]:
        """The path's placeholders, in order: the handler's leading arguments."""
        return tuple(_PLACEHOLDER.findall(self.path))

    @property
    def rule(self) -> str:
        """The path as a werkzeug rule: ``/v1/customers/<id>``."""
        return _PLACEHOLDER.sub(r"<\1>", self.path)

    @property
    def mutating(self) -> bool:
        """Whether the route changes state (every POST and DELETE)."""
        return self.method in ("POST", "DELETE")


def book_rows() -> dict[str, StripeObject]:
    """The book's rows by the Stripe object name of their records' SDK class (a service whose
    records the SDK does not name is left out: nothing could serve it)."""
    from stripe_pay import sdk
    from stripe_pay.objects import OBJECTS

    rows = {}
    for row in OBJECTS:
        try:
            records: Any = sdk.resource_class(row.service)
        except KeyError:
            continue
        rows[records.OBJECT_NAME] = row
    return rows


def book_operations(row: StripeObject) -> tuple[str, ...]:
    """The operations the book sends for ``row``: ``retrieve`` and ``list`` (and ``search``
    where Stripe searches) for ``get``, each other record duty it has (``delete`` unless the
    row refuses it), then its actions' verbs. ``add`` to a parent is the child's create."""
    found: list[str] = []
    for duty in row.verbs:
        if duty == "get":
            found += ["retrieve", "list"] + (["search"] if row.searchable else [])
        elif duty == "delete" and row.delete_refusal:
            continue
        elif duty != "add":
            found.append(duty)
    return (*found, *(action.verb for action in row.actions))


_derived: dict[type, tuple[Route, ...]] = {}


def derive(backend: type[BackendCore]) -> tuple[Route, ...]:
    """Every route of ``backend``: book operations first, resource by resource, then the
    families' own paths (derived once per backend class). Raises ``ValueError`` on a
    declaration that cannot be served."""
    if backend not in _derived:
        _derived[backend] = _derive(backend)
    return _derived[backend]


def _derive(backend: type[BackendCore]) -> tuple[Route, ...]:
    rows = book_rows()
    served: dict[tuple[str, str], Route] = {}
    extra: list[Route] = []
    for handler, declared in backend.declared_handlers():
        kind, operation = declared["kind"], declared["operation"]
        if "path" in declared:
            extra.append(Route(declared["method"], declared["path"], declared["params"],
                               handler, kind, operation,
                               params_module=declared.get("params_module", "")))
            continue
        row = rows.get(kind)
        if row is None:
            raise ValueError(f"{backend.__name__}.{handler} handles {kind} {operation}, but the "
                             f"book has no row for {kind}; declare its path with route().")
        try:
            found = row.operation(operation)
        except KeyError:
            raise ValueError(f"{backend.__name__}.{handler} handles {kind} {operation!r}, which "
                             f"the book's {row.noun} row does not declare.") from None
        served[kind, operation] = Route(found.http, found.path, found.params, handler, kind,
                                        operation, params_module=_module(found))
    stored = {resource.kind: resource for resource in backend.declared_resources()}
    for kind, row in rows.items():
        resource = stored.get(kind)
        if resource is None:
            continue
        for operation, handler in GENERIC.items():
            if ((kind, operation) in served or operation not in book_operations(row)
                    or (operation == "search" and not resource.search)):
                continue
            found = row.operation(operation)
            served[kind, operation] = Route(found.http, found.path, found.params, handler, kind,
                                            operation, generic=True, params_module=_module(found))
    # In the book's order of objects, each in Stripe's reference order of operations.
    kinds = list(rows)

    def place(one: Route) -> tuple[int, int]:
        if one.operation in ORDER:
            return kinds.index(one.kind), ORDER.index(one.operation)
        verbs = [action.verb for action in rows[one.kind].actions]
        return kinds.index(one.kind), len(ORDER) + verbs.index(one.operation)

    derived = sorted(served.values(), key=place)
    unstored = sorted({kind for kind, _ in served} - set(stored))
    if unstored:
        raise ValueError(f"Handlers for {', '.join(unstored)}, which no family stores.")
    routes = tuple(derived + extra)
    seen: dict[tuple[str, str], Route] = {}
    for one in routes:
        key = (one.method, one.rule)
        if key in seen:
            raise ValueError(f"{one.method} {one.path} is served twice: by {seen[key].handler} "
                             f"and by {one.handler}.")
        seen[key] = one
    return routes


def _module(operation: object) -> str:
    module: str = getattr(operation, "params_module", "")
    return "" if module == "stripe.params" else module


def url_map(routes: tuple[Route, ...]) -> Map:
    """A werkzeug routing map whose endpoints are the :class:`Route` entries.

    Static segments win over ``<id>`` (``/v1/customers/search`` is not a customer id), and paths
    are matched exactly: no redirects for trailing or doubled slashes, which Stripe does not do.
    """
    return Map([Rule(one.rule, methods=[one.method], endpoint=one) for one in routes],
               strict_slashes=False, merge_slashes=False)


def markdown_table(routes: tuple[Route, ...]) -> str:
    """The routes as the Markdown table docs/SANDBOX.md shows (tested to match)."""
    lines = ["| object | method | path | operation | parameters (`stripe.params`) |",
             "| --- | --- | --- | --- | --- |"]
    for one in routes:
        source = "generic" if one.generic else one.handler
        lines.append(f"| {one.kind} | {one.method} | `{one.path}` | {one.operation} "
                     f"({source}) | `{one.params}` |")
    return "\n".join(lines)
