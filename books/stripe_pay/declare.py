"""How the book declares a Stripe resource: a :class:`StripeObject` row, its list
filters, defaults, requirements and actions.

A row names only what the SDK does not know: the SDK service, the id prefix, the English,
which conditions Stripe filters a list or search by, the rules Stripe keeps that its types
do not say. HTTP methods, paths and params types are read from the SDK's service methods
(:mod:`stripe_pay.sdk`), accepted and returned fields from its types
(:mod:`stripe_pay.schema`). The rows themselves live in :mod:`stripe_pay.resources`, one
module per family.

This module imports nothing heavy: ``describe_book`` reads it.
"""

from __future__ import annotations

import copy
import re
from typing import Any, Literal

import attrs

from kognitos_books.model import Action as HostAction
from kognitos_books.model import Refusal, Relation

#: The record duties every object has.
RECORD_VERBS: tuple[str, ...] = ("get", "create", "update", "delete")


@attrs.frozen
class ListFilter:
    """A condition Stripe's list endpoint can apply exactly, server side.

    ``kind`` says which conditions fit: ``exact`` takes ``is``; ``range`` also takes
    ``>``, ``<``, ``>=``, ``<=`` (as ``created[gt]``); ``many`` takes ``is`` and ``one of``
    and sends a list (``ids[]``, ``lookup_keys[]``).
    """

    field: str
    param: str
    kind: Literal["exact", "range", "many"] = "exact"


@attrs.frozen
class Operation:
    """One SDK call: the service method, its HTTP method and path (the record acted on as
    ``{id}``), its params TypedDict; ``id_param`` names the input that carries the record's
    id when the path has none (a refund's ``charge``). ``path_parent`` names the input
    that fills the path's first placeholder when the record lives under a parent record
    (a customer balance transaction's ``customer``): the path's ``{id}`` is then the
    parent's, and the record's own id, if any, fills the next placeholder."""

    method: str
    http: str
    path: str
    params: str
    service: str = ""
    id_param: str | None = None
    params_module: str = ""
    path_parent: str | None = None

    def url_path(self, record_id: str | None = None, parent_id: str | None = None) -> str:
        """The path with the record's id (and its parent's) in place; a placeholder not
        given stays as it is."""
        if self.path_parent is None:
            return self.path.replace("{id}", record_id or "{id}")
        values = [parent_id, record_id]

        def filled(match: re.Match[str]) -> str:
            value = values.pop(0) if values else None
            return value or ("{" + str(self.path_parent) + "}" if match.group(1) == "id"
                             else match.group(0))

        return _PLACEHOLDER.sub(filled, self.path)

    def split(self, params: dict[str, object]) -> tuple[str | None, dict[str, object]]:
        """The parent's id the path takes from ``params``, and the params without it."""
        if self.path_parent is None or self.path_parent not in params:
            return None, params
        rest = dict(params)
        parent = rest.pop(self.path_parent)
        return (parent if isinstance(parent, str) else None), rest


_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@attrs.frozen
class Default:
    """A parameter the book sends for ``operation`` unless the automation says otherwise.

    It is left out when the inputs already set ``field`` or any of ``unless``, or when
    a field named in ``when`` holds another value.
    """

    operation: str
    field: str
    value: object = attrs.field(hash=False)  # (a dict for a nested parameter)
    unless: tuple[str, ...] = ()
    when: tuple[tuple[str, object], ...] = ()

    def applies(self, params: dict[str, object]) -> bool:
        if self.field in params or any(name in params for name in self.unless):
            return False
        return all(params.get(name) == value for name, value in self.when)


@attrs.frozen
class IdList:
    """A list input Stripe takes as objects that each name one record (an invoice's
    ``discounts``: ``[{"coupon": "SUMMER25"}, {"promotion_code": "promo_..."}]``), which
    English gives as a list of ids (``the discounts is the promotion code``): each id becomes
    the object, keyed by what its prefix says it is (``keys``: prefix and key), else by
    ``default`` (coupons have ids of one's own choosing). An object given as one is kept;
    ``the discounts is ""`` removes them all.
    """

    field: str
    keys: tuple[tuple[str, str], ...]
    default: str

    def objects(self, value: Any) -> Any:
        """``value`` with each id in it made the object Stripe takes; a list of nothing but
        empty text is Stripe's ``""``, which removes them all."""
        if not isinstance(value, list):
            return value
        given = [one for one in value if one != ""]
        return [self._object(one) for one in given] if given else ""

    def _object(self, one: Any) -> Any:
        if not isinstance(one, str):
            return one
        key = next((key for prefix, key in self.keys if one.startswith(prefix)), self.default)
        return {key: one}


@attrs.frozen
class Shorthand:
    """Inputs of ``operation`` that stand for the one element of the list parameter
    ``into``: a subscription created ``with the price is ...`` (and ``the quantity is
    ...``) has that one item, ``items[0][price]``. The inputs are the element's own fields;
    given with ``into`` itself, they are refused. ``inner`` is the element's own shorthand
    (a schedule's one phase of one item: ``phases[0][items][0][price]``)."""

    operation: str
    into: str
    fields: tuple[str, ...]
    inner: Shorthand | None = None

    @property
    def names(self) -> tuple[str, ...]:
        """Every input standing for the element, its inner shorthand's too."""
        return self.fields + (self.inner.names if self.inner else ())

    def apply(self, params: dict[str, object]) -> dict[str, object]:
        given = {name: params[name] for name in self.names if name in params}
        if not given or self.into in params:
            return params
        rest = {name: value for name, value in params.items() if name not in given}
        element = self.inner.apply(given) if self.inner else given
        return {**rest, self.into: [element]}


