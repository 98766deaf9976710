"""Fields derived from the ``stripe`` SDK's own types, never from hand-written lists.

Accepted inputs come from the ``stripe.params`` TypedDicts (``CustomerCreateParams``...):
their keys, which are required, and their value types. Returned fields come from the
annotations of the resource classes (``stripe.Customer``...). Both are computed once per
object and operation.

Imported only when a call or ``describe_inputs`` needs it: it imports ``stripe``.
"""

from __future__ import annotations

import datetime
import decimal
import functools
import sys
import types
import typing
from typing import Any

import stripe
import stripe.params
import typing_extensions

from kognitos_books import Field

from .declare import Shorthand
from .objects import Operation, StripeObject

#: How deep nested objects are described; deeper ones accept any keys.
MAX_DEPTH = 4

#: Keys every params TypedDict inherits from ``RequestOptions``: they configure the
#: request (key, account, idempotency), so automations must never set them as fields.
REQUEST_OPTIONS: frozenset[str] = frozenset(stripe.RequestOptions.__annotations__)

#: Fields that the language may name on an ``add`` but that the book fills in itself.
_TARGET_PARAMS = {"add": ("invoice",)}


def _is_timestamp(name: str) -> bool:
    # Stripe's integer timestamps are not typed apart from other integers; its naming is
    # consistent enough to tell them (created, date, due_date, finalized_at, period_end).
    return name in ("created", "date") or name.endswith(("_at", "_date", "period_start",
                                                          "period_end"))


def _hints(cls: type) -> dict[str, Any]:
    """Resolved annotations of a params TypedDict.

    ``RequestOptions`` (which every params TypedDict extends) names ``StripeContext`` and
    ``Mapping`` only for type checkers, so they are supplied here.
    """
    module = vars(sys.modules[cls.__module__])
    namespace = {"StripeContext": stripe.StripeContext, "Mapping": typing.Mapping, **module}
    return typing.get_type_hints(cls, include_extras=True, localns=namespace)


