"""The contract between the host and its books.

A book is a module (or object) registered in the ``kognitos_books`` entry-point group.
It implements some of the hooks below with ``@hookimpl``. The host routes every call to
exactly one book, so an implementation never checks which book is being asked for.

All record duties receive a :class:`~kognitos_books.model.Call`: ``call.noun`` is one of
the book's own noun names, ``call.fields`` holds inputs already checked against
``describe_inputs``, ``call.id`` the record's id when one is named.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import pluggy

from .model import (
    Book,
    Call,
    Connection,
    Endpoint,
    Event,
    Field,
    Plan,
    Problem,
    Record,
    Secret,
    Trigger,
)

hookspec = pluggy.HookspecMarker("kognitos_books")
hookimpl = pluggy.HookimplMarker("kognitos_books")


@hookspec(firstresult=True)
def describe_book() -> Book:
    """Say who the book is: its name (the entry-point name), title, the target word
    automations use (``"stripe"`` in ``create a customer in stripe``), the credentials to
    prompt for at install time, optional settings, and its nouns with their verbs.

    Must be cheap: no network, no heavy imports. Required.
    """


@hookspec(firstresult=True)
def describe_inputs(noun: str, verb: str) -> tuple[Field, ...]:
    """Return the inputs ``verb`` accepts for ``noun`` (``"get"`` returns the fields a
    ``whose`` condition may name). Mark required ones ``required=True``.

    Called only when checking an automation or listing procedures; heavy imports are fine.
    """


@hookspec(firstresult=True)
def connect(credentials: Mapping[str, Secret], settings: Mapping[str, str],
            verify: bool) -> Connection:
    """Return a :class:`Connection` holding a ready client and the mode (``"test"`` or
    ``"live"``, which must be known without a request, e.g. from the key's form).

    With ``verify`` (at install time) check the credentials with one cheap request and
    raise :class:`CredentialsRejected` when the service refuses them, showing the
    credential only masked. Without it (before the first call of a run, the credentials
    having been verified when stored) send nothing: a refused key then shows up as the
    first call's error.
    """


@hookspec(firstresult=True)
def check_call(call: Call) -> list[Problem]:
    """Find what is wrong with ``call`` before anything is sent: an id that belongs to
    another noun, an operation the service never allows (e.g. deleting a price). Return
    an empty list when the call looks fine. Must not send requests.
    """


@hookspec(firstresult=True)
def plan_call(call: Call, connection: Connection | None) -> Plan:
    """Describe, without sending anything, the requests ``call`` would send and the
    strategy chosen (e.g. "list filter", "search", "client-side filter"). Used by
    ``--dry-run`` and by tests that count requests. ``connection`` is the connection the
    call would use when one is already open (what it has seen may change the plan), else
    None: a dry run opens none.
    """


@hookspec(firstresult=True)
def get(connection: Connection, call: Call) -> Record | Iterable[Record]:
    """Fetch records. ``call.id`` names one; otherwise ``call.where`` (a Filter AST or
    None) selects. With ``call.many`` return a lazy iterable of every match (fetch pages
    as they are consumed); without it return the first match (newest first) or raise
    :class:`BookError` when nothing matches.
    """


@hookspec(firstresult=True)
def create(connection: Connection, call: Call) -> Record:
    """Create a ``call.noun`` from ``call.fields`` and return it. Send
    ``call.idempotency_key`` so a retried step creates nothing twice.
    """


@hookspec(firstresult=True)
def update(connection: Connection, call: Call) -> Record:
    """Change the record ``call.id`` with ``call.fields`` and return it."""


@hookspec(firstresult=True)
def delete(connection: Connection, call: Call) -> Record:
    """Delete the record ``call.id`` and return what the service returns for it."""


@hookspec(firstresult=True)
def act(connection: Connection, call: Call) -> Record:
    """Carry out one of the noun's declared actions (``Noun.actions``): ``call.verb`` is
    the action's name, ``call.id`` the record acted on, ``call.fields`` its inputs (from
    ``describe_inputs(noun, verb)``). Also ``add``: add a ``call.noun`` (a noun with a
    ``parent``) with ``call.fields`` to the parent record ``call.target_id``. Send
    ``call.idempotency_key``. Return the record the action answers with (the added record
    for ``add``; for an action, a record of its ``returns`` noun, else of ``call.noun``).
    """


@hookspec(firstresult=True)
def describe_triggers() -> tuple[Trigger, ...]:
    """Return every event the book can report, each with its English phrase (``when an
    invoice is paid``) and the noun of its object. A book without events returns ``()``
    or does not implement the hook.

    Called when checking an automation that has a ``when`` block, or listing events;
    heavy imports are fine (derive the list from the SDK where it knows).
    """


@hookspec(firstresult=True)
def verify_event(connection: Connection, headers: Mapping[str, str], body: bytes,
                 secret: Secret) -> Event:
    """Check that ``body`` (the raw bytes received, not re-encoded) was sent by the service,
    from its signature in ``headers`` (names lower-cased) made with ``secret``, and that it is
    recent; then decode it. Raise :class:`DeliveryRejected` saying why otherwise (never
    showing the secret). Must not send requests.
    """


@hookspec(firstresult=True)
def list_events(connection: Connection, after: Event | None, types: tuple[str, ...]
                ) -> Iterable[Event]:
    """Every event the service still keeps that happened after ``after`` (all it keeps when
    None), only of ``types`` when given, oldest first, fetched lazily page by page. Used to
    catch up after a listener was down and by ``kbooks listen --poll``. An event at the same
    second as ``after`` but not ``after`` itself is included: the host drops those it has.
    """


@hookspec(firstresult=True)
def ensure_endpoint(connection: Connection, url: str, types: tuple[str, ...]) -> Endpoint:
    """Find the service's endpoint that delivers ``types`` to ``url``, or create it when
    there is none (never a second one for the same URL): return it, with its secret when
    just created. An endpoint for ``url`` with other types is changed to send ``types``.
    """


@hookspec(firstresult=True)
def remove_endpoint(connection: Connection, url: str) -> bool:
    """Delete the service's endpoint for ``url``; False when there was none."""


@hookspec
def register_commands(register: Callable[..., Any]) -> None:
    """Add commands to the ``kbooks`` CLI:
    ``register(name, help=..., configure=fn(parser), run=fn(args) -> int)``.
    ``configure`` receives an ``argparse.ArgumentParser``. Keep imports inside ``run``.
    """


#: The hooks whose calls go to exactly one book.
ROUTED_HOOKS: tuple[str, ...] = (
    "describe_book",
    "describe_inputs",
    "connect",
    "check_call",
    "plan_call",
    "get",
    "create",
    "update",
    "delete",
    "act",
    "describe_triggers",
    "verify_event",
    "list_events",
    "ensure_endpoint",
    "remove_endpoint",
)
