"""Data shared by the host and its books.

Everything here is a small attrs class. Books build ``Book``, ``Noun``, ``Field``,
``Credential`` and ``Record`` values; the host builds ``Call`` and ``Filter`` values and
hands them to books. Errors carry what a person needs to fix the problem.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any, Literal

import attrs

__all__ = [
    "And",
    "Book",
    "BookError",
    "Call",
    "Condition",
    "ConfigurationError",
    "Connection",
    "Credential",
    "CredentialsRejected",
    "DeliveryRejected",
    "Endpoint",
    "Event",
    "Field",
    "Filter",
    "InvalidCall",
    "KbooksError",
    "NotConnected",
    "Noun",
    "Or",
    "Plan",
    "PlannedRequest",
    "Problem",
    "Procedure",
    "Record",
    "Refusal",
    "Relation",
    "Secret",
    "RECORD_DUTIES",
    "Action",
    "Setting",
    "Trigger",
    "UnknownProcedure",
    "mask",
]

#: The duties every book may take on for a noun, each its own hook. ``add`` (a record
#: added to its parent, an item to an invoice) and every other verb a book declares are
#: actions, carried out by the ``act`` hook.
RECORD_DUTIES: tuple[str, ...] = ("get", "create", "update", "delete")

_PREFIX = re.compile(r"^[A-Za-z]{1,6}_(?:[A-Za-z]{1,6}_)?")


def mask(value: str) -> str:
    """Show a secret safely: its kind prefix and last four characters, ``sk_test_…4242``.

    Short values are hidden entirely; nothing in between ever shows.
    """
    if not value:
        return ""
    prefix_match = _PREFIX.match(value)
    prefix = prefix_match.group(0) if prefix_match else ""
    rest = value[len(prefix) :]
    if len(rest) < 12:
        return f"{prefix}…"
    return f"{prefix}…{rest[-4:]}"


@attrs.frozen(repr=False, eq=False)
class Secret:
    """A credential value that never shows itself in ``repr``, ``str`` or f-strings.

    Call :meth:`reveal` at the one place the real value is needed (the book's client).
    """

    _value: str = attrs.field(alias="value")

    def reveal(self) -> str:
        return self._value

    @property
    def masked(self) -> str:
        return mask(self._value)

    def __repr__(self) -> str:
        return f"Secret({self.masked!r})"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return format(self.masked, spec)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> Any:
        raise TypeError("secrets cannot be pickled")


# --------------------------------------------------------------------------- errors


class KbooksError(Exception):
    """Base of every error the host and books raise on purpose.

    ``hint`` tells the user what to do next, ideally the exact command.
    """

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message} ({self.hint})"


class ConfigurationError(KbooksError):
    """Something about the installation is wrong: unknown book, broken store, bad setting."""

    exit_code = 2


class NotConnected(ConfigurationError):
    """A procedure was called for a book that has no connection yet."""


class CredentialsRejected(KbooksError):
    """The book's service refused the credentials (or their format is wrong)."""

    exit_code = 1


class UnknownProcedure(KbooksError):
    """No installed book offers a procedure with that name."""

    exit_code = 2


class InvalidCall(KbooksError):
    """A procedure was called with inputs it does not accept; nothing was sent."""

    exit_code = 2


class DeliveryRejected(KbooksError):
    """A delivery of an event failed its verification (no signature, a forged or stale one,
    a body that is not an event); nothing may run for it. The message says why without
    showing the secret."""

    exit_code = 2


@attrs.define(eq=False)
class BookError(KbooksError):
    """A book's service refused or failed a request.

    ``code``, ``param`` and ``request_id`` are the service's own, when it gave them.
    ``retryable`` is the book's word that the failure was passing (the network, a rate
    limit, a server error) and that sending the very same call again, with the same
    idempotency key, is safe and may succeed; the host then retries the step.
    """

    message: str
    code: str | None = None
    param: str | None = None
    request_id: str | None = None
    status: int | None = None
    hint: str | None = None
    retryable: bool = attrs.field(default=False, kw_only=True)
    #: The service answered and refused the request outright (bad input, a missing record,
    #: a declined card): it took no effect, so sending it again after fixing the cause may
    #: carry a new idempotency key. False when the outcome is unknown (the answer was lost,
    #: a server error) or the refusal is passing (``retryable``).
    refused: bool = attrs.field(default=False, kw_only=True)

    def __attrs_post_init__(self) -> None:
        Exception.__init__(self, self.message)

    def __str__(self) -> str:
        extras = [f"{k}={v}" for k, v in (("code", self.code), ("param", self.param),
                                            ("request_id", self.request_id)) if v]
        text = self.message + (f" [{', '.join(extras)}]" if extras else "")
        return text if not self.hint else f"{text} ({self.hint})"


# --------------------------------------------------------------------------- descriptions


@attrs.frozen
class Credential:
    """A value the book needs to connect, asked for when the book is installed.

    ``pattern`` (a regular expression) checks the format before anything is sent;
    ``pattern_hint`` says in words what a valid value looks like.
    """

    name: str
    label: str
    secret: bool = True
    pattern: str | None = None
    pattern_hint: str | None = None
    help: str = ""

    def problem(self, value: str) -> str | None:
        """Why ``value`` is not acceptable, or None when it is."""
        if not value:
            return f"{self.label} is empty"
        if self.pattern and not re.fullmatch(self.pattern, value):
            return f"{self.label} does not look right" + (
                f": {self.pattern_hint}" if self.pattern_hint else ""
            )
        return None


@attrs.frozen
class Setting:
    """A non-secret connection option with a default, e.g. the service's base URL."""

    name: str
    label: str
    default: str
    help: str = ""


FieldType = Literal["string", "integer", "number", "boolean", "timestamp", "object",
                    "list", "any"]


@attrs.frozen
class Field:
    """One input an operation accepts (or one field a record carries).

    ``type`` is coarse on purpose: it is what the language checks values against.
    ``choices`` lists the allowed values of an enumeration; ``children`` the fields of an
    object (e.g. ``address``'s ``city``), ``None`` when any key is allowed (metadata).
    ``signed``: an amount that may be negative (amounts are refused below zero otherwise).
    """

    name: str
    type: FieldType = "string"
    required: bool = False
    choices: tuple[str, ...] = ()
    children: tuple[Field, ...] | None = ()
    help: str = ""
    signed: bool = False

    def child(self, name: str) -> Field | None:
        for field in self.children or ():
            if field.name == name:
                return field
        return None


@attrs.frozen
class Relation:
    """How a record names a record of another noun: an invoice names its customer in its
    ``customer`` field.

    ``get all invoices for the customer`` then selects by that field (``customer is the
    customer's id``), ``create an invoice for the customer`` sets it, and ``the customer's
    invoices`` reads the other way. ``field`` must be a field that ``get`` may name; the
    book should make it a filter its service applies (one request a page).
    """

    noun: str
    field: str


@attrs.frozen
class Action:
    """A verb a book declares for a noun beyond the record duties: sending an invoice,
    refunding a charge, cancelling a subscription.

    ``name`` is the procedure's verb (``mark_uncollectible``, in the id
    ``stripe_pay.invoice.mark_uncollectible``). ``word`` is the English verb an automation
    starts with (``mark``) and ``complement`` what follows ``as`` (``uncollectible``), so
    the command reads ``mark the invoice as uncollectible``. The host asks for a
    confirmation on a live connection before an action that is ``destructive`` (it cannot
    be undone) or ``moves_money``. ``returns`` names the noun of the record the action
    answers with when it is not the noun acted on (refunding a charge returns a refund).
    ``amount`` names the input a sum said before ``of`` fills: ``refund $5.00 of the
    charge`` gives ``amount`` 500 when it is ``"amount"``. ``phrase`` is an English form
    said after the record that names this action rather than the plain verb: ``cancel the
    subscription at the end of the period`` (``phrase`` ``"at the end of the period"``); the
    book gives the inputs it stands for. ``time`` names a time input (``frozen_time``) that
    ``to TIME`` sets (``advance the test clock to 2027-01-01``) and ``by DURATION`` moves
    from the record's own field of that name (``by 1 month``). ``things`` are the words of
    something the action puts on (or takes off) the record, said in the noun's place with
    the record after a preposition: ``apply the coupon "SUMMER25" to the subscription``
    (``things`` ``("coupon", ...)``) acts on the subscription, the id said after the word
    filling ``thing_input``.
    """

    name: str
    word: str = ""
    complement: str | None = None
    destructive: bool = False
    moves_money: bool = False
    returns: str | None = None
    amount: str | None = None
    help: str = ""
    phrase: str | None = None
    time: str | None = None
    things: tuple[str, ...] = ()
    thing_input: str | None = None

    def __attrs_post_init__(self) -> None:
        if not self.word:
            object.__setattr__(self, "word", self.name)

    @property
    def needs_confirmation(self) -> bool:
        """Whether a live connection asks before this action is carried out."""
        return self.destructive or self.moves_money

    def english(self, noun: str) -> str:
        """How an automation says it: ``mark the invoice as uncollectible``."""
        if self.things:
            thing = self.things[0]
            return f"{self.word} the {thing} {'from' if self.thing_input is None else 'to'} " \
                f"the {noun}"
        return (f"{self.word} the {noun}" + (f" as {self.complement}" if self.complement else "")
                + (f" {self.phrase}" if self.phrase else ""))


@attrs.frozen
class Refusal:
    """What an automation may say of a noun that its service cannot do, and why: ``word``
    and ``things`` as an :class:`Action` declares them (``apply the coupon ... to the
    customer``). The check reports ``message`` and ``hint`` where it is written."""

    word: str
    things: tuple[str, ...]
    message: str
    hint: str | None = None


@attrs.frozen
class Noun:
    """A kind of record a book knows: ``customer``, ``invoice``, ...

    ``verbs`` are the record duties it supports (of :data:`RECORD_DUTIES`, and ``add``
    when it has a ``parent``); ``actions`` declare its other verbs (see :class:`Action`).
    ``id_prefix`` lets the host reject an id that belongs to another kind of record before
    sending anything. ``parent`` names the noun this one is added to with ``add`` (an
    invoice item is added to an invoice). ``relations`` name the other nouns its records
    point to (see :class:`Relation`).
    """

    name: str
    plural: str
    verbs: tuple[str, ...]
    id_prefix: str | None = None
    aliases: tuple[str, ...] = ()
    parent: str | None = None
    relations: tuple[Relation, ...] = ()
    #: the field that says how much a record is worth, in its ``currency`` field (an
    #: invoice's amount due): what a preview adds up for the records its writes touch
    amount: str | None = None
    actions: tuple[Action, ...] = ()
    #: record duties that move money (creating a refund or a payout): a live connection
    #: asks before them, as before a destructive action
    moves_money: tuple[str, ...] = ()
    help: str = ""
    #: what it cannot do although other nouns can, and why (see :class:`Refusal`)
    refusals: tuple[Refusal, ...] = ()

    @property
    def every_verb(self) -> tuple[str, ...]:
        """The record duties, then the actions, by procedure verb."""
        return self.verbs + tuple(action.name for action in self.actions)

    def action(self, verb: str) -> Action | None:
        """The declared action ``verb`` (None for a record duty or an unknown verb)."""
        for action in self.actions:
            if action.name == verb:
                return action
        return None

    def action_for(self, word: str, complement: str | None,
                   phrase: str | None = None) -> Action | None:
        """The action an automation names with ``word`` (and ``as complement``, and the
        ``phrase`` after the record)."""
        for action in self.actions:
            if action.word == word and action.complement == complement \
                    and action.phrase == phrase and not action.things:
                return action
        return None

    def action_on(self, word: str, thing: str) -> Action | None:
        """The action that ``word`` the ``thing`` ... (to) the record names."""
        for action in self.actions:
            if action.word == word and thing in action.things:
                return action
        return None

    def refusal(self, word: str, thing: str) -> Refusal | None:
        for refusal in self.refusals:
            if refusal.word == word and thing in refusal.things:
                return refusal
        return None

    def needs_confirmation(self, verb: str) -> bool:
        """Whether ``verb`` asks first on a live connection: ``delete`` always (it cannot
        be undone), a record duty the noun says moves money, an action when its
        declaration says so."""
        if verb == "delete" or verb in self.moves_money:
            return True
        action = self.action(verb)
        return action is not None and action.needs_confirmation

    def relation(self, noun: str) -> Relation | None:
        """The relation to ``noun``, or None when records of this noun do not name one."""
        for relation in self.relations:
            if relation.noun == noun:
                return relation
        return None


@attrs.frozen
class Book:
    """What a book tells the host about itself (see ``describe_book``).

    ``target`` is the word automations use to address it (``in stripe``, ``from stripe``).
    """

    name: str
    title: str
    target: str
    credentials: tuple[Credential, ...]
    nouns: tuple[Noun, ...]
    settings: tuple[Setting, ...] = ()
    version: str = "0"
    help: str = ""

    def noun(self, name: str) -> Noun | None:
        name = name.lower()
        for noun in self.nouns:
            if name in (noun.name, noun.plural, *noun.aliases):
                return noun
        return None


# --------------------------------------------------------------------------- events


@attrs.frozen
class Trigger:
    """An event a book can report, as automations name it (see ``describe_triggers``).

    ``type`` is the service's own name (``invoice.paid``); ``english`` the phrase after
    ``when`` (``an invoice is paid``); ``noun`` the book's noun of the event's object (inside
    the block, ``the invoice``); ``aliases`` other phrases for the same event (``a payment
    fails``); ``help`` one line on when it happens.
    """

    type: str
    english: str
    noun: str
    aliases: tuple[str, ...] = ()
    help: str = ""


@attrs.frozen
class Event:
    """One event a book reported: its id (unique and stable: deliveries of one event share
    it), its ``type`` (a :attr:`Trigger.type`), when it happened (Unix seconds), whether in
    live mode, the object it is about as a :class:`Record` (as it was after the change) and,
    for updates, the previous values of the fields that changed."""

    id: str
    type: str
    created: int
    livemode: bool
    record: Record
    previous: Mapping[str, Any] | None = attrs.field(default=None, repr=False)
    data: Mapping[str, Any] = attrs.field(factory=dict, repr=False, eq=False)


@attrs.frozen
class Endpoint:
    """Where a book's service delivers events: the endpoint's id and URL, the event types
    it is sent, and its signing secret when the service has just shown it (only when
    ``created``; services show a secret once)."""

    id: str
    url: str
    types: tuple[str, ...]
    created: bool = False
    secret: Secret | None = attrs.field(default=None, repr=False)


# --------------------------------------------------------------------------- filters


@attrs.frozen
class Condition:
    """``field op value``; ``field`` is a path (``("metadata", "plan")``).

    ``op`` is one of: ``is``, ``is not``, ``contains``, ``does not contain``,
    ``starts with``, ``does not start with``, ``ends with``, ``does not end with``, ``>``,
    ``<``, ``>=``, ``<=``, ``one of``. Each ``does not`` comparison is the negation of its
    text comparison, so it holds for a record without the field.
    """

    field: tuple[str, ...]
    op: str
    value: Any


@attrs.frozen
class And:
    items: tuple[Filter, ...]


@attrs.frozen
class Or:
    items: tuple[Filter, ...]


Filter = Condition | And | Or


# --------------------------------------------------------------------------- calls


@attrs.frozen
class Connection:
    """A verified link to a book's service, returned by the ``connect`` hook.

    ``client`` is the book's own object (an SDK client); it is not shown in ``repr``.
    ``mode`` is ``"test"`` or ``"live"``; ``account`` names the account when known.
    """

    mode: str
    client: Any = attrs.field(repr=False, eq=False)
    account: str | None = None
    book: str = ""
    name: str = ""
    masked: str = ""
    #: the time zone dates are read in (the connection's ``time_zone`` setting)
    zone: str = "UTC"


@attrs.frozen
class Call:
    """One request to a book, built by the host from a procedure call or a command.

    ``many`` asks ``get`` for every match instead of the first. ``idempotency_key`` is
    stable for one step of one run, so a retried step cannot act twice.
    """

    book: str
    verb: str
    noun: str
    id: str | None = None
    where: Filter | None = None
    fields: Mapping[str, Any] = attrs.field(factory=dict)
    many: bool = False
    idempotency_key: str | None = None
    target_id: str | None = None


@attrs.frozen
class PlannedRequest:
    """One HTTP request a call would send; what ``--dry-run`` shows."""

    method: str
    path: str
    params: Mapping[str, Any] = attrs.field(factory=dict)
    note: str = ""

    def __str__(self) -> str:
        query = "&".join(f"{k}={v}" for k, v in _flatten(self.params))
        return (f"{self.method} {self.path}" + (f" {query}" if query else "")
                + (f"  # {self.note}" if self.note else ""))


def _flatten(params: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Form-style keys, readable: ``metadata[plan]=gold``, ``expand[]=customer``."""
    for key, value in params.items():
        name = f"{prefix}[{key}]" if prefix else str(key)
        if isinstance(value, Mapping):
            yield from _flatten(value, name)
        elif isinstance(value, (list, tuple)):
            for item in value:
                yield f"{name}[]", item
        elif isinstance(value, bool):
            yield name, "true" if value else "false"
        else:
            yield name, value


@attrs.frozen
class Plan:
    """How a book would carry out a call: a strategy in words plus its requests."""

    strategy: str
    requests: tuple[PlannedRequest, ...]


@attrs.frozen
class Problem:
    """Something wrong with a call, found before sending it.

    ``field`` names the input at fault (``"id"`` for the id), so the host can point at it.
    """

    message: str
    field: str | None = None
    hint: str | None = None


@attrs.frozen
class Procedure:
    """A callable duty of a book, named in English and by a stable id.

    ``english`` is how an automation says it (``create a customer in stripe``); ``id`` is
    ``book.noun.verb`` with spaces as underscores (``stripe_pay.customer.create``).
    """

    id: str
    book: str
    verb: str
    noun: str
    english: str
    many: bool = False
    inputs: tuple[Field, ...] = ()


@attrs.frozen
class Record:
    """One object a book returned: its noun, id and data (plain JSON-like values).

    ``text``: the JSON text ``data`` was read from, as the service sent it, when the book
    has it; the run journal keeps it as it is instead of writing ``data`` out again.
    """

    book: str
    noun: str
    id: str | None
    data: Mapping[str, Any] = attrs.field(repr=False)
    text: str | None = attrs.field(default=None, repr=False, eq=False)

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def __iter__(self) -> Iterator[str]:
        return iter(self.data)

    def __repr__(self) -> str:
        return f"Record({self.book}.{self.noun} {self.id})"
