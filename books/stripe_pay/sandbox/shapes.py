"""Object shapes: one description per Stripe object of every field the sandbox returns for it.

A :class:`Shape` says, for each field of the object as Stripe returns it for the SDK's API
version, where its value comes from: the model's attribute of that name (``own``) or of another
name (``renamed``), a constant (``fixed``: ``null``, ``false`` or an empty list where the sandbox
has nothing to say), or a function of the model and the backend (``derived``). The fields the
SDK's resource class declares but the sandbox never returns are listed in ``absent`` with the
reason; the tests check, per shape, that the rendered fields and the absent ones are exactly the
fields ``stripe.<sdk>`` annotates.

Which fields ``expand[]`` may replace by the object they name is the SDK's to say (see
``expansion.py``). Fields Stripe returns only when ``expand[]`` asks for them (*includable*:
a price's ``tiers``) are each shape's ``included``, with how to compute them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from operator import attrgetter
from typing import Any

import attrs

#: Reasons for a field the SDK declares that a shape leaves out.
INCLUDABLE = "includable: Stripe returns it only when asked for with expand[]"
STUB_ONLY = "only on the deleted stub ({id, object, deleted})"
NOT_IN_EXAMPLE = ("not in Stripe's example object for this API version; nothing the sandbox "
                  "does sets it")

_OWN, _FIXED, _DERIVED = 0, 1, 2


@attrs.frozen
class Derived:
    """Fields computed together from the model and the backend: ``compute(obj, backend)``
    returns a dict holding exactly ``fields``."""

    fields: tuple[str, ...]
    compute: Callable[[Any, Any], dict[str, Any]]


def derived(name: str, compute: Callable[[Any, Any], Any]) -> Derived:
    """One computed field: ``compute(obj, backend)`` is its value."""
    return Derived((name,), lambda obj, backend: {name: compute(obj, backend)})


@attrs.frozen
class Shape:
    """Every field of one Stripe object as the sandbox renders it.

    ``object`` is Stripe's object name, ``sdk`` the SDK's resource class (``stripe.<sdk>``,
    dotted for nested modules: ``checkout.Session``). ``id`` and ``object`` are always rendered
    (``id`` from the attribute ``id`` unless ``renamed``). A deleted model renders as its stub
    unless ``stub_when_deleted`` is false.

    ``included``: the fields Stripe returns only when ``expand[]`` names them, by path
    (``tiers``; a nested one as ``total_details.breakdown``), each with ``compute(obj,
    backend)`` giving its value (``obj`` is None for an object no store holds). The top-level
    ones count as ``absent`` with the reason :data:`INCLUDABLE`.

    ``typed``: fields named after a type of the object (a payment method's ``card`` and
    ``us_bank_account``), each rendered only on an object whose ``type`` is that name, as
    Stripe returns only the hash of the type an object is.
    """

    object: str
    sdk: str
    own: tuple[str, ...] = ()
    renamed: Mapping[str, str] = attrs.field(factory=dict)
    fixed: Mapping[str, Any] = attrs.field(factory=dict)
    derived: tuple[Derived, ...] = ()
    absent: Mapping[str, str] = attrs.field(factory=dict)
    included: Mapping[str, Callable[[Any, Any], Any]] = attrs.field(factory=dict)
    stub_when_deleted: bool = True
    typed: frozenset[str] = frozenset()
    _plan: tuple[tuple[str, int, Any], ...] = attrs.field(init=False, eq=False, repr=False)
    _sources: dict[str, tuple[int, Any]] = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        listed = sorted(name for name in self.included if name in self.absent)
        if listed:
            raise ValueError(f"The {self.object} shape lists {', '.join(listed)} as absent and "
                             "included; an included field needs no absent entry.")
        object.__setattr__(self, "absent", {
            **self.absent, **{name: INCLUDABLE for name in self.included if "." not in name}})
        sources: list[tuple[str, int, Any]] = [("object", _FIXED, self.object)]
        if "id" not in self.renamed:
            sources.append(("id", _OWN, attrgetter("id")))
        sources += [(name, _OWN, attrgetter(name)) for name in self.own]
        sources += [(name, _OWN, attrgetter(attribute))
                    for name, attribute in self.renamed.items()]
        sources += [(name, _FIXED, value) for name, value in self.fixed.items()]
        sources += [(name, _DERIVED, group) for group in self.derived for name in group.fields]
        names = [name for name, _, _ in sources]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ValueError(f"The {self.object} shape names {', '.join(twice)} twice.")
        first = {"id": 0, "object": 1}
        plan = tuple(sorted(sources, key=lambda source: (first.get(source[0], 2), source[0])))
        object.__setattr__(self, "_plan", plan)
        object.__setattr__(self, "_sources", {name: (source, how) for name, source, how in plan})

    @property
    def sdk_class(self) -> type:
        """The SDK's resource class, ``stripe.<sdk>``."""
        from .expansion import sdk_class

        return sdk_class(self.sdk)

    @property
    def fields(self) -> frozenset[str]:
        """Every field this shape renders."""
        return frozenset(name for name, _, _ in self._plan)

    def fields_of(self, data: Mapping[str, Any]) -> frozenset[str]:
        """The fields rendered for an object of ``data``'s type (see ``typed``)."""
        if not self.typed:
            return self.fields
        return self.fields - (self.typed - {data.get("type")})

    def render(self, obj: Any, backend: Any) -> dict[str, Any]:
        """``obj`` as Stripe returns it: fields ``id``, ``object``, then alphabetical."""
        if self.stub_when_deleted and getattr(obj, "deleted", False):
            return {"id": obj.id, "object": self.object, "deleted": True}
        computed: dict[str, Any] = {}
        for group in self.derived:
            computed.update(group.compute(obj, backend))
        rendered: dict[str, Any] = {}
        typed = self.typed
        for name, source, how in self._plan:
            if name in typed and name != obj.type:
                continue
            if source == _OWN:
                rendered[name] = how(obj)
            elif source == _FIXED:
                rendered[name] = _fresh(how)
            else:
                rendered[name] = computed[name]
        return rendered


    def view(self, obj: Any, backend: Any) -> Mapping[str, Any]:
        """``obj`` as it renders, read field by field: only the fields asked for are computed
        (a search reads a few fields of many objects)."""
        return _View(self, obj, backend)


