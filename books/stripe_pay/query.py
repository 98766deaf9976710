"""How ``get`` finds records: by id, by an exact list filter, by search, or in the client.

Stripe offers three ways to select records, and they differ in what they can express and
how fresh they are:

* list filters (``GET /v1/invoices?status=open``) are exact and strongly consistent, but
  exist only for a few fields per object;
* the Search API (``GET /v1/customers/search?query=...``) understands more fields and
  operators, but lags writes by up to a minute;
* anything else is filtered here, in the client, over every page of the list (or of a
  list filter or a search that says part of the condition).

:func:`choose` picks the cheapest that is exact, and both ``plan_call`` and ``get`` use
it, so a dry run shows exactly what a real run sends.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

import attrs

from kognitos_books import And, Call, Condition, Filter, Or, PlannedRequest

from .objects import StripeObject
from .values import form, to_stripe

#: Stripe's largest page; client-side filtering reads whole pages.
PAGE = 100
#: Stripe allows at most this many clauses in one search query.
MAX_SEARCH_CLAUSES = 10
#: ``field~'text'`` needs at least this many characters.
MIN_SUBSTRING = 3

_RANGE = {">": "gt", "<": "lt", ">=": "gte", "<=": "lte"}
_NUMERIC = ("integer", "number", "timestamp")
#: The search fields Stripe types as "string": only these match substrings (``~``); the
#: others ("token": ids, codes, metadata; numbers) match only exactly.
SUBSTRING_FIELDS: Mapping[str, frozenset[str]] = {
    "customer": frozenset({"email", "name", "phone"}),
    "invoice": frozenset({"number", "receipt_number", "status", "subscription"}),
    "price": frozenset({"lookup_key", "product"}),
    "product": frozenset({"description", "name", "url"}),
}
#: Each negated text comparison and the comparison it negates.
_NEGATED = {"does not contain": "contains", "does not start with": "starts with",
            "does not end with": "ends with"}
#: Comparisons neither a list filter nor search can say: always checked here.
_CLIENT_ONLY = ("starts with", "does not start with", "ends with", "does not end with")


@attrs.frozen
class Strategy:
    """How one ``get`` is carried out.

    ``operation`` is the SDK call (``retrieve``, ``list`` or ``search``) and ``params``
    its parameters; ``residual`` the part of the condition checked here on each record.
    """

    name: str
    operation: str
    params: Mapping[str, Any] = attrs.field(factory=dict)
    record_id: str | None = None
    residual: Filter | None = None
    note: str = ""

    def requests(self, row: StripeObject) -> tuple[PlannedRequest, ...]:
        op = row.operation(self.operation)
        parent, params = op.split(dict(self.params))
        path = op.url_path(self.record_id, parent)
        return (PlannedRequest(op.http, path, form(params), self.note),)


def conditions(where: Filter) -> list[Condition] | None:
    """The conditions of ``where`` when it is a plain AND of them (None otherwise)."""
    if isinstance(where, Condition):
        return [where]
    if isinstance(where, And):
        found: list[Condition] = []
        for item in where.items:
            inner = conditions(item)
            if inner is None:
                return None
            found.extend(inner)
        return found
    return None


def choose(row: StripeObject, call: Call, *, recently_written: bool = False,
           field_type: Any = None) -> Strategy:
    """The strategy for ``call`` (a ``get``) on ``row``.

    ``recently_written`` says this connection has written ``row``'s objects, so the
    Search API may not show them yet and is avoided. ``field_type(path)`` names a field's
    type (``integer``, ``timestamp``...) so search values are written the right way.
    """
    limit = PAGE if call.many else 1
    where = call.where
    if call.id is not None:
        return Strategy("retrieve by id", "retrieve", record_id=call.id, residual=where)
    if where is None:
        return Strategy("list", "list", {"limit": limit},
                        note="every page" if call.many else "newest first")
    if isinstance(where, Condition) and where.field == ("id",) and where.op == "is":
        return Strategy("retrieve by id", "retrieve", record_id=str(to_stripe(where.value)))

    conds = conditions(where)
    pushed: dict[str, Any] = {}
    residual: Filter = where
    listed = 0
    if conds is not None:
        pushed, rest = list_params(row, conds)
        if not rest:
            return Strategy("list filter", "list", {**pushed, "limit": limit},
                            note="every page" if call.many else "exact, newest first")
        # Stripe applies the conditions that fit list filters; the rest are checked here.
        residual = _join(rest)
        listed = len(conds) - len(rest)
    pages = "every page" if call.many else f"pages of {PAGE} until a match"
    searched = _search(row, where, conds, listed, field_type)
    if searched is not None and not recently_written:
        query, left = searched
        if left is None:
            # Search applies every condition at Stripe: fewer pages than a partial filter.
            return Strategy("search", "search", {"query": query, "limit": limit},
                            note="every page" if call.many else "")
        # Search narrows by more conditions than the list filters could; the rest are
        # checked here.
        return Strategy("search + client-side filter", "search",
                        {"query": query, "limit": PAGE}, residual=left,
                        note=f"{pages}; {_checked_here(left)}")
    why = "search lags writes made in this run" if searched is not None else None
    name = "list filter + client-side filter" if pushed else "client-side filter"
    return Strategy(name, "list", {**pushed, "limit": PAGE}, residual=residual,
                    note=f"{pages}; {_checked_here(residual, why)}")


def _join(items: list[Condition]) -> Filter:
    return items[0] if len(items) == 1 else And(tuple(items))


def _checked_here(residual: Filter, why: str | None = None) -> str:
    """What a plan says of the conditions checked in the client, and why Stripe does not."""
    if why is None:
        ops = [cond.op for cond in conditions(residual) or [] if cond.op in _CLIENT_ONLY]
        why = (f'Stripe cannot filter by "{ops[0]}"' if ops
               else "no list filter or search expresses this")
    return f"checked here: {describe(residual)} ({why})"


def _search(row: StripeObject, where: Filter, conds: list[Condition] | None, listed: int,
            field_type: Any) -> tuple[str, Filter | None] | None:
    """A search query for ``where`` and what it leaves to check here (None when nothing).

    A plain AND that search cannot say whole is searched by the conditions it can say, when
    they are more than the ``listed`` ones list filters would apply (list filters are
    exact and fresh, so they win a tie); None when search does not help.
    """
    if not row.searchable:
        return None
    query = search_query(row, where, field_type)
    if query is not None:
        return query, None
    if conds is None:
        return None
    said = [index for index, cond in enumerate(conds)
            if len(_clauses(row, cond, field_type) or ()) == 1][:MAX_SEARCH_CLAUSES]
    if len(said) <= listed:
        return None
    query = search_query(row, _join([conds[index] for index in said]), field_type)
    assert query is not None  # each condition searches alone, and they are few enough
    return query, _join([cond for index, cond in enumerate(conds) if index not in said])


# ---------------------------------------------------------------------- list filters


def list_params(row: StripeObject, conds: list[Condition]
                ) -> tuple[dict[str, Any], list[Condition]]:
    """Split ``conds`` into list parameters Stripe applies exactly and the rest."""
    params: dict[str, Any] = {}
    rest: list[Condition] = []
    for cond in conds:
        fitted = _list_param(row, cond)
        if fitted is None:
            rest.append(cond)
            continue
        name, value = fitted
        if name not in params:
            params[name] = value
        elif isinstance(params[name], dict) and isinstance(value, dict) and not (
                set(params[name]) & set(value)):
            params[name] = {**params[name], **value}
        else:
            # A second condition on the same parameter cannot be sent; check it here.
            rest.append(cond)
    return params, rest


def _list_param(row: StripeObject, cond: Condition) -> tuple[str, Any] | None:
    if len(cond.field) != 1:
        return None
    spec = row.list_filter(cond.field[0])
    if spec is None:
        return None
    value = to_stripe(cond.value)
    if spec.kind == "many":
        if cond.op == "is":
            return spec.param, [value]
        if cond.op == "one of" and isinstance(value, list):
            return spec.param, value
        return None
    if cond.op == "is" and not isinstance(value, (list, dict)):
        return spec.param, value
    if spec.kind == "range" and cond.op in _RANGE and isinstance(value, int):
        return spec.param, {_RANGE[cond.op]: value}
    return None


# ---------------------------------------------------------------------- search


def quote(value: str) -> str:
    """A search string literal: single quotes, with ``\\`` and ``'`` escaped."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _literal(value: Any, numeric: bool) -> str | None:
    value = to_stripe(value)
    if isinstance(value, bool):
        return quote(str(value).lower())
    if numeric:
        if isinstance(value, int):
            return str(value)
        if isinstance(value, str) and value.lstrip("-").isdigit():
            return value
        return None
    if isinstance(value, (int, float, str)):
        return quote(str(value))
    return None


