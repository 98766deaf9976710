"""Pages of objects as Stripe answers them: ``list`` pages with cursors, ``search_result`` pages
with ``page`` tokens, and the ``expand[]`` of their items.
"""

from __future__ import annotations

import base64
import binascii
import zlib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from . import search
from .errors import bad_parameter, no_such
from .store import Selection, Store, narrowest

if TYPE_CHECKING:
    from .backend import BackendCore, Resource
    from .shapes import Shape

DEFAULT_LIMIT = 10
MAX_LIMIT = 100


def limit_of(params: dict[str, Any]) -> int:
    """The page size asked for, within Stripe's 1..100."""
    limit: int = params.get("limit", DEFAULT_LIMIT)
    if limit < 1:
        raise bad_parameter("This value must be greater than or equal to 1.", param="limit",
                            code="parameter_invalid_integer")
    if limit > MAX_LIMIT:
        raise bad_parameter(f"This value must be less than or equal to {MAX_LIMIT}.",
                            param="limit", code="parameter_invalid_integer")
    return limit


def item_expansions(params: dict[str, Any], *, allowed: Sequence[str] = ()) -> list[str]:
    """``expand[]`` of a list or search request: ``data.x`` paths apply to every item."""
    paths = []
    for path in params.get("expand", ()):
        if path in allowed:
            continue
        if not path.startswith("data."):
            raise bad_parameter(f"This property cannot be expanded ({path}).", param="expand")
        paths.append(path.removeprefix("data."))
    return paths


def cursor_of(params: dict[str, Any], position: Callable[[str], int | None], kind: str
              ) -> tuple[int | None, bool]:
    """The creation sequence of the page's cursor (None without one) and whether it is
    ``starting_after`` (else ``ending_before``). ``position`` gives an id's sequence, None if
    unknown. Cursors compare by sequence, so a page boundary stays put when objects are created
    or deleted meanwhile (a deleted object's id still works as a cursor)."""
    after, before = params.get("starting_after"), params.get("ending_before")
    if after is not None and before is not None:
        raise bad_parameter(
            "You may only specify one of these parameters: ending_before, starting_after.",
            param="ending_before")
    cursor = after if after is not None else before
    if cursor is None:
        return None, False
    seq = position(cursor)
    if seq is None:
        raise no_such(kind, cursor, param="starting_after" if after is not None
                      else "ending_before")
    return seq, after is not None


def page_in_order(ordered: Sequence[Any], params: dict[str, Any], url: str, *,
                  position: Callable[[str], int | None], kind: str,
                  render: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
    """A ``list`` page of a short list kept oldest first (an invoice's lines)."""
    limit = limit_of(params)
    seq, after = cursor_of(params, position, kind)
    if seq is None:
        found, has_more = ordered[:limit], len(ordered) > limit
    elif after:
        rest = [o for o in ordered if o.seq > seq]
        found, has_more = rest[:limit], len(rest) > limit
    else:
        earlier = [o for o in ordered if o.seq < seq]
        found, has_more = earlier[-limit:], len(earlier) > limit
    return {"object": "list", "data": [render(o) for o in found], "has_more": has_more,
            "url": url}


def parts_page(backend: BackendCore, parts: Sequence[Any], params: dict[str, Any], url: str, *,
               shape: Shape, kind: str, cursor: Callable[[Any], str] = lambda part: part.id
               ) -> dict[str, Any]:
    """A ``list`` page of the parts of one object (an invoice's lines, a checkout session's
    line items), in their own order, each rendered by ``shape`` with ``data.`` expansions;
    ``cursor`` is the id a part is named by in ``starting_after``/``ending_before``."""
    by_id = {cursor(part): part for part in parts}
    expand = item_expansions(params)

    def render(part: Any) -> dict[str, Any]:
        rendered = shape.render(part, backend)
        for path in expand:
            backend.expand(rendered, shape.object, path, within="data.", obj=part)
        return rendered

    def position(part_id: str) -> int | None:
        found = by_id.get(part_id)
        return None if found is None else int(found.seq)

    return page_in_order(parts, params, url, position=position, kind=kind, render=render)


def list_page(backend: BackendCore, store: Store[Any], selection: Selection,
              test: Callable[[Any], bool] | None, params: dict[str, Any], url: str
              ) -> dict[str, Any]:
    """A ``list`` page of stored objects, newest first: the candidates in ``selection`` that
    pass ``test``, from the cursor on; items rendered with ``expand[]``."""
    limit = limit_of(params)
    seq, after = cursor_of(params, store.position, store.kind)
    expand = item_expansions(params)
    found, has_more = store.page(selection, test, limit=limit,
                                 below=seq if after else None,
                                 above=seq if not after else None)
    return {"object": "list", "data": [backend.render(obj, expand, within="data.")
                                       for obj in found],
            "has_more": has_more, "url": url}


def search_page(backend: BackendCore, resource: Resource, store: Store[Any],
                params: dict[str, Any], url: str) -> dict[str, Any]:
    """A ``search_result`` page: the objects ``params["query"]`` matches, newest first.

    The candidates come from the store's indexes where a clause allows (an exact text, boolean
    or metadata clause, a ``created`` range); each is then tested against the whole query,
    reading only the fields the query names.
    """
    query_text = params["query"]
    query = search.parse(query_text, resource.kind, resource.search)
    limit = limit_of(params)
    expand = item_expansions(params, allowed=("total_count",))
    stamp = f"{zlib.crc32(query_text.encode()):08x}"
    below = _decode_page(params["page"], stamp) if "page" in params else None
    shape = resource.shape

    def test(obj: Any) -> bool:
        return query.matches(shape.view(obj, backend))

    selection = search_candidates(query, store)
    found, has_more = store.page(selection, test, limit=limit, below=below)
    body: dict[str, Any] = {
        "object": "search_result",
        "data": [backend.render(obj, expand, within="data.") for obj in found],
        "has_more": has_more,
        "next_page": _encode_page(found[-1].seq, stamp) if has_more else None,
        "url": url,
    }
    if "total_count" in params.get("expand", ()):
        body["total_count"] = store.count(selection, test)
    return body


def search_candidates(query: search.Query, store: Store[Any]) -> Selection:
    """The fewest candidates the store's indexes give for ``query`` (a superset of its
    matches): for AND, the narrowest clause's; for OR, the union of every clause's, when
    each has an index; otherwise every live object."""
    narrowed = [_clause_candidates(clause, query.fields[clause.field], store)
                for clause in query.clauses]
    if query.conjunction == "AND":
        return narrowest(store, narrowed)
    if any(found is None or found.low is not None or found.high is not None
           for found in narrowed):
        return store.every()
    lists = [found.seqs for found in narrowed if found is not None]
    return Selection(sorted(set().union(*lists)))


def _clause_candidates(clause: search.Clause, spec: search.Field, store: Store[Any]
                       ) -> Selection | None:
    if clause.negated:
        return None
    if spec.kind == "metadata":
        if clause.op != ":" or clause.value is None or clause.key is None:
            return None
        return store.with_metadata(clause.key, clause.value)
    if len(spec.path) != 1:
        return None
    field = spec.path[0]
    if spec.kind == "number":
        if field != "created" or clause.value is None:
            return None
        number = float(clause.value)
        bound = {":": {"gte": number, "lte": number}, ">": {"gt": number},
                 "<": {"lt": number}, ">=": {"gte": number}, "<=": {"lte": number}}[clause.op]
        return store.created_bounds(bound)
    if clause.op != ":":
        return None
    value: Any = clause.value
    if spec.kind == "boolean":
        value = value == "true"
    return store.with_value(field, value)


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
