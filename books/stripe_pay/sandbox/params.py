"""Request parameters: Stripe's form encoding, and validation against the SDK's own schemas.

Stripe bodies are form-encoded with bracketed keys (``metadata[plan]=gold``, ``expand[]=customer``,
``expand[0]=customer``, ``items[0][price]=price_x``). :func:`decode_form` turns them into nested
dicts and lists of strings.

:func:`validate` then checks those values against the ``stripe.params`` TypedDict of the operation
(``CustomerCreateParams``, ``InvoiceListParams``, ...), the schema Stripe generates its SDK from:
accepted keys, required keys, ``Literal`` enums, integers, booleans, decimals, nested objects,
lists and maps. It converts strings to Python values and refuses what Stripe refuses, with
Stripe's error codes (``parameter_unknown``, ``parameter_missing``, ``parameter_invalid_integer``,
``parameter_invalid_empty``). Schemas are derived once per operation and cached, since
``typing.get_type_hints`` over the nested TypedDicts is far slower than a request.
"""

from __future__ import annotations

import decimal
import functools
import re
import threading
import types
import typing
from collections.abc import Iterable, Mapping
from typing import Any

import attrs
import typing_extensions

from .errors import ApiError, bad_parameter

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_KEY_PART = re.compile(r"\[([^\[\]]*)\]")
_INTEGER = re.compile(r"^-?[0-9]+$")
_INT64 = 2**63