def _field_name(row: StripeObject, path: tuple[str, ...]) -> str | None:
    if not path or path[0] not in row.search_fields:
        return None
    if path[0] == "metadata":
        return f"metadata[{quote(path[1])}]" if len(path) == 2 else None
    return path[0] if len(path) == 1 else None


def _clauses(row: StripeObject, cond: Condition, field_type: Any) -> list[str] | None:
    name = _field_name(row, cond.field)
    if name is None:
        return None
    numeric = bool(field_type and cond.field[0] != "metadata"
                   and field_type(cond.field) in _NUMERIC)
    if cond.op == "one of":
        if not isinstance(cond.value, (list, tuple)) or not cond.value:
            return None
        found = []
        for item in cond.value:
            literal = _literal(item, numeric)
            if literal is None:
                return None
            found.append(f"{name}:{literal}")
        return found
    if cond.op in _RANGE:
        literal = _literal(cond.value, True)
        return [f"{name}{cond.op}{literal}"] if numeric and literal is not None else None
    literal = _literal(cond.value, numeric)
    if literal is None:
        return None
    if cond.op == "is":
        return [f"{name}:{literal}"]
    if cond.op == "is not":
        return [f"-{name}:{literal}"]
    if cond.op in ("contains", "does not contain"):
        text = to_stripe(cond.value)
        if numeric or not isinstance(text, str) or len(text) < MIN_SUBSTRING \
                or cond.field[0] not in SUBSTRING_FIELDS.get(row.noun, ()):
            return None
        # Stripe negates any clause with a leading "-", substring matches too.
        return [f"{'-' if cond.op == 'does not contain' else ''}{name}~{literal}"]
    return None


