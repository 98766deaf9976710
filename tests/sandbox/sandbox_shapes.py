"""Checks of response shapes against the SDK's resource classes."""

from __future__ import annotations

import functools
import re
import typing
from typing import Any

from stripe._object_classes import get_object_class
from stripe._stripe_object import StripeObject, UntypedStripeObject


@functools.cache
def declared_fields(cls: type) -> frozenset[str]:
    """Public fields the SDK class annotates, across its bases.

    A class naming its ``OBJECT_NAME`` declares ``object`` too (``ListObject`` does only that).
    """
    names: set[str] = set()
    for klass in cls.__mro__:
        names.update(name for name in getattr(klass, "__annotations__", {})
                     if not name.startswith("_") and not name.isupper())
    if getattr(cls, "OBJECT_NAME", None):
        names.add("object")
    return frozenset(names)


def undeclared_fields(data: dict[str, Any], cls: type, where: str = "") -> list[str]:
    """Paths of every field in ``data`` (recursively) that the SDK's classes do not declare.

    Nested objects are typed the way the SDK types them when it builds objects from a response:
    through the class's ``_inner_class_types``, or through the ``object`` name of a nested
    resource or list.
    """
    problems: list[str] = []
    declared = declared_fields(cls)
    inner: dict[str, type] = getattr(cls, "_inner_class_types", {})
    inner_dicts = map_fields(cls)
    for key, value in data.items():
        path = f"{where}{key}"
        if key not in declared:
            problems.append(path)
        for index, element in _elements(key, value, inner_dicts):
            nested = inner.get(key)
            if isinstance(element, dict) and isinstance(element.get("object"), str):
                nested = _object_class(element["object"]) or nested
            if nested is not None and isinstance(element, dict):
                problems.extend(undeclared_fields(element, nested, f"{path}{index}."))
    return problems


@functools.cache  # (a class's annotations do not change: worked out once per class)
def map_fields(cls: type) -> frozenset[str]:
    """Fields holding maps whose keys are data (``currency_options``: by currency): those
    the SDK lists in ``_inner_class_dicts`` or annotates as ``UntypedStripeObject[...]``."""
    found = set(getattr(cls, "_inner_class_dicts", []))
    for klass in cls.__mro__:
        for name, annotation in getattr(klass, "__annotations__", {}).items():
            members = typing.get_args(annotation) or (annotation,)
            if any(typing.get_origin(member) is UntypedStripeObject for member in
                   (annotation, *members)):
                found.add(name)
    return frozenset(found)


def _elements(key: str, value: Any, inner_dicts: frozenset[str]) -> list[tuple[str, Any]]:
    if isinstance(value, list):
        return [(f"[{i}]", element) for i, element in enumerate(value)]
    if isinstance(value, dict) and key in inner_dicts:
        return [(f"[{name}]", element) for name, element in value.items()]
    if isinstance(value, dict):
        return [("", value)]
    return []


def _object_class(name: str) -> type | None:
    found = get_object_class("V1", name)
    if found is None or not issubclass(found, StripeObject):
        return None
    return found


def shape_problems(shape: Any) -> list[str]:
    """What is wrong with a sandbox shape against the SDK's class ``stripe.<shape.sdk>``: fields
    it renders that the class does not declare, declared fields it neither renders nor lists
    as absent, fields both rendered and absent, and a wrong object name."""
    try:
        cls = shape.sdk_class
    except AttributeError:
        return [f"stripe.{shape.sdk} does not exist"]
    declared = declared_fields(cls)
    absent = set(shape.absent)
    problems = [f"{shape.object}.{name}: not declared by stripe.{shape.sdk}"
                for name in sorted((shape.fields | absent) - declared)]
    problems += [f"{shape.object}.{name}: declared by stripe.{shape.sdk} but neither rendered "
                 "nor listed as absent" for name in sorted(declared - shape.fields - absent)]
    problems += [f"{shape.object}.{name}: rendered and listed as absent"
                 for name in sorted(shape.fields & absent)]
    if shape.object != cls.OBJECT_NAME:
        problems.append(f"stripe.{shape.sdk} is a {cls.OBJECT_NAME!r}, not {shape.object!r}")
    return problems


#: Nested objects Stripe returns sparse, keyed by payment method type: only the types
#: configured (``payment_method_options``), or the one used (a charge's or a dispute's
#: ``payment_method_details``, a refund's ``destination_details``: ``card`` and ``type``).
#: What they hold is whole.
SPARSE = frozenset({"payment_method_options", "payment_method_details", "destination_details"})


def missing_fields(data: dict[str, Any], cls: type, where: str = "",
                   included: frozenset[str] = frozenset()) -> list[str]:
    """Paths of the fields the SDK's nested classes declare that ``data``'s nested objects
    lack (Stripe returns every field of a nested object, null where it has no value).

    Top-level fields are the shape's to account for (``shape_problems``); nested resource
    objects (with an ``object`` of their own) are checked as objects of their own. Paths in
    ``included`` (``total_details.breakdown``) come back only when asked for.
    """
    problems: list[str] = []
    inner: dict[str, type] = getattr(cls, "_inner_class_types", {})
    inner_dicts = map_fields(cls)
    for key, value in data.items():
        nested = inner.get(key)
        if nested is None:
            continue
        for index, element in _elements(key, value, inner_dicts):
            if not isinstance(element, dict) or "object" in element:
                continue
            path = f"{where}{key}"
            if key not in SPARSE:
                problems += [f"{path}{index}.{name}"
                             for name in sorted(declared_fields(nested) - set(element))
                             if _relative(f"{path}.{name}") not in included]
            problems.extend(missing_fields(element, nested, f"{path}{index}.", included))
    return problems


def _relative(path: str) -> str:
    """A path without list indexes or map keys: ``a[0].b`` -> ``a.b``."""
    return re.sub(r"\[[^\]]*\]", "", path)
