"""Every kind of object the sandbox serves, made and read through its routes, for the fidelity
tests that must cover them all: the change walk's world (one of everything a mutating route
acts on) and its scenarios (one per mutating route) make them, and every GET route reads
them back. A family that adds routes adds scenarios to the walk, so its objects are covered
here without another list."""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from typing import Any

from sandbox_http import make_client, raw_request
from stripe_pay.sandbox import routes
from stripe_pay.sandbox.params import schema_for
from stripe_pay.sandbox.resources import Backend
from test_sandbox_changes import MUTATING, REFUSED, SCENARIOS, make_world, path_of

ROUTES = routes.derive(Backend)
SHAPES = {shape.object: shape for shape in Backend.declared_shapes()}
#: The retrieve path of each stored kind: the owner of the paths under it.
RETRIEVE = {one.path: one for one in ROUTES
            if one.operation == "retrieve" and "{id}" in one.path}


def owner(path: str) -> str | None:
    """The kind whose object ``path``'s ``{id}`` names (``/v1/invoices/{id}/lines``:
    invoice), None for a path without one."""
    if "{id}" not in path:
        return None
    return RETRIEVE[path.split("{id}")[0] + "{id}"].kind


def paths_for(sandbox: Any, one: routes.Route, ids: dict[str, set[str]]) -> list[str]:
    """The paths of route ``one`` for the objects in ``ids`` (by kind), in id order: its
    ``{id}`` filled with each object of the kind that owns it; a path with a second
    placeholder (``/v1/customers/{id}/sources/{source}``) is filled with each object of the
    route's kind and the owner it belongs to (the field named after the owner's kind: a
    card's ``customer``). A path without an id is itself."""
    kind = owner(one.path)
    if kind is None:
        return [one.path]
    if one.path.count("{") == 1:
        return [one.path.replace("{id}", object_id) for object_id in sorted(ids.get(kind, ()))]
    paths = []
    for object_id in sorted(ids.get(one.kind, ())):
        parent = getattr(sandbox.backend.find(one.kind, object_id), kind, None)
        if parent is not None:
            paths.append(path_of(one.path, (parent, object_id)))
    return paths


def needs_inputs(one: routes.Route) -> bool:
    """Whether a GET route needs parameters besides its path (a credit note's preview needs
    an invoice and what to credit): its own tests read it, with them."""
    return bool(schema_for(one.params, one.params_module).required)


def nested_objects(value: Any) -> Iterator[dict[str, Any]]:
    """Every object of a kind the sandbox renders in ``value``, itself included: an invoice's
    lines, a line item's price, expanded objects."""
    if isinstance(value, dict):
        # (an event's data holds its object under "object")
        kind = value.get("object")
        if isinstance(kind, str) and kind in SHAPES and "id" in value:
            yield value
        for inner in value.values():
            yield from nested_objects(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from nested_objects(inner)


def read_back(sandbox: Any, ids: dict[str, set[str]], query: str = "") -> list[dict[str, Any]]:
    """The answers of every GET route (not search: it needs a query) for the objects in
    ``ids`` (by kind); paths without an id are listed once. ``query`` is added to each."""
    answers = []
    for one in ROUTES:
        if one.method != "GET" or one.operation == "search" or needs_inputs(one):
            continue
        for path in _with_required(one, paths_for(sandbox, one, ids), ids):
            limit = "" if one.operation == "retrieve" else "limit=100"
            sep = "&" if "?" in path else "?"
            status, _, body = raw_request(sandbox, "GET", f"{path}{sep}{limit}{query}")
            if status == 200:
                answers.append(body)
            else:
                assert body["error"]["code"] == "resource_missing", (path, body)
    return answers


def _with_required(one: routes.Route, paths: list[str], ids: dict[str, set[str]]
                   ) -> list[str]:
    """A list's paths with the parameters it requires, each an object of the kind of its
    name (a subscription's items: ``?subscription=sub_...``, once per subscription)."""
    if one.operation != "list":
        return paths
    required = sorted(schema_for(one.params, one.params_module).required)
    if not required:
        return paths
    filled = paths
    for name in required:
        filled = [f"{path}{'&' if '?' in path else '?'}{name}={object_id}"
                  for path in filled for object_id in sorted(ids.get(name, ()))]
    return filled


def stored_ids(sandbox: Any) -> dict[str, set[str]]:
    with sandbox.backend.lock:
        return {kind: set(store.objects) for kind, store in sandbox.backend.stores.items()}


def served_objects(sandbox: Any) -> list[dict[str, Any]]:
    """Every object the sandbox answered with: the world read back through every GET route,
    then, for each mutating route, its scenario's answer and every object it changed, read
    back."""
    client = make_client(sandbox)
    found: list[dict[str, Any]] = []
    sandbox.reset()
    make_world(client)
    for body in read_back(sandbox, stored_ids(sandbox)):
        found.extend(nested_objects(body))
    for one in MUTATING:
        if (one.kind, one.operation) in REFUSED:
            continue  # it answers no object
        sandbox.reset()
        world = make_world(client)
        object_id, params = SCENARIOS[one.kind, one.operation](world)
        mark = sandbox.backend.changes.last_seq
        status, _, body = raw_request(sandbox, one.method, path_of(one.path, object_id),
                                      body=urllib.parse.urlencode(params))
        assert status == 200, (one, body)
        found.extend(nested_objects(body))
        changed: dict[str, set[str]] = {}
        for change in sandbox.backend.changes.since(mark):
            changed.setdefault(change.kind, set()).add(change.id)
        for answer in read_back(sandbox, changed):
            found.extend(nested_objects(answer))
    return found
