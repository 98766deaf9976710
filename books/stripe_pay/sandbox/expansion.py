"""What ``expand[]`` may name, read from the SDK's resource classes.

Stripe lets a request expand every field the API reference marks *Expandable*: an id that
can come back as the object it names. The SDK annotates exactly those fields as
``ExpandableField["Customer"]`` (``Union[str, Customer]``), on resource classes and on their
nested classes (``Customer.InvoiceSettings.default_payment_method``), alone or in lists
(``Invoice.discounts``). :func:`field_of` reads a field's annotation and says what a path
may do there: replace ids by objects (``targets``), go on into nested objects (``inner``,
through ``data`` for a list object), or nothing.

Fields Stripe returns only when asked for with ``expand[]`` (*includable*: a price's
``tiers``, a checkout session's ``line_items``) are not told apart by the SDK; each shape
declares them with how to compute them (``Shape.included``).

Imported by the backend on the first ``expand[]``: it imports ``stripe``.
"""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
import types
import typing
from typing import Any

import attrs
import stripe
from stripe._list_object import ListObject
from stripe._stripe_object import StripeObject, UntypedStripeObject


@attrs.frozen
class Step:
    """What a path may do at one field of an SDK class.

    ``targets``: the resource classes an id here may be expanded to (empty: not expandable).
    ``inner``: the classes of the nested objects a longer path goes on into (for an
    expandable field, its targets). ``listed``: the value is a list object, so a longer path
    goes on through ``data``; ``many``: the value is a list.
    """

    targets: tuple[type, ...] = ()
    inner: tuple[type, ...] = ()
    listed: bool = False
    many: bool = False


SCALAR = Step()


def field_of(classes: tuple[type, ...], name: str) -> Step | None:
    """What ``name`` is on an object of one of ``classes`` (None: none of them declares it)."""
    for cls in classes:
        found = _steps(cls).get(name)
        if found is not None:
            return found
    return None


def object_name(cls: type) -> str | None:
    """The Stripe object name of a resource class (``customer``), None for nested classes."""
    name = cls.__dict__.get("OBJECT_NAME")
    return name if isinstance(name, str) else None


def expandable_paths(cls: type, *, depth: int = 4) -> list[str]:
    """Every path of ``cls``'s own fields that ``expand[]`` may name: its expandable fields
    and those of its nested objects, down to ``depth`` levels, not through other resources
    (their own paths are theirs)."""
    found: list[str] = []

    def walk(owner: type, prefix: str, level: int) -> None:
        for name, step in sorted(_steps(owner).items()):
            path = prefix + name
            if step.targets:
                found.append(path)
            elif step.inner and level < depth:
                for inner in step.inner:
                    if object_name(inner) is None:
                        walk(inner, path + ".", level + 1)

    walk(cls, "", 1)
    return list(dict.fromkeys(found))


@functools.cache
def _steps(cls: type) -> dict[str, Step]:
    """Each public annotated field of ``cls`` (and its bases) and what a path may do there."""
    steps: dict[str, Step] = {}
    for klass in reversed(cls.__mro__):
        module = getattr(klass, "__module__", "")
        for name, annotation in vars(klass).get("__annotations__", {}).items():
            if name.startswith("_") or name.isupper():
                continue
            steps[name] = _step(annotation, module)
    return steps


def _step(annotation: Any, module: str) -> Step:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        members = [arg for arg in args if arg is not type(None)]
        classes = [found for found in (_resolve(arg, module) for arg in members)
                   if found is not None]
        if str in members and classes:
            return Step(targets=tuple(classes), inner=tuple(classes))
        if len(members) == 1:
            return _step(members[0], module)
        return Step(inner=tuple(classes)) if classes else SCALAR
    if origin is list:
        return attrs.evolve(_step(args[0], module), many=True)
    if origin is ListObject:
        element = _step(args[0], module)
        return Step(inner=element.inner, listed=True)
    if origin is UntypedStripeObject:
        return SCALAR  # a map (metadata, currency_options): its keys are data, not fields
    found = _resolve(annotation, module)
    return Step(inner=(found,)) if found is not None else SCALAR


def _resolve(annotation: Any, module: str) -> type | None:
    """The StripeObject class an annotation names (a class or a forward reference), or None."""
    if isinstance(annotation, typing.ForwardRef):
        annotation = _named(module, annotation.__forward_arg__)
    if isinstance(annotation, type) and issubclass(annotation, StripeObject) \
            and annotation is not UntypedStripeObject:
        return annotation
    return None


def _named(module: str, name: str) -> Any:
    """What ``name`` means in an SDK module, including the names it imports only for type
    checkers (``if TYPE_CHECKING: from stripe._customer import Customer``), which forward
    references name."""
    loaded = importlib.import_module(module)
    if hasattr(loaded, name):
        return getattr(loaded, name)
    source = _imports(module).get(name)
    if source is None:
        return None
    return getattr(importlib.import_module(source[0]), source[1], None)


@functools.cache
def _imports(module: str) -> dict[str, tuple[str, str]]:
    """The names a module imports from the SDK: local name -> (module, name)."""
    tree = ast.parse(inspect.getsource(importlib.import_module(module)))
    found: dict[str, tuple[str, str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("stripe"):
            for alias in node.names:
                found[alias.asname or alias.name] = (node.module, alias.name)
    return found


def sdk_class(name: str) -> type:
    """``stripe.<name>`` for a dotted name (``Customer``, ``checkout.Session``)."""
    found: Any = stripe
    for part in name.split("."):
        found = getattr(found, part)
    assert isinstance(found, type)
    return found
