"""The Stripe Pay book: customers, products, prices, invoices and invoice items in plain
English, through Stripe's official SDK.

This module is the book's entry point (group ``kognitos_books``, name ``stripe_pay``). It
stays cheap to import: ``kbooks --help`` and ``kbooks books`` load it, and neither may
import ``stripe``. Everything heavy (the SDK, schemas, the client) is imported inside the
hooks that need it.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from kognitos_books import (
    Book,
    BookError,
    Call,
    ConfigurationError,
    Connection,
    Credential,
    Endpoint,
    Event,
    Field,
    Noun,
    Plan,
    PlannedRequest,
    Problem,
    Record,
    Secret,
    Setting,
    Trigger,
    hookimpl,
)

from . import __version__, objects
from .objects import Operation, StripeObject

if TYPE_CHECKING:
    import argparse

    from .client import StripeSession
    from .query import Strategy

NAME = "stripe_pay"
KEY_PATTERN = r"^(sk|rk)_(test|live)_[A-Za-z0-9]+$"
KEY_HINT = "starts with sk_test_, sk_live_, rk_test_ or rk_live_"
DEFAULT_API_BASE = "https://api.stripe.com"
#: Inputs that name a record of another noun (``the customer is "cus_..."``,
#: ``the payment method is "pm_..."``): one for each noun, by its name.
_REFERENCE_FIELDS = {row.noun.replace(" ", "_"): row.noun for row in objects.OBJECTS}
#: How often the SDK itself sends a failed request again (client.MAX_NETWORK_RETRIES; kept
#: here as text so that describing the book does not import the SDK).
DEFAULT_MAX_NETWORK_RETRIES = "2"
#: Stripe's limits on text: most strings, and metadata keys, values and their number.
MAX_TEXT = 5000
MAX_METADATA_KEY = 40
MAX_METADATA_VALUE = 500
MAX_METADATA_KEYS = 50


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


# ---------------------------------------------------------------------- describing


@hookimpl
def describe_book() -> Book:
    """Who the book is: ``stripe`` in automations, one API key, one optional base URL."""
    return Book(
        name=NAME,
        title="Stripe Pay",
        target="stripe",
        version=__version__,
        credentials=(
            Credential(
                "api_key", "Stripe API key", secret=True, pattern=KEY_PATTERN,
                pattern_hint=KEY_HINT,
                help="find it in the Stripe dashboard under Developers > API keys; a test "
                     "key (sk_test_...) acts only on test data",
            ),
        ),
        settings=(
            Setting("api_base", "Stripe API base URL", default=DEFAULT_API_BASE,
                    help="where requests go: Stripe itself, or a local sandbox's URL "
                         "(kbooks sandbox prints it)"),
            Setting("max_network_retries", "Retries of a failed request by the SDK",
                    default=DEFAULT_MAX_NETWORK_RETRIES,
                    help="how often the SDK sends a request again after a network error, "
                         "409 or 5xx (and waits out a 429), with the same idempotency key; "
                         "0 leaves every retry to the host's (kbooks run --retries)"),
        ),
        nouns=tuple(
            Noun(name=row.noun, plural=row.plural, verbs=row.verbs, id_prefix=row.id_prefix,
                 aliases=row.aliases, parent=row.parent, relations=row.relations,
                 amount=row.amount, actions=tuple(a.declared() for a in row.actions),
                 moves_money=row.moves_money, help=row.help, refusals=row.refusals)
            for row in objects.OBJECTS
        ),
        help="Customers, products, prices and invoices in Stripe.",
    )


@hookimpl
def describe_inputs(noun: str, verb: str) -> tuple[Field, ...]:
    """Inputs from the SDK's ``stripe.params`` TypedDicts; for ``get``, the fields a
    ``whose`` condition may name (the resource's fields, plus filter-only ones such as an
    invoice item's ``pending``)."""
    from . import schema

    row = objects.find(noun)
    if verb == "get":
        returned = schema.returned(row)
        known = {field.name for field in returned}
        extra = tuple(Field(spec.field, _list_filter_type(row, spec.param))
                      for spec in row.list_filters if spec.field not in known)
        return returned + extra
    if verb == "delete" and row.delete_refusal:
        return ()
    return schema.accepted(row, verb)


def _list_filter_type(row: StripeObject, param: str) -> Any:
    from . import schema

    listed = {f.name: f for f in schema.accepted(row, "list")}
    found = listed.get(param)
    return found.type if found else "string"


# ---------------------------------------------------------------------- connecting


@hookimpl
def connect(credentials: Mapping[str, Secret], settings: Mapping[str, str],
            verify: bool) -> Connection:
    """Build the SDK client for ``api_base``; with ``verify``, check the key with one
    request (at install time)."""
    from urllib.parse import urlsplit

    from .client import StripeSession

    api_base = (settings.get("api_base") or DEFAULT_API_BASE).rstrip("/")
    try:
        parts = urlsplit(api_base)
        url = parts.scheme in ("https", "http") and bool(parts.hostname) and (
            parts.port is None or parts.port > 0)  # .port raises past 65535
    except ValueError:  # an unclosed [ of an IPv6 address, a port that is not a number
        url = False
    if not url:
        raise ConfigurationError(f"api_base {api_base!r} is not an http(s) URL",
                                 hint=f"use {DEFAULT_API_BASE}, or the sandbox's URL")
    raw = str(settings.get("max_network_retries") or DEFAULT_MAX_NETWORK_RETRIES).strip()
    if not raw.isdigit() or int(raw) > 10:
        raise ConfigurationError(f"max_network_retries {raw!r} is not a whole number from 0 "
                                 "to 10", hint=f"the default is {DEFAULT_MAX_NETWORK_RETRIES}")
    session = StripeSession(credentials["api_key"], api_base, max_network_retries=int(raw))
    if verify:
        session.verify()
    return Connection(mode=session.mode, client=session)


# ---------------------------------------------------------------------- checking


def _id_problem(row: StripeObject, value: Any, field: str) -> Problem | None:
    """Why ``value`` cannot be an id of ``row``'s noun, judged by its prefix alone."""
    from . import schema

    if not isinstance(value, str):
        return None
    kind = objects.kind_of_id(value)
    if kind == row.noun or value.startswith(row.also_prefixes):
        return None
    starts = f"({row.noun} ids start with {row.id_prefix})"
    if kind is not None:
        return Problem(f"{value} is {_article(kind)} {kind} id, not {_article(row.noun)} "
                       f"{row.noun} id {starts}", field=field)
    if schema.accepts_custom_id(row):
        # Products may be created with an id of one's own choosing, with any prefix.
        return None
    return Problem(f"{value} is not {_article(row.noun)} {row.noun} id {starts}",
                   field=field)


@hookimpl
def check_call(call: Call) -> list[Problem]:
    """Refuse, before any request, what Stripe would refuse for sure: an id of another
    kind (``sub_...`` for an invoice), a reference field naming the wrong kind of record,
    deleting a price."""
    from .query import conditions

    row = objects.find(call.noun)
    problems: list[Problem | None] = []
    if call.verb == "delete" and row.delete_refusal:
        problems.append(Problem(row.delete_refusal, hint=row.delete_hint))
    if call.id is not None:
        problems.append(_id_problem(row, call.id, "id"))
    if call.verb == "add" and row.parent and call.target_id is not None:
        problems.append(_id_problem(objects.find(row.parent), call.target_id, row.parent))
    for key, value in call.fields.items():
        if key in _REFERENCE_FIELDS:
            problems.append(_id_problem(objects.find(_REFERENCE_FIELDS[key]), value, key))
    problems.extend(_text_problems(call.fields))
    problems.extend(_id_list_problems(row, call))
    problems.extend(_requirement_problems(row, call))
    conds = conditions(call.where) if call.where is not None else None
    if call.verb == "get":
        problems.append(_parent_problem(row, conds))
    for cond in conds or ():
        if cond.op != "is" or len(cond.field) != 1:
            continue
        name = cond.field[0]
        if name == "id":
            problems.append(_id_problem(row, cond.value, "id"))
        elif name in _REFERENCE_FIELDS:
            problems.append(_id_problem(objects.find(_REFERENCE_FIELDS[name]), cond.value,
                                        name))
    return [p for p in problems if p is not None]


def _parent_problem(row: StripeObject, conds: list[Any] | None) -> Problem | None:
    """A get of records Stripe keeps under a parent (a customer's balance transactions)
    must say whose: their paths start with the parent's id."""
    parent = row.operation("list").path_parent if "get" in row.duties else None
    if parent is None or any(cond.op == "is" and cond.field == (parent,)
                             for cond in conds or ()):
        return None
    return Problem(f"Stripe finds {row.plural} only through their {row.parent}: say whose "
                   f"{row.parent} it is", hint=f"get all {row.plural} for the {row.parent}")


def _id_list_problems(row: StripeObject, call: Call) -> list[Problem]:
    """Ids of the wrong kind in a list of ids (a customer's among an invoice's discounts)."""
    found = []
    for listed in row.id_lists:
        value = call.fields.get(listed.field)
        for one in value if isinstance(value, list) else ():
            kind = objects.kind_of_id(one) if isinstance(one, str) else None
            if kind is not None and not one.startswith(tuple(p for p, _ in listed.keys)):
                names = [listed.default] + [key for _, key in listed.keys]
                said = ", ".join(name.replace("_", " ") for name in names[:-1])
                found.append(Problem(
                    f"{one} is {_article(kind)} {kind} id; the {listed.field} of "
                    f"{_article(row.noun)} {row.noun} are each a {said} or "
                    f"{names[-1].replace('_', ' ')} id", field=listed.field))
    return found


def _requirement_problems(row: StripeObject, call: Call) -> list[Problem]:
    """Inputs Stripe needs although its params types mark them optional (see
    :class:`~stripe_pay.objects.Requirement`)."""
    operation = "create" if call.verb == "add" else call.verb
    given = set(call.fields)
    if call.verb == "add" and row.parent:
        given.add(row.parent)
    found = []
    for requirement in row.requirements:
        if requirement.operation != operation:
            continue
        missing = requirement.missing(given)
        if missing is None:
            continue
        why = (f" when the {requirement.when[0].replace('_', ' ')} is given"
               if requirement.when else "")
        others = [name.replace("_", " ") for name in requirement.any_of[1:]]
        found.append(Problem(
            f'missing required input "{missing}"{why}: Stripe needs it to {call.verb} '
            f"{_article(row.noun)} {row.noun}"
            + (f" (or: {', '.join(others)})" if others else ""),
            hint=f"add a line under the command: the {missing.replace('_', ' ')} is ..."))
    return found


def _text_problems(fields: Mapping[str, Any], path: tuple[str, ...] = ()) -> list[Problem]:
    """Text Stripe refuses for its length, and metadata that is not one level of text."""
    found: list[Problem] = []
    for key, value in fields.items():
        here = (*path, key)
        if key == "metadata" and isinstance(value, Mapping):
            found.extend(_metadata_problems(value, here))
        elif isinstance(value, Mapping):
            found.extend(_text_problems(value, here))
        elif isinstance(value, str) and len(value) > MAX_TEXT:
            found.append(Problem(f"{len(value):,} characters is too long; Stripe takes at "
                                 f"most {MAX_TEXT:,}", field=".".join(here)))
    return found


def _metadata_problems(metadata: Mapping[str, Any], path: tuple[str, ...]) -> list[Problem]:
    found: list[Problem] = []
    if len(metadata) > MAX_METADATA_KEYS:
        found.append(Problem(f"{len(metadata)} metadata keys; Stripe takes at most "
                             f"{MAX_METADATA_KEYS}", field=".".join(path)))
    for key, value in metadata.items():
        here = (*path, key)
        if isinstance(value, Mapping):
            deeper = here
            while isinstance(value, Mapping) and value:  # point at the line that says it
                name, value = next(iter(value.items()))
                deeper = (*deeper, name)
            found.append(Problem(f'a metadata value is text: "{key}" cannot have fields',
                                 field=".".join(deeper)))
        elif len(key) > MAX_METADATA_KEY:
            found.append(Problem(f'the metadata key "{key}" is {len(key)} characters long; '
                                 f"Stripe takes at most {MAX_METADATA_KEY}",
                                 field=".".join(here)))
        elif isinstance(value, str) and len(value) > MAX_METADATA_VALUE:
            found.append(Problem(f"{len(value):,} characters is too long for a metadata value;"
                                 f" Stripe takes at most {MAX_METADATA_VALUE}",
                                 field=".".join(here)))
    return found


# ---------------------------------------------------------------------- planning


def _field_type(row: StripeObject) -> Callable[[tuple[str, ...]], str | None]:
    def field_type(path: tuple[str, ...]) -> str | None:
        from . import schema  # (only when a type is asked for: a get may need none)

        found = schema.returned_field(row, path)
        return found.type if found else None

    return field_type


def _strategy(row: StripeObject, call: Call, session: StripeSession | None) -> Strategy:
    from .query import choose

    written = session is not None and row.noun in session.written
    return choose(row, call, recently_written=written, field_type=_field_type(row))


def _params(row: StripeObject, operation: str, call: Call) -> dict[str, Any]:
    from .values import nest

    return row.with_defaults(operation, nest(call.fields))


@hookimpl
def plan_call(call: Call, connection: Connection | None) -> Plan:
    """The requests ``call`` would send and why, without sending anything.

    With an open ``connection``, a ``get`` after writes of the same noun plans a list with a
    client-side filter instead of a search (search lags writes); a dry run has no
    connection and plans as if nothing had been written.
    """
    from .values import form

    row = objects.find(call.noun)
    session = connection.client if connection is not None else None
    if call.verb == "get":
        strategy = _strategy(row, call, session)
        return Plan(strategy.name, strategy.requests(row))
    if call.verb == "delete" and row.delete_refusal:
        return Plan(f"refused: {row.delete_refusal}", ())
    key = f"Idempotency-Key {call.idempotency_key}" if call.idempotency_key else ""
    target = _parent_of(row, call)
    if target is not None:
        parent = objects.find(row.parent or "")
        params = _params(row, "create", call)
        params[row.parent or ""] = target
        needs = row.parent == "invoice" and _needs_parent(session, params, target)
        if session is not None and row.parent == "invoice":
            _fill(session, params, target)
        create = row.operation("create")
        parent_id, sent = create.split(params)
        post = PlannedRequest("POST", create.url_path(None, parent_id), form(sent), key)
        if not needs:
            return Plan("add", (post,))
        get = PlannedRequest("GET", parent.operation("retrieve").url_path(target),
                             note=f"learn the {row.parent}'s customer and currency, unless "
                                  f"this connection has already seen the {row.parent}")
        return Plan("add", (get, post))
    op, ids, params = _request(row, call)
    parent_id, params = op.split(params)
    path = op.url_path(ids[0] if ids else None, parent_id)
    return Plan(call.verb, (PlannedRequest(op.http, path, form(params), key),))


def _request(row: StripeObject, call: Call) -> tuple[Operation, tuple[str, ...],
                                                     dict[str, Any]]:
    """The operation ``call`` sends, the ids in its path and its parameters: the record
    acted on goes in the path, or (a refund of a charge) in the operation's ``id_param``."""
    op = row.operation(call.verb)
    params = _params(row, call.verb, call)
    ids: tuple[str, ...] = ()
    if call.id is not None and "{id}" in op.path:
        ids = (call.id,)
    elif call.id is not None and op.id_param:
        params[op.id_param] = call.id
    return op, ids, params


# ---------------------------------------------------------------------- fetching


@attrs.frozen
class Records:
    """Every record a ``get`` matches, fetched page by page as it is iterated.

    Iterating again asks Stripe again, so a list reused later in a run is fresh.
    """

    produce: Callable[[], Iterator[Record]] = attrs.field(repr=False)
    description: str = ""

    def __iter__(self) -> Iterator[Record]:
        return self.produce()

    def __repr__(self) -> str:
        return f"Records({self.description})"


def _nothing(row: StripeObject, call: Call) -> BookError:
    from .query import describe

    if call.where is None:
        return BookError(f"there is no {row.noun} in Stripe yet")
    return BookError(f"no {row.noun} in Stripe has {describe(call.where)}")


@hookimpl
def get(connection: Connection, call: Call) -> Record | Iterable[Record]:
    """One record (the newest match) or, with ``call.many``, a lazy iterable of all.

    The strategy is :func:`stripe_pay.query.choose`'s: retrieve by id, an exact list
    filter, the Search API, or a list filtered here.
    """
    from .query import matches

    session: StripeSession = connection.client
    row = objects.find(call.noun)
    strategy = _strategy(row, call, session)
    if strategy.operation == "retrieve":
        record = session.record(row, session.send(row, "retrieve", strategy.record_id))
        if record.get("deleted"):
            raise BookError(f"the {row.noun} {record.id} has been deleted")
        if not matches(record.data, strategy.residual):
            raise _nothing(row, call)
        return Records(lambda: iter([record]), record.id or "") if call.many else record

    def produce() -> Generator[Record, None, None]:
        page = session.send(row, strategy.operation, params=strategy.params)
        for obj in session.each(page):
            record = session.record(row, obj)
            if matches(record.data, strategy.residual):
                yield record

    if call.many:
        return Records(produce, f"{row.plural} by {strategy.name}")
    found = produce()
    try:
        first = next(found, None)
    finally:
        found.close()
    if first is None:
        raise _nothing(row, call)
    return first


# ---------------------------------------------------------------------- writing


_DRAFT_ONLY = {
    "delete": "only a draft invoice can be deleted; void it instead: void the invoice",
    "add": "items can be added only to a draft invoice; create a new invoice",
}
#: Stripe's codes for a change an invoice no longer takes (its messages speak of drafts)
_STATE_CODES = ("invoice_not_editable", "invoice_already_finalized")
_OTHER_CURRENCY = ("an invoice's items are in its currency: give the item the invoice's "
                   "currency, or add it to an invoice in the item's currency")


def _refusal_hint(verb: str, noun: str) -> Callable[[BookError], str | None]:
    """Advice for what Stripe refuses about an invoice: its state, or (adding an item) its
    currency. Other refusals (a missing amount, another customer's invoice) get none."""

    def hint(error: BookError) -> str | None:
        if error.status != 400 or error.code == "resource_missing":
            return None
        # Stripe gives these refusals no code of their own; their words tell them apart.
        words = error.message.lower()
        if verb == "add" and error.param == "currency" and "invoice" in words:
            return _OTHER_CURRENCY
        about_state = error.code in _STATE_CODES or "draft" in words or "finalized" in words
        if about_state and (verb == "add" or (noun == "invoice" and verb == "delete")):
            return _DRAFT_ONLY[verb]
        return None

    return hint


def _refuse_if_finalized(session: StripeSession, invoice_id: str, verb: str) -> None:
    """Refuse, without a request, what only a draft allows on an invoice this connection
    has already seen leave draft."""
    status = session.finalized_invoices.get(invoice_id)
    if status is not None:
        raise BookError(f"the invoice {invoice_id} is {status}, not a draft",
                        hint=_DRAFT_ONLY[verb])


def _wrote(session: StripeSession, row: StripeObject) -> None:
    # Changing an invoice item changes its invoice's totals too, as search would see them.
    session.wrote(row.noun, *((row.parent,) if row.parent else ()))


def _write(connection: Connection, call: Call, operation: str, *ids: str) -> Record:
    """Send ``call``'s inputs with ``operation``, noting the write (search lags writes)."""
    session: StripeSession = connection.client
    row = objects.find(call.noun)
    obj = session.send(row, operation, *ids, params=_params(row, operation, call),
                       idempotency_key=call.idempotency_key)
    _wrote(session, row)
    return session.record(row, obj)


@hookimpl
def create(connection: Connection, call: Call) -> Record:
    """``POST /v1/<objects>`` with the inputs (and the noun's defaults: an invoice is
    ``send_invoice`` due in 30 days unless told otherwise). An invoice item created with
    its invoice named is added to it (see :func:`act`)."""
    if _parent_of(objects.find(call.noun), call) is not None:
        return _add(connection.client, objects.find(call.noun), call)
    return _write(connection, call, "create")


@hookimpl
def update(connection: Connection, call: Call) -> Record:
    """``POST /v1/<objects>/{id}`` with the changed fields."""
    assert call.id is not None  # the host names the record for every update
    return _write(connection, call, "update", call.id)


@hookimpl
def delete(connection: Connection, call: Call) -> Record:
    """``DELETE /v1/<objects>/{id}``; the record returned has ``deleted: true``."""
    session: StripeSession = connection.client
    row = objects.find(call.noun)
    if row.delete_refusal:
        raise BookError(row.delete_refusal, hint=row.delete_hint)
    if row.noun == "invoice" and call.id:
        _refuse_if_finalized(session, call.id, "delete")
    obj = session.send(row, "delete", call.id, idempotency_key=call.idempotency_key,
                       hint=_refusal_hint("delete", row.noun))
    _wrote(session, row)
    return session.record(row, obj)


@hookimpl
def act(connection: Connection, call: Call) -> Record:
    """One of the row's declared actions (:data:`stripe_pay.objects.OBJECTS`), one request:
    an invoice's ``send``, ``finalize``, ``pay`` (out of band unless a payment method is
    named), ``void`` or ``mark_uncollectible``; or ``add`` an item to the invoice
    ``call.target_id``, which, when the item's customer is not named, first looks up the
    invoice's customer unless this connection has already seen the invoice."""
    session: StripeSession = connection.client
    row = objects.find(call.noun)
    if call.verb == "add":
        return _add(session, row, call)
    op, ids, params = _request(row, call)
    obj = session.send(row, call.verb, *ids, params=params,
                       idempotency_key=call.idempotency_key,
                       hint=_refusal_hint(call.verb, row.noun))
    _wrote(session, row)
    action = row.action(call.verb)
    returned = objects.find(action.returns) if action and action.returns else row
    if returned is not row:
        _wrote(session, returned)
    return session.record(returned, obj)


def _parent_of(row: StripeObject, call: Call) -> str | None:
    """The parent (an invoice) a call adds a record to: the target of ``add``, or the
    parent named among a create's inputs."""
    if not row.parent:
        return None
    if call.verb == "add":
        return call.target_id or call.id
    named = call.fields.get(row.parent) if call.verb == "create" else None
    return named if isinstance(named, str) else None


def _needs_parent(session: StripeSession | None, params: Mapping[str, Any],
                  target: str) -> bool:
    """Whether adding needs the parent fetched first: to learn its customer, or its
    currency for an amount given without one, unless this connection has seen it."""
    wants_customer = "customer" not in params and "customer_account" not in params
    wants_currency = _wants_currency(params)
    if not (wants_customer or wants_currency):
        return False
    if session is None:
        return True
    return ((wants_customer and target not in session.invoice_customers)
            or (wants_currency and target not in session.invoice_currencies))


def _wants_currency(params: Mapping[str, Any]) -> bool:
    return "amount" in params and "currency" not in params and not any(
        name in params for name in ("price", "pricing", "price_data"))


def _fill(session: StripeSession, params: dict[str, Any], target: str) -> None:
    """Take what an item added to ``target`` leaves out from the invoice, as seen: its
    customer, and its currency for an amount (an item is in its invoice's currency)."""
    if ("customer" not in params and "customer_account" not in params
            and target in session.invoice_customers):
        params["customer"] = session.invoice_customers[target]
    if _wants_currency(params) and target in session.invoice_currencies:
        params["currency"] = session.invoice_currencies[target]


def _add(session: StripeSession, row: StripeObject, call: Call) -> Record:
    if not row.parent:
        raise BookError(f"{_article(row.noun)} {row.noun} is not added to anything")
    parent = objects.find(row.parent)
    target = _parent_of(row, call)
    if target is None:
        raise BookError(f"no {row.parent} to add the {row.noun} to")
    params = _params(row, "create", call)
    params[row.parent] = target
    if row.parent == "invoice":  # (an invoice item takes its customer and currency from it)
        _refuse_if_finalized(session, target, "add")
        if _needs_parent(session, params, target):
            session.record(parent, session.send(parent, "retrieve", target))
            _refuse_if_finalized(session, target, "add")
        _fill(session, params, target)
    obj = session.send(row, "create", params=params, idempotency_key=call.idempotency_key,
                       hint=_refusal_hint("add", row.noun))
    _wrote(session, row)
    return session.record(row, obj)


# ---------------------------------------------------------------------- events


@hookimpl
def describe_triggers() -> tuple[Trigger, ...]:
    """Every Stripe event type on one of the book's nouns (:mod:`stripe_pay.events`)."""
    from . import events

    return events.triggers()


@hookimpl
def verify_event(connection: Connection, headers: Mapping[str, str], body: bytes,
                 secret: Secret) -> Event:
    """A delivery's ``Stripe-Signature`` checked by the SDK, then its event read."""
    from . import webhooks

    return webhooks.verify(connection, headers, body, secret)


@hookimpl
def list_events(connection: Connection, after: Event | None, types: tuple[str, ...]
                ) -> Iterable[Event]:
    """``GET /v1/events`` after ``after``, oldest first, page by page."""
    from . import events

    return events.listed(connection.client, after, types)


@hookimpl
def ensure_endpoint(connection: Connection, url: str, types: tuple[str, ...]) -> Endpoint:
    """The account's one webhook endpoint for ``url``, made or changed to send ``types``."""
    from . import webhooks

    return webhooks.ensure(connection, url, types)


@hookimpl
def remove_endpoint(connection: Connection, url: str) -> bool:
    """Delete the account's webhook endpoint for ``url``."""
    from . import webhooks

    return webhooks.remove(connection, url)


# ---------------------------------------------------------------------- commands


def _configure_sandbox(parser: argparse.ArgumentParser) -> None:
    from .sandbox import cli

    cli.configure(parser)


def _run_sandbox(args: argparse.Namespace) -> int:
    from .sandbox import cli

    return cli.run(args)


@hookimpl
def register_commands(register: Callable[..., Any]) -> None:
    """``kbooks sandbox``: run the local Stripe-compatible server."""
    register("sandbox", help="run a local Stripe-compatible server to try automations on",
             configure=_configure_sandbox, run=_run_sandbox)