def decode_form(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Nest Stripe's bracketed form pairs: ``a[b]=1`` -> ``{"a": {"b": "1"}}``.

    ``x[]=v`` appends to a list; ``x[0]=v`` makes a dict keyed ``"0"`` that :func:`validate`
    turns into a list where the schema expects one (metadata keys may legitimately be digits).
    A key given twice keeps its last value, as Stripe does.
    """
    root: dict[str, Any] = {}
    for key, value in pairs:
        match = _KEY.match(key)
        if match is None:
            raise bad_parameter(f"Invalid parameter name: {key}", param=key)
        parts = [match.group(1), *_KEY_PART.findall(match.group(2))]
        _insert(root, parts, value, key)
    return root


def _insert(root: dict[str, Any], parts: list[str], value: str, raw_key: str) -> None:
    node = root
    for depth, part in enumerate(parts[:-1]):
        following = parts[depth + 1]
        if part == "":
            raise bad_parameter(f"Invalid parameter name: {raw_key}", param=raw_key)
        child = node.get(part)
        if following == "":
            if depth + 1 != len(parts) - 1:
                raise bad_parameter(f"Invalid parameter name: {raw_key}", param=raw_key)
            if child is None:
                child = node[part] = []
            if not isinstance(child, list):
                raise bad_parameter(f"Invalid array: {_path(parts[: depth + 1])}",
                                    param=_path(parts[: depth + 1]))
            child.append(value)
            return
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            raise bad_parameter(f"Invalid hash: {_path(parts[: depth + 1])}",
                                param=_path(parts[: depth + 1]))
        node = child
    last = parts[-1]
    if isinstance(node.get(last), dict | list):
        raise bad_parameter(f"Invalid hash: {_path(parts)}", param=_path(parts))
    node[last] = value


def _path(parts: Iterable[str]) -> str:
    head, *rest = parts
    return head + "".join(f"[{part}]" for part in rest)


@attrs.define(eq=False)
class TypeSpec:
    """What one parameter accepts, flattened from the SDK's union of annotations.

    ``enum`` holds the ``Literal`` strings. The SDK writes enums as ``Literal[...] | str`` so that
    old SDKs accept new values; Stripe itself refuses unknown values, so an enum is strict here.
    ``empty_ok`` is the SDK's ``Literal['']``: an empty string that unsets the field.
    """

    enum: tuple[str, ...] = ()
    empty_ok: bool = False
    scalars: frozenset[str] = frozenset()
    obj: ObjectSpec | None = None
    items: TypeSpec | None = None
    values: TypeSpec | None = None


@attrs.define(eq=False)
class ObjectSpec:
    """A TypedDict: its fields and which of them are required."""

    name: str
    fields: dict[str, TypeSpec] = attrs.field(factory=dict)
    required: frozenset[str] = frozenset()


# Keys of the SDK's RequestOptions, which the top-level *Params TypedDicts inherit: they are
# client options (api_key, idempotency_key, ...), never sent as parameters.
_REQUEST_OPTION_KEYS = frozenset({
    "api_key", "stripe_version", "stripe_account", "stripe_context", "max_network_retries",
    "idempotency_key", "content_type", "headers",
})

_schema_lock = threading.Lock()


@functools.cache
def schema_for(params_class_name: str, module: str = "") -> ObjectSpec:
    """The cached schema of ``stripe.params.<params_class_name>``, e.g. "CustomerCreateParams"
    (or of the TypedDict of that name in ``module``, for nested services' params)."""
    import importlib

    typed_dict = getattr(importlib.import_module(module or "stripe.params"), params_class_name)
    with _schema_lock:
        spec = _object_spec(typed_dict, {}, top_level=True)
    return spec


@functools.cache
def _inherited_names() -> dict[str, Any]:
    import stripe._request_options
    from stripe._stripe_context import StripeContext

    # The top-level TypedDicts inherit RequestOptions, whose annotations name things imported in
    # its own module (one only for type checkers); get_type_hints evaluates inherited annotations
    # in the subclass's module, so it needs those names supplied.
    return {**vars(stripe._request_options), "StripeContext": StripeContext}


def _type_hints(typed_dict: type) -> dict[str, Any]:
    return typing.get_type_hints(typed_dict, include_extras=True, localns=_inherited_names())


def _object_spec(typed_dict: type, seen: dict[type, ObjectSpec], *, top_level: bool = False
                 ) -> ObjectSpec:
    if typed_dict in seen:
        return seen[typed_dict]
    spec = ObjectSpec(name=typed_dict.__name__)
    seen[typed_dict] = spec
    required = set()
    for name, annotation in _type_hints(typed_dict).items():
        if top_level and name in _REQUEST_OPTION_KEYS:
            continue
        spec.fields[name] = _type_spec(annotation, seen)
        if name in getattr(typed_dict, "__required_keys__", ()):
            required.add(name)
    spec.required = frozenset(required)
    return spec


_NOT_REQUIRED_ORIGINS: tuple[Any, ...] = (typing.NotRequired, typing.Required)


def _alternatives(annotation: Any) -> list[Any]:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _alternatives(typing.get_args(annotation)[0])
    if origin in _NOT_REQUIRED_ORIGINS:
        return _alternatives(typing.get_args(annotation)[0])
    if origin is typing.Union or origin is types.UnionType:
        found: list[Any] = []
        for arg in typing.get_args(annotation):
            found.extend(_alternatives(arg))
        return found
    return [annotation]


@functools.cache
def _map_types() -> tuple[type, ...]:
    from stripe._stripe_object import StripeObject

    # Metadata is annotated Dict[str, str] | UntypedStripeObject[str]; both are string maps.
    return (dict, StripeObject)


def _type_spec(annotation: Any, seen: dict[type, ObjectSpec]) -> TypeSpec:
    spec = TypeSpec()
    enum: list[str] = []
    scalars: set[str] = set()
    for alternative in _alternatives(annotation):
        origin = typing.get_origin(alternative)
        if origin is typing.Literal:
            for literal in typing.get_args(alternative):
                if literal == "":
                    spec.empty_ok = True
                elif isinstance(literal, bool):
                    scalars.add("bool")
                else:
                    enum.append(str(literal))
        elif alternative is str:
            scalars.add("str")
        elif alternative is bool:
            scalars.add("bool")
        elif alternative is int:
            scalars.add("int")
        elif alternative is float:
            scalars.add("float")
        elif alternative is decimal.Decimal:
            scalars.add("decimal")
        elif typing_extensions.is_typeddict(alternative):
            spec.obj = _object_spec(alternative, seen)
        elif origin is list:
            spec.items = _type_spec(typing.get_args(alternative)[0], seen)
        elif isinstance(origin, type) and issubclass(origin, _map_types()):
            args = typing.get_args(alternative)
            spec.values = _type_spec(args[-1] if args else Any, seen)
        else:
            scalars.add("any")
    spec.enum = tuple(enum)
    spec.scalars = frozenset(scalars)
    return spec


#: Parameters the pinned API version (2026-10-28.endive) removed from some operations, which
#: Stripe answers with a code of their own rather than as unknown: the operations' params
#: TypedDicts (the SDK's schemas no longer list the parameter), the code and what to do.
RETIRED: dict[str, tuple[frozenset[str], str, str]] = {
    "payment_method_types": (
        frozenset({"PaymentIntentCreateParams", "PaymentIntentUpdateParams",
                   "PaymentIntentConfirmParams", "SetupIntentCreateParams",
                   "SetupIntentUpdateParams"}),
        "payment_method_types_no_longer_supported",
        "payment_method_types is no longer supported on this API version (2026-10-28.endive). "
        "Leave it out to use dynamic payment methods, or pass allowed_payment_method_types (or "
        "excluded_payment_method_types) instead."),
}


def validate(params_class_name: str, raw: Mapping[str, Any], module: str = "") -> dict[str, Any]:
    """Check decoded parameters against the operation's schema and convert them.

    Returns a new dict of Python values (ints, bools, lists, nested dicts). An empty string is
    kept as ``""`` where Stripe reads it as "unset this field". Raises :class:`ApiError` (400)
    exactly where Stripe would refuse the request.
    """
    spec = schema_for(params_class_name, module)
    for name, (operations, code, message) in RETIRED.items():
        if name in raw and name not in spec.fields and params_class_name in operations:
            raise bad_parameter(message, param=name, code=code)
    return _validate_object(spec, raw, [])


def _validate_object(spec: ObjectSpec, raw: Mapping[str, Any], path: list[str]) -> dict[str, Any]:
    for name in raw:
        if name not in spec.fields:
            where = _path([*path, name])
            raise bad_parameter(f"Received unknown parameter: {where}", param=where,
                                code="parameter_unknown")
    for name in sorted(spec.required):
        if name not in raw:
            where = _path([*path, name])
            raise bad_parameter(f"Missing required param: {where}.", param=where,
                                code="parameter_missing")
    return {name: _coerce(spec.fields[name], value, [*path, name]) for name, value in raw.items()}


def _coerce(spec: TypeSpec, value: Any, path: list[str]) -> Any:
    where = _path(path)
    if isinstance(value, str):
        return _coerce_string(spec, value, where)
    if isinstance(value, dict):
        if spec.obj is not None:
            return _validate_object(spec.obj, value, path)
        if spec.values is not None:
            return {key: _coerce(spec.values, item, [*path, key]) for key, item in value.items()}
        if spec.items is not None:
            if not all(key.isdigit() for key in value):
                raise bad_parameter(f"Invalid array: {where}", param=where)
            ordered = sorted(value.items(), key=lambda pair: int(pair[0]))
            return [_coerce(spec.items, item, [*path, str(index)])
                    for index, (_, item) in enumerate(ordered)]
        if "any" in spec.scalars:
            return value
        raise _not_a_scalar(spec, where, "a hash")
    if isinstance(value, list):
        if spec.items is not None:
            return [_coerce(spec.items, item, [*path, str(index)])
                    for index, item in enumerate(value)]
        if "any" in spec.scalars:
            return value
        raise _not_a_scalar(spec, where, "an array")
    return value


def _coerce_string(spec: TypeSpec, value: str, where: str) -> Any:
    scalars = spec.scalars
    if value == "":
        if spec.empty_ok or ("str" in scalars and not spec.enum):
            return ""
        raise bad_parameter(
            f"You passed an empty string for '{where}'. We assume empty values are an attempt to "
            f"unset a parameter; however '{where}' cannot be unset. You should remove '{where}' "
            "from your request or supply a non-empty value.",
            param=where, code="parameter_invalid_empty",
        )
    if spec.enum and value in spec.enum:
        return value
    if "int" in scalars and _INTEGER.match(value) and -_INT64 <= int(value) < _INT64:
        return int(value)
    if "bool" in scalars and value in ("true", "false"):
        return value == "true"
    if scalars & {"float", "decimal"}:
        number = _decimal(value)
        if number is not None:
            return float(number) if "float" in scalars else str(number)
    if ("str" in scalars and not spec.enum) or "any" in scalars:
        return value
    if spec.enum:
        raise bad_parameter(f"Invalid {where}: must be one of {_one_of(spec.enum)}", param=where)
    if "int" in scalars:
        raise bad_parameter(f"Invalid integer: {value}", param=where,
                            code="parameter_invalid_integer")
    if "bool" in scalars:
        raise bad_parameter(f"Invalid boolean: {value}", param=where)
    if scalars & {"float", "decimal"}:
        raise bad_parameter(f"Invalid decimal: {value}", param=where)
    if spec.items is not None:
        raise bad_parameter(f"Invalid array: {where}", param=where)
    raise bad_parameter(f"Invalid hash: {where}", param=where)


def _decimal(value: str) -> decimal.Decimal | None:
    try:
        number = decimal.Decimal(value)
    except decimal.InvalidOperation:
        return None
    return number if number.is_finite() else None


def _not_a_scalar(spec: TypeSpec, where: str, given: str) -> ApiError:
    if spec.enum or "str" in spec.scalars:
        kind = "string"
    elif "int" in spec.scalars:
        kind = "integer"
    elif "bool" in spec.scalars:
        kind = "boolean"
    elif spec.items is not None:
        kind = "array"
    else:
        kind = "decimal"
    return bad_parameter(f"Invalid {kind}: {where} must be a {kind}, not {given}", param=where)


def _one_of(values: tuple[str, ...]) -> str:
    if len(values) == 1:
        return values[0]
    if len(values) == 2:
        return f"{values[0]} or {values[1]}"
    return ", ".join(values[:-1]) + f", or {values[-1]}"
