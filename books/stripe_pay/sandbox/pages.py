"""Pages of objects as Stripe answers them: ``list`` pages with cursors, ``search_result`` pages
with ``page`` tokens, and the ``expand[]`` of their items.
"""

from __future__ import annotations

import base64
import binascii
import zlib
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from . import search
from .errors import bad_parameter, no_such

if TYPE_CHECKING:
    from .backend import BackendCore, Resource, Store

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


def page(
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
    limit = limit_of(params)
    after, before = params.get("starting_after"), params.get("ending_before")
    if after is not None and before is not None:
        raise bad_parameter(
            "You may only specify one of these parameters: ending_before, starting_after.",
            param="ending_before")
    objects = list(ordered)
    cursor = after if after is not None else before
    if cursor is None:
        found, has_more = objects[:limit], len(objects) > limit
    else:
        seq = position(cursor)
        if seq is None:
            raise no_such(kind, cursor,
                          param="starting_after" if after is not None else "ending_before")
        later_in_order = (lambda o: o.seq < seq) if newest_first else (lambda o: o.seq > seq)
        if after is not None:
            rest = [o for o in objects if later_in_order(o)]
            found, has_more = rest[:limit], len(rest) > limit
        else:
            earlier = [o for o in objects if not later_in_order(o) and o.seq != seq]
            found, has_more = earlier[-limit:], len(earlier) > limit
    return {"object": "list", "data": [render(o) for o in found], "has_more": has_more,
            "url": url}


def list_page(backend: BackendCore, objects: Iterable[Any], store: Store[Any],
              params: dict[str, Any], url: str) -> dict[str, Any]:
    """A ``list`` page of stored objects (newest first), items rendered with ``expand[]``."""
    expand = item_expansions(params)

    def position(object_id: str) -> int | None:
        found = store.objects.get(object_id)
        return None if found is None else found.seq

    return page(objects, params, url, position=position, kind=store.kind,
                render=lambda obj: backend.render(obj, expand, within="data."))


def search_page(backend: BackendCore, resource: Resource, store: Store[Any],
                params: dict[str, Any], url: str) -> dict[str, Any]:
    """A ``search_result`` page: the objects ``params["query"]`` matches, newest first."""
    query_text = params["query"]
    query = search.parse(query_text, resource.kind, resource.search)
    limit = limit_of(params)
    expand = item_expansions(params, allowed=("total_count",))
    stamp = f"{zlib.crc32(query_text.encode()):08x}"
    below = _decode_page(params["page"], stamp) if "page" in params else None
    matches = [obj for obj in store.newest_first() if query.matches(backend.render(obj))]
    remaining = [obj for obj in matches if below is None or obj.seq < below]
    found = remaining[:limit]
    has_more = len(remaining) > limit
    body: dict[str, Any] = {
        "object": "search_result",
        "data": [backend.render(obj, expand, within="data.") for obj in found],
        "has_more": has_more,
        "next_page": _encode_page(found[-1].seq, stamp) if has_more else None,
        "url": url,
    }
    if "total_count" in params.get("expand", ()):
        body["total_count"] = len(matches)
    return body


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