@attrs.frozen
class Requirement:
    """Inputs Stripe needs for ``operation`` although the SDK's params types mark them
    optional (they are needed only in some cases): one of ``any_of`` must be given when
    every field of ``when`` is and none of ``unless`` is. An ``add`` to a parent counts as
    naming the parent (the book takes what it needs from it).
    """

    operation: str
    any_of: tuple[str, ...]
    when: tuple[str, ...] = ()
    unless: tuple[str, ...] = ()

    def missing(self, given: set[str]) -> str | None:
        """The input to ask for when ``given`` (the names of the inputs) falls short."""
        if not all(name in given for name in self.when):
            return None
        if any(name in given for name in self.unless + self.any_of):
            return None
        return self.any_of[0]


@attrs.frozen
class Action(HostAction):
    """A verb beyond the record duties, as the host sees it (its English, whether it is
    destructive or moves money, what it returns), performed by the SDK service method
    ``method``: of the row's own service, or of ``service`` (refunding a charge is the
    refunds service's ``create``, with the charge's id sent as ``id_param``).
    """

    method: str = attrs.field(kw_only=True)
    service: str | None = attrs.field(default=None, kw_only=True)
    id_param: str | None = attrs.field(default=None, kw_only=True)

    @property
    def verb(self) -> str:
        return self.name

    def declared(self) -> HostAction:
        """The action as the host sees it (what the host needs, nothing of the SDK)."""
        return HostAction(**{f.name: getattr(self, f.name) for f in attrs.fields(HostAction)})


@attrs.frozen
class StripeObject:
    """Everything the book knows about one noun.

    ``service`` is the attribute on ``StripeClient.v1`` (dotted when nested:
    ``checkout.sessions``): the SDK's service methods say each operation's request, its
    ``retrieve`` the resource class whose annotations list the returned fields.
    ``duties`` are the record duties Stripe has for it (a dispute is never created nor
    deleted), ``moves_money`` those that move money (creating a refund): a live connection
    asks before them. ``delete_refusal`` says why the object can never be deleted, for a
    noun people would try to delete (None when it can).
    """

    noun: str
    plural: str
    service: str
    id_prefix: str
    list_filters: tuple[ListFilter, ...] = ()
    search_fields: frozenset[str] = frozenset()
    actions: tuple[Action, ...] = ()
    aliases: tuple[str, ...] = ()
    parent: str | None = None
    relations: tuple[Relation, ...] = ()
    requirements: tuple[Requirement, ...] = ()
    #: the field that says what a record is worth (in its currency)
    amount: str | None = None
    delete_refusal: str | None = None
    delete_hint: str | None = None
    defaults: tuple[Default, ...] = ()
    shorthands: tuple[Shorthand, ...] = ()
    duties: tuple[str, ...] = RECORD_VERBS
    moves_money: tuple[str, ...] = ()
    #: prefixes of other ids Stripe takes where this noun's id goes (a card's ``card_``
    #: where a payment method goes)
    also_prefixes: tuple[str, ...] = ()
    #: amount inputs Stripe takes below zero (a customer balance transaction's: negative
    #: credits the customer)
    signed: tuple[str, ...] = ()
    #: list inputs English gives as ids and Stripe takes as objects (see :class:`IdList`)
    id_lists: tuple[IdList, ...] = ()
    #: what English may try that Stripe cannot do for it, and why (the check says so)
    refusals: tuple[Refusal, ...] = ()
    help: str = ""

    @property
    def verbs(self) -> tuple[str, ...]:
        """The record duties the noun has (``add`` when it has a parent)."""
        return self.duties + (("add",) if self.parent else ())

    @property
    def every_verb(self) -> tuple[str, ...]:
        return self.verbs + tuple(a.verb for a in self.actions)

    @property
    def searchable(self) -> bool:
        return bool(self.search_fields)

    def with_defaults(self, operation: str, params: dict[str, object]) -> dict[str, object]:
        """``params`` (with its shorthands spelled out) plus the row's defaults for
        ``operation`` that apply, its id lists made the objects Stripe takes."""
        params = dict(params)
        for shorthand in self.shorthands:
            if shorthand.operation == operation:
                params = shorthand.apply(params)
        for listed in self.id_lists:
            if listed.field in params:
                params[listed.field] = listed.objects(params[listed.field])
        for default in self.defaults:
            if default.operation == operation and default.applies(params):
                params[default.field] = copy.deepcopy(default.value)
        return params

    def list_filter(self, field: str) -> ListFilter | None:
        for found in self.list_filters:
            if found.field == field:
                return found
        return None

    def action(self, verb: str) -> Action | None:
        for found in self.actions:
            if found.verb == verb:
                return found
        return None

    def operation(self, name: str) -> Operation:
        """The SDK call behind ``name``: ``retrieve``, ``list``, ``search``, ``create``,
        ``update``, ``delete``, or one of the row's action verbs; its HTTP method, path and
        params type read from the SDK (which is imported on the first call)."""
        from .sdk import route

        action = self.action(name)
        if action is not None:
            service, method, id_param = action.service or self.service, action.method, \
                action.id_param
        elif name in STANDARD_OPERATIONS:
            service, method, id_param = self.service, name, None
        else:
            raise KeyError(f"{self.noun} has no operation {name!r}")
        found = route(service, method)
        parent = self.parent.replace(" ", "_") if self.parent else None
        path_parent = parent if parent and found.placeholders[:1] == (parent,) else None
        return Operation(method, found.http, found.path, found.params, service, id_param,
                         found.params_module, path_parent)


#: The SDK service methods every row has (``search`` only where Stripe searches)
STANDARD_OPERATIONS = ("retrieve", "list", "search", "create", "update", "delete")