def _members(tp: Any) -> list[Any]:
    origin = typing.get_origin(tp)
    if origin in (typing.NotRequired, typing.Required, typing_extensions.NotRequired,
                  typing_extensions.Required, typing.Annotated):
        return _members(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        found = []
        for arg in typing.get_args(tp):
            found.extend(_members(arg))
        return found
    return [tp]


def _describe(name: str, tp: Any, depth: int) -> Field:
    """One Field for a value of type ``tp`` (a union, a TypedDict, a resource class...)."""
    members = [m for m in _members(tp) if m is not type(None)]
    literal_strings: list[str] = []
    kinds: list[Field] = []
    has_id_string = False
    for member in members:
        origin = typing.get_origin(member)
        if origin is typing.Literal:
            values = typing.get_args(member)
            if all(isinstance(v, bool) for v in values):
                kinds.append(Field(name, "boolean"))
            else:
                # '' is how Stripe unsets a field; it is not a choice a person makes.
                literal_strings.extend(str(v) for v in values if v != "")
            continue
        if isinstance(member, typing.ForwardRef):
            # An expandable reference: an id string unless expanded.
            kinds.append(Field(name, "object", children=None))
            continue
        if member is str:
            has_id_string = True
        kinds.append(_describe_one(name, member, depth))
    if literal_strings:
        kinds.append(Field(name, "string", choices=tuple(dict.fromkeys(literal_strings))))
    if has_id_string:
        # "str | Customer" is an id that may come back expanded; automations use the id.
        kinds = [k for k in kinds if not (k.type == "object" and k.children is None)] or kinds
    types_found = list(dict.fromkeys(k.type for k in kinds))
    if not kinds:
        return Field(name, "string")
    if len(types_found) == 1:
        # A Literal next to plain str ("Literal['draft', 'open'] | str") keeps its choices.
        choices = tuple(dict.fromkeys(c for k in kinds for c in k.choices))
        described = [k.children for k in kinds if k.children]
        if described:
            children: tuple[Field, ...] | None = described[0]
        else:
            children = None if any(k.children is None for k in kinds) else ()
        return Field(name, types_found[0], choices=choices, children=children)
    return Field(name, "any")


def _describe_one(name: str, tp: Any, depth: int) -> Field:
    origin = typing.get_origin(tp) or tp
    if tp is bool:
        return Field(name, "boolean")
    if tp is int:
        return Field(name, "timestamp" if _is_timestamp(name) else "integer")
    if tp in (float, decimal.Decimal):
        return Field(name, "number")
    if tp is str:
        return Field(name, "string")
    if tp in (datetime.datetime, datetime.date):
        return Field(name, "timestamp")
    if origin in (list, tuple, list) or (
            isinstance(origin, type) and issubclass(origin, stripe.ListObject)):
        return Field(name, "list")
    if origin in (dict, dict) or origin is typing.Mapping:
        return Field(name, "object", children=None)
    if typing_extensions.is_typeddict(tp):
        if depth >= MAX_DEPTH:
            return Field(name, "object", children=None)
        hints = _hints(tp)
        children = tuple(_describe(key, value, depth + 1) for key, value in hints.items())
        return Field(name, "object", children=children)
    if isinstance(origin, type) and issubclass(origin, stripe.StripeObject):
        own = _own_annotations(origin)
        if not own or depth >= MAX_DEPTH:
            # Metadata and other free-form maps: any key is fine.
            return Field(name, "object", children=None)
        return Field(name, "object", children=tuple(
            _describe(key, value, depth + 1) for key, value in own.items()))
    return Field(name, "any")


def _own_annotations(cls: type) -> dict[str, Any]:
    """A resource class's own public field annotations (not ``ClassVar`` bookkeeping)."""
    own = cls.__dict__.get("__annotations__", {})
    return {key: value for key, value in own.items()
            if not key.startswith("_") and key != "OBJECT_NAME"
            and typing.get_origin(value) is not typing.ClassVar}


def params_type(op: Operation) -> type:
    """The ``stripe.params`` TypedDict ``op`` takes."""
    from .sdk import params_class

    return params_class(op.params_module, op.params)


@functools.cache
def accepted(row: StripeObject, operation: str) -> tuple[Field, ...]:
    """The inputs ``operation`` (``create``, ``update``, ``pay``, ``add``...) accepts for
    ``row``'s noun, from its params TypedDict, required ones marked."""
    op = row.operation("create" if operation == "add" else operation)
    cls = params_type(op)
    required: frozenset[str] = getattr(cls, "__required_keys__", frozenset())
    skip = set(REQUEST_OPTIONS) | set(_TARGET_PARAMS.get(operation, ()))
    if operation == "add" and row.parent:
        skip.add(row.parent.replace(" ", "_"))  # (named by what it is added to)
    if op.id_param:  # (named by the record acted on: "refund the charge")
        skip.add(op.id_param)
    found = []
    hints = _hints(cls)
    if op.path_parent and operation != "add" and op.path_parent not in hints:
        # (the parent's id goes in the path: "/v1/customers/{customer}/...")
        found.append(Field(op.path_parent, "string", required=True))
    for key, value in hints.items():
        if key in skip:
            continue
        field = _describe(key, value, 1)
        found.append(Field(field.name, field.type, required=key in required,
                           choices=field.choices, children=field.children,
                           signed=key in row.signed))
    return tuple(found) + _shorthand_fields(row, operation, found, cls)


def _shorthand_fields(row: StripeObject, operation: str, found: list[Field], cls: type
                      ) -> tuple[Field, ...]:
    """The inputs a row's shorthands add: the fields of the one element of the list they
    stand for, as its element type declares them (a subscription's ``price``)."""
    names = {field.name for field in found}
    added: list[Field] = []
    for shorthand in row.shorthands:
        if shorthand.operation == operation:
            added += _element_fields(shorthand, cls, names)
    return tuple(added)


def _element_fields(shorthand: Shorthand, cls: type, names: set[str]) -> list[Field]:
    listed = _hints(cls).get(shorthand.into)
    elements = [arg for member in _members(listed) for arg in typing.get_args(member)
                if typing_extensions.is_typeddict(arg)]
    if not elements:
        return []
    hints = _hints(elements[0])
    added = []
    for name in shorthand.fields:
        if name in hints and name not in names:
            child = _describe(name, hints[name], 2)
            added.append(Field(name, child.type, choices=child.choices,
                               children=child.children,
                               help=f"the one {shorthand.into.removesuffix('s')}'s {name}"))
    if shorthand.inner is not None:
        added += _element_fields(shorthand.inner, elements[0], names)
    return added


@functools.cache
def returned(row: StripeObject) -> tuple[Field, ...]:
    """The fields a record of ``row``'s noun carries, from the SDK resource class."""
    from .sdk import resource_class

    resource = resource_class(row.service)
    return tuple(_describe(key, value, 1) for key, value in _own_annotations(resource).items())


def returned_field(row: StripeObject, path: tuple[str, ...]) -> Field | None:
    """The returned field at ``path`` (``("metadata", "plan")``), or None if unknown."""
    fields: tuple[Field, ...] | None = returned(row)
    found: Field | None = None
    for part in path:
        if fields is None:
            # Inside a free-form object (metadata): every key holds a string.
            return Field(part, "string")
        found = next((f for f in fields if f.name == part), None)
        if found is None:
            return None
        fields = found.children
    return found


@functools.cache
def accepts_custom_id(row: StripeObject) -> bool:
    """Whether records of ``row`` can be created with an id of one's own choosing
    (products can), so an id without the usual prefix may still be right."""
    return any(field.name == "id" for field in accepted(row, "create"))
