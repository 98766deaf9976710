"""Checks of response shapes against the SDK's resource classes."""

from __future__ import annotations

from typing import Any

from stripe._object_classes import get_object_class
from stripe._stripe_object import StripeObject


def declared_fields(cls: type) -> set[str]:
    """Public fields the SDK class annotates, across its bases.

    A class naming its ``OBJECT_NAME`` declares ``object`` too (``ListObject`` does only that).
    """
    names: set[str] = set()
    for klass in cls.__mro__:
        names.update(name for name in getattr(klass, "__annotations__", {})
                     if not name.startswith("_") and not name.isupper())
    if getattr(cls, "OBJECT_NAME", None):
        names.add("object")
    return names


def undeclared_fields(data: dict[str, Any], cls: type, where: str = "") -> list[str]:
    """Paths of every field in ``data`` (recursively) that the SDK's classes do not declare.

    Nested objects are typed the way the SDK types them when it builds objects from a response:
    through the class's ``_inner_class_types``, or through the ``object`` name of a nested
    resource or list.
    """
    problems: list[str] = []
    declared = declared_fields(cls)
    inner: dict[str, type] = getattr(cls, "_inner_class_types", {})
    inner_dicts: list[str] = getattr(cls, "_inner_class_dicts", [])
    for key, value in data.items():
        path = f"{where}{key}"
        if key not in declared:
            problems.append(path)
        for index, element in _elements(key, value, inner_dicts):
            nested = inner.get(key)
            if isinstance(element, dict) and "object" in element:
                nested = _object_class(element["object"]) or nested
            if nested is not None and isinstance(element, dict):
                problems.extend(undeclared_fields(element, nested, f"{path}{index}."))
    return problems


def _elements(key: str, value: Any, inner_dicts: list[str]) -> list[tuple[str, Any]]:
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
    import stripe

    cls = getattr(stripe, shape.sdk, None)
    if cls is None:
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