def search_query(row: StripeObject, where: Filter, field_type: Any = None) -> str | None:
    """``where`` in Stripe's search syntax, or None when it cannot be said there.

    Stripe joins clauses with AND or with OR, never both and without parentheses, so a
    filter mixing them (or ``one of`` inside an AND) is not searchable.
    """
    if isinstance(where, Condition):
        items: tuple[Filter, ...] = (where,)
        joiner = "OR" if where.op == "one of" else "AND"
    elif isinstance(where, (And, Or)):
        items = where.items
        joiner = "AND" if isinstance(where, And) else "OR"
    else:
        return None
    clauses: list[str] = []
    for item in items:
        if not isinstance(item, Condition):
            return None
        found = _clauses(row, item, field_type)
        if found is None or (len(found) > 1 and joiner == "AND"):
            return None
        clauses.extend(found)
    if not clauses or len(clauses) > MAX_SEARCH_CLAUSES:
        return None
    return f" {joiner} ".join(clauses)


# ---------------------------------------------------------------------- client side


def _lookup(data: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = data
    for part in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    if isinstance(value, Mapping) and "id" in value and "object" in value:
        # An expanded object compares as its id, as it would unexpanded.
        return value["id"]
    return value


def _same(actual: Any, wanted: Any) -> bool:
    wanted = to_stripe(wanted)
    if isinstance(actual, bool):
        if isinstance(wanted, str):
            return wanted.lower() == str(actual).lower()
        return wanted is actual
    if isinstance(actual, str) and isinstance(wanted, str):
        # As Stripe's search compares text, so a search and its client-side stand-in
        # (used after writes) agree.
        return actual.casefold() == wanted.casefold()
    if isinstance(actual, int) and isinstance(wanted, str):
        try:
            return actual == int(wanted)
        except ValueError:
            return False
    return bool(actual == wanted)


def _number(value: Any) -> float | None:
    value = to_stripe(value)
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        return None


def matches(data: Mapping[str, Any], where: Filter | None) -> bool:
    """Whether a record's data satisfies ``where`` (checked here, in the client).

    Text comparisons ignore case, as Stripe's search does; numbers, booleans and ids given
    as text compare by value.
    """
    if where is None:
        return True
    if isinstance(where, And):
        return all(matches(data, item) for item in where.items)
    if isinstance(where, Or):
        return any(matches(data, item) for item in where.items)
    actual = _lookup(data, where.field)
    op, wanted = where.op, where.value
    if op == "is":
        return _same(actual, wanted)
    if op == "is not":
        return not _same(actual, wanted)
    if op == "one of":
        return any(_same(actual, item) for item in (wanted or ()))
    if op in _NEGATED:
        # As Stripe's negated search clause: every record the comparison does not hold for,
        # those without the field included.
        return not matches(data, Condition(where.field, _NEGATED[op], wanted))
    if op in ("contains", "starts with", "ends with"):
        if actual is None:
            return False
        if isinstance(actual, list):
            return any(_same(item, wanted) for item in actual)
        text, part = str(actual).casefold(), str(to_stripe(wanted)).casefold()
        if op == "contains":
            return part in text
        return text.startswith(part) if op == "starts with" else text.endswith(part)
    if op in _RANGE:
        left, right = _number(actual), _number(wanted)
        if left is None or right is None:
            return False
        return {">": left > right, "<": left < right, ">=": left >= right,
                "<=": left <= right}[op]
    raise ValueError(f"unknown comparison {op!r}")


def describe(where: Filter | None) -> str:
    """``where`` in words, for "no customer in Stripe has email ..." messages."""
    if where is None:
        return ""
    if isinstance(where, (And, Or)):
        joiner = " and " if isinstance(where, And) else " or "
        return joiner.join(describe(item) for item in where.items)
    field = "'s ".join(where.field)
    value = where.value
    if isinstance(value, (datetime.date, datetime.datetime)):
        shown = value.isoformat()
    elif isinstance(value, str):
        shown = '"' + value + '"'
    elif isinstance(value, (list, tuple)):
        shown = ", ".join(f'"{v}"' if isinstance(v, str) else str(v) for v in value)
    else:
        shown = str(to_stripe(value)).lower() if isinstance(value, bool) else str(
            to_stripe(value))
    op = "" if where.op == "is" else f"{where.op} "
    return f"{field} {op}{shown}"