class _View(Mapping[str, Any]):
    def __init__(self, shape: Shape, obj: Any, backend: Any) -> None:
        self._shape, self._obj, self._backend = shape, obj, backend
        self._computed: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        source, how = self._shape._sources[name]
        if source == _OWN:
            return how(self._obj)
        if source == _FIXED:
            return how
        if name not in self._computed:
            self._computed.update(how.compute(self._obj, self._backend))
        return self._computed[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._shape._sources)

    def __len__(self) -> int:
        return len(self._shape._sources)


def _fresh(value: Any) -> Any:
    """A constant as a new value each time, so that no rendering shares a list or dict."""
    if isinstance(value, dict):
        return {key: _fresh(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_fresh(item) for item in value]
    return value


def markdown_table(shapes: list[Shape]) -> str:
    """The shapes as the Markdown table docs/SANDBOX.md shows (tested to match)."""
    lines = ["| object | SDK class | fields | declared by the SDK, left out |",
             "| --- | --- | --- | --- |"]
    for shape in shapes:
        reasons: dict[str, list[str]] = {}
        for name, reason in sorted(shape.absent.items()):
            reasons.setdefault(reason, []).append(f"`{name}`")
        left_out = "; ".join(f"{', '.join(names)}: {reason}" for reason, names in reasons.items())
        lines.append(f"| {shape.object} | `stripe.{shape.sdk}` | {len(shape.fields)} | "
                     f"{left_out or 'none'} |")
    return "\n".join(lines)
