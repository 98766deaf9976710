"""What every resource family of the sandbox shares: the declarations, the one way state
changes, ids, the clock, rendering, and the generic handlers.

:class:`BackendCore` is the base of every family (``resources/*.py``); the families are mixins
composed into :class:`~.resources.Backend`, moto's ec2 layout. A family declares

- ``RESOURCES``: a :class:`Resource` per object it stores (its :class:`~.shapes.Shape`, its
  store, list filters, search fields), and ``SHAPES`` for objects it renders but does not store;
- its handlers, marked with :func:`handles` (an operation of the book's row for the object,
  whose HTTP method and path come from ``stripe_pay.objects``) or :func:`route` (a path the book
  has no verb for); retrieve, list and search are generic unless a family handles them;
- ``_start_family()`` (optional): set up what it keeps for the backend's life (called once,
  before the first reset: the events family listens to the change log);
- ``_reset_family()`` (optional): forget any state of its own beyond its stores.

Every change to a stored object is announced through :meth:`BackendCore.change` before it is
made; each handler runs as one operation, which records the changes (see ``changes.py``) and
brings the stores' indexes up to date or, when it fails, undoes them, so every request is
atomic. The backend is not thread-safe on its own: the server holds
:attr:`BackendCore.lock` around each request.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import itertools
import json
import random
import string
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar

import attrs

from . import pages
from .changes import ChangeLog, previous_attributes, snapshot
from .errors import ApiError, bad_parameter, no_such
from .rules import created_filter
from .shapes import Shape
from .store import Model as StoredModel
from .store import Selection, Store, narrowest

if TYPE_CHECKING:
    from .routes import Route
    from .search import Field

ID_ALPHABET = string.ascii_letters + string.digits
MAX_EXPAND_DEPTH = 4
ROUTES_ATTRIBUTE = "__sandbox_routes__"


class Model(StoredModel, Protocol):
    """What the backend needs of a stored object: what its store needs, and its kind."""

    OBJECT: ClassVar[str]


M = TypeVar("M", bound=Model)
F = TypeVar("F", bound=Callable[..., Any])


# List filters: one list parameter each, and how it narrows the objects.

@attrs.frozen
class Filter:
    """A list parameter Stripe filters by; ``attribute`` is the model's (``param`` if empty)."""

    param: str
    attribute: str = ""

    @property
    def field(self) -> str:
        return self.attribute or self.param

    def predicate(self, value: Any) -> Callable[[Any], bool]:
        raise NotImplementedError

    def narrow(self, store: Store[Any], value: Any) -> Selection | None:
        """The candidates an index gives for this condition (None: no index helps)."""
        return None


@attrs.frozen
class Equals(Filter):
    """The attribute equals the value (``normalize`` applied to the value first)."""

    normalize: Callable[[Any], Any] | None = None

    def predicate(self, value: Any) -> Callable[[Any], bool]:
        wanted = self.normalize(value) if self.normalize else value
        field = self.field
        return lambda obj: getattr(obj, field) == wanted

    def narrow(self, store: Store[Any], value: Any) -> Selection | None:
        return store.with_value(self.field, self.normalize(value) if self.normalize else value)


@attrs.frozen
class OneOf(Filter):
    """The attribute is one of a list of values (``ids[]``, ``lookup_keys[]``)."""

    def predicate(self, value: Any) -> Callable[[Any], bool]:
        wanted = set(value)
        field = self.field
        return lambda obj: getattr(obj, field) in wanted

    def narrow(self, store: Store[Any], value: Any) -> Selection | None:
        return store.with_any(self.field, value)


@attrs.frozen
class Within(Filter):
    """A timestamp, exactly or within ``gt``/``gte``/``lt``/``lte`` bounds (``created``)."""

    def predicate(self, value: Any) -> Callable[[Any], bool]:
        test = created_filter(value)
        field = self.field
        return lambda obj: test(getattr(obj, field))

    def narrow(self, store: Store[Any], value: Any) -> Selection | None:
        return store.created_bounds(value) if self.field == "created" else None


@attrs.frozen
class Matches(Filter):
    """Any other test: ``test(obj, value)``."""

    test: Callable[[Any, Any], bool] = attrs.field(default=None, kw_only=True)

    def predicate(self, value: Any) -> Callable[[Any], bool]:
        test = self.test
        return lambda obj: test(obj, value)


@attrs.frozen
class Refused(Filter):
    """A parameter naming an object this sandbox has none of: "No such <kind>" on it."""

    kind: str = attrs.field(default="", kw_only=True)

    def predicate(self, value: Any) -> Callable[[Any], bool]:
        raise no_such(self.kind, value, param=self.param)


@attrs.frozen
class Resource:
    """One object a family stores: its shape, where it lives and how it is listed.

    ``shape`` renders it (and names it: ``shape.object`` is its kind). ``store`` names the
    family's attribute holding its :class:`Store`. ``search`` holds the fields its Search API
    understands (none: no search). ``deleted_answers``: a deleted object still answers its
    deleted stub when retrieved (customers), instead of 404.
    """

    shape: Shape
    store: str
    filters: tuple[Filter, ...] = ()
    search: Mapping[str, Field] = attrs.field(factory=dict)
    deleted_answers: bool = False

    @property
    def kind(self) -> str:
        return self.shape.object

    def new_store(self) -> Store[Any]:
        """An empty store indexing what this resource's filters and search fields read: the
        attributes of exact and one-of filters, the fields of exact text and boolean search
        clauses the shape takes from an attribute of the same name, and metadata if it is
        searchable."""
        fields = {found.field for found in self.filters if isinstance(found, Equals | OneOf)}
        fields |= {spec.path[0] for spec in self.search.values()
                   if spec.kind in ("text", "boolean") and len(spec.path) == 1
                   and spec.path[0] in self.shape.own}
        metadata = any(spec.kind == "metadata" for spec in self.search.values())
        return Store(self.kind, fields, metadata=metadata)


# Handlers: family methods marked with the operations they serve.

def handles(kind: str, operation: str) -> Callable[[F], F]:
    """Mark a family method as the handler of ``operation`` on objects of ``kind``.

    ``operation`` is one of the book's (``create``, ``update``, ``delete``, ``retrieve``,
    ``list``, ``search`` or an action verb of the row); the HTTP method, path and parameter
    schema are the book's ``row.operation(operation)``. The method takes the path's
    placeholders in order, then the validated parameters, and returns a model (rendered with
    ``expand[]``) or a JSON body.
    """
    return _mark({"kind": kind, "operation": operation})


def route(method: str, path: str, params: str, *, kind: str, name: str,
          params_module: str = "") -> Callable[[F], F]:
    """Mark a family method as the handler of a path the book has no verb for.

    ``path`` is Stripe's, with ``{placeholders}``; ``params`` the ``stripe.params`` TypedDict of
    its parameters (in ``params_module`` for nested services: ``stripe.params.checkout``);
    ``kind`` the object it answers; ``name`` what the route is called.
    """
    return _mark({"kind": kind, "operation": name, "method": method, "path": path,
                  "params": params, "params_module": params_module})


def _mark(declaration: dict[str, str]) -> Callable[[F], F]:
    """Record ``declaration`` on the handler, which runs as one operation (see
    :meth:`BackendCore.operation`), whoever calls it: a request or a test seeding state."""
    def mark(function: F) -> F:
        declared = getattr(function, ROUTES_ATTRIBUTE, None)
        if declared is None:
            inner = function

            @functools.wraps(inner)
            def operation(self: BackendCore, *args: Any, **kwargs: Any) -> Any:
                with self.operation():
                    return inner(self, *args, **kwargs)

            function = operation  # type: ignore[assignment]
            declared = ()
        setattr(function, ROUTES_ATTRIBUTE, (*declared, declaration))
        return function
    return mark


@attrs.define(eq=False)
class _Touch:
    """An object an operation changes: how it was before, to record or undo the change."""

    obj: Any
    action: str
    created: bool
    saved: Any = None
    before: bytes | None = None
    was_deleted: bool = False
    #: the request id and idempotency key the change is recorded with
    request: tuple[str | None, str | None] = (None, None)


class BackendCore:
    """Every object of one sandbox, and what all families share.

    ``clock`` returns the current Unix time (injectable so tests can control ``created``).
    """

    RESOURCES: ClassVar[tuple[Resource, ...]] = ()
    #: Shapes of objects no store holds (an invoice's lines).
    SHAPES: ClassVar[tuple[Shape, ...]] = ()

    def __init__(self, clock: Callable[[], float] = time.time, *,
                 changes: ChangeLog | None = None) -> None:
        self.lock = threading.RLock()
        self._clock = clock
        self._random = random.Random()
        self.changes = ChangeLog() if changes is None else changes
        self._touched: dict[tuple[str, str], _Touch] | None = None
        self._request: tuple[str | None, str | None] = (None, None)
        self.resources = {resource.kind: resource for resource in self.declared_resources()}
        self.shapes = {shape.object: shape for shape in self.declared_shapes()}
        for family in self.families():
            start_family = family.__dict__.get("_start_family")
            if start_family is not None:
                start_family(self)
        self.reset()

    @classmethod
    def families(cls) -> list[type[BackendCore]]:
        """The family classes composed into this backend, in method resolution order."""
        return [klass for klass in cls.__mro__
                if isinstance(klass, type) and issubclass(klass, BackendCore)]

    @classmethod
    def declared_resources(cls) -> list[Resource]:
        return [resource for family in reversed(cls.families())
                for resource in family.__dict__.get("RESOURCES", ())]

    @classmethod
    def declared_shapes(cls) -> list[Shape]:
        """The shape of every object the backend renders: its resources', then sub-objects'."""
        return [resource.shape for resource in cls.declared_resources()] + [
            shape for family in reversed(cls.families())
            for shape in family.__dict__.get("SHAPES", ())]

    @classmethod
    def declared_handlers(cls) -> list[tuple[str, dict[str, str]]]:
        """(method name, declaration) of every method marked by :func:`handles` or
        :func:`route`, family by family."""
        found = []
        for family in reversed(cls.families()):
            for name, value in vars(family).items():
                for declaration in getattr(value, ROUTES_ATTRIBUTE, ()):
                    found.append((name, declaration))
        return found

    def reset(self) -> None:
        """Forget every object and every recorded change (listeners stay)."""
        self.changes.clear()
        self._stores: dict[str, Store[Any]] = {}
        for resource in self.resources.values():
            store = resource.new_store()
            setattr(self, resource.store, store)
            self._stores[resource.kind] = store
        for family in self.families():
            reset_family = family.__dict__.get("_reset_family")
            if reset_family is not None:
                reset_family(self)
        self._sequence = itertools.count(1)

    @property
    def stores(self) -> dict[str, Store[Any]]:
        """The stores by Stripe object name."""
        return dict(self._stores)

    def now(self) -> int:
        return int(self._clock())

    def new_id(self, prefix: str, length: int = 24) -> str:
        return prefix + "".join(self._random.choices(ID_ALPHABET, k=length))

    def _next_seq(self) -> int:
        return next(self._sequence)

    def find(self, kind: str, object_id: str) -> Model | None:
        """Any object of ``kind`` with this id, deleted or not."""
        return self._stores[kind].objects.get(object_id)

    # Changes: every one passes through change(), inside an operation.

    @contextlib.contextmanager
    def operation(self) -> Iterator[None]:
        """Run a handler as one operation: when the outermost one ends, each object it changed
        is recorded as one change; if it raises, every change it made is undone (unless the
        error ``keeps_changes``). Operations called by an operation are part of it."""
        if self._touched is not None:
            yield
            return
        self._touched = {}
        try:
            yield
        except ApiError as error:
            if error.keeps_changes:
                self._commit()
            else:
                self._undo()
            raise
        except BaseException:
            self._undo()
            raise
        else:
            self._commit()
        finally:
            self._touched = None

    @contextlib.contextmanager
    def request_context(self, request_id: str | None, idempotency_key: str | None
                        ) -> Iterator[None]:
        """The request whose id and idempotency key the changes made meanwhile record."""
        self._request = (request_id, idempotency_key)
        try:
            yield
        finally:
            self._request = (None, None)

    @contextlib.contextmanager
    def on_its_own(self) -> Iterator[None]:
        """What follows is the sandbox acting on its own, as Stripe does (a test clock's
        subscriptions renewing as it advances): the objects first changed meanwhile are
        recorded with no request id nor idempotency key, whatever request is being served."""
        saved = self._request
        self._request = (None, None)
        try:
            yield
        finally:
            self._request = saved

    def change(self, action: str, obj: M) -> M:
        """Announce a change to ``obj``, before making it; the one way state changes.

        ``action`` is ``create`` (``obj`` is new: it is stored now), ``update``, ``delete`` or
        an action's verb (``finalize``, ...). The first announcement of an object in an
        operation keeps its state and its rendering, to record what changed or to undo it;
        later ones are free. So announce an object before changing it or anything its
        rendering shows (an invoice before the items on it).
        A created object is recorded as ``create`` and one deleted as ``delete`` whatever else
        the operation did to it.
        """
        touched = self._touched
        if touched is None:
            raise RuntimeError(
                f"A {obj.OBJECT} was changed outside an operation: a family method that changes "
                "state must be a handler (@handles or @route) or be called by one.")
        key = (obj.OBJECT, obj.id)
        if key in touched:
            return obj
        if action == "create":
            self._stores[obj.OBJECT].objects[obj.id] = obj
            touched[key] = _Touch(obj, action, created=True, request=self._request)
        else:
            touched[key] = _Touch(obj, action, created=False, saved=copy.deepcopy(obj),
                                  before=snapshot(self.render(obj)), was_deleted=obj.deleted,
                                  request=self._request)
        return obj

    def _commit(self) -> None:
        assert self._touched is not None
        now = self.now()
        for touch in self._touched.values():
            self._stores[touch.obj.OBJECT].index(touch.obj)
        entries = []
        for touch in self._touched.values():
            obj = touch.obj
            previous: bytes | None = None
            if touch.created:
                if obj.deleted:
                    continue  # made and unmade by one operation: nothing happened
                action, after = "create", snapshot(self.render(obj))
            elif obj.deleted and not touch.was_deleted:
                assert touch.before is not None
                action, after = "delete", touch.before
            else:
                assert touch.before is not None
                action, after = touch.action, snapshot(self.render(obj))
                previous = snapshot(previous_attributes(json.loads(touch.before),
                                                        json.loads(after)))
            entries.append({"time": now, "action": action, "kind": obj.OBJECT, "id": obj.id,
                            "object_json": after, "previous_json": previous,
                            "request_id": touch.request[0],
                            "idempotency_key": touch.request[1]})
        self.changes.record_all(entries)

    def _undo(self) -> None:
        assert self._touched is not None
        for touch in reversed(self._touched.values()):
            obj = touch.obj
            if touch.created:
                del self._stores[obj.OBJECT].objects[obj.id]
                continue
            for field in attrs.fields(type(obj)):
                setattr(obj, field.name, getattr(touch.saved, field.name))

    # Handling a routed request

    def handle(self, route: Route, params: dict[str, Any], path_args: Mapping[str, str]
               ) -> dict[str, Any]:
        """Serve ``route`` with validated ``params``: the JSON body of the answer. The answer
        is rendered inside the handler's operation, so a refused ``expand[]`` path undoes
        what the handler did."""
        handler = getattr(self, route.handler)
        args = [path_args[name] for name in route.args]
        with self.operation():
            result = handler(route, *args, params) if route.generic else handler(*args, params)
            if isinstance(result, dict):
                return result
            return self.render(result, params.get("expand", ()))

    def retrieve_object(self, route: Route, object_id: str, params: dict[str, Any]) -> Model:
        """The generic retrieve: the live object (or the deleted stub, where Stripe keeps one)."""
        resource = self.resources[route.kind]
        return self._stores[route.kind].get(object_id, deleted_ok=resource.deleted_answers)

    def list_objects(self, route: Route, params: dict[str, Any]) -> dict[str, Any]:
        """The generic list: a page of live objects, newest first, narrowed by the filters
        (through the store's indexes where they help)."""
        resource = self.resources[route.kind]
        store = self._stores[route.kind]
        given = [(found, params[found.param]) for found in resource.filters
                 if found.param in params]
        tests = [found.predicate(value) for found, value in given]
        selection = narrowest(store, (found.narrow(store, value) for found, value in given))

        def test(obj: Any) -> bool:
            return all(one(obj) for one in tests)

        return pages.list_page(self, store, selection, test if tests else None, params,
                               route.path)

    def lookup(self, kind: str, field: str, value: Any) -> list[Any]:
        """The live objects of ``kind`` whose ``field`` is ``value``, oldest first: through the
        store's index where it has one, and with the objects the current operation changes
        (the index follows committed changes only)."""
        store = self._stores[kind]
        selection = store.with_value(field, value)
        found = {obj.seq: obj for obj in store.objects_in(
            store.every() if selection is None else selection)}
        for touch in (self._touched or {}).values():
            if kind == touch.obj.OBJECT:
                found[touch.obj.seq] = touch.obj
        return [obj for _, obj in sorted(found.items())
                if not obj.deleted and getattr(obj, field) == value]

    def search_objects(self, route: Route, params: dict[str, Any]) -> dict[str, Any]:
        """The generic search: a ``search_result`` page of the objects the query matches."""
        resource = self.resources[route.kind]
        return pages.search_page(self, resource, self._stores[route.kind], params, route.path)

    # Rendering

    def render(self, obj: Model, expand: Iterable[str] = (), *, within: str = ""
               ) -> dict[str, Any]:
        """The object as Stripe returns it, with ``expand[]`` paths replaced by objects.

        ``within`` is the prefix the caller stripped from the paths (``data.`` in a list), so
        errors quote the path as the request wrote it.
        """
        rendered = self.shapes[obj.OBJECT].render(obj, self)
        for path in expand:
            self.expand(rendered, obj.OBJECT, path, within=within, obj=obj)
        return rendered

    def expand(self, rendered: dict[str, Any], kind: str, path: str, *, within: str = "",
               obj: Any = None) -> None:
        """Expand ``path`` (dotted, relative to ``rendered``, an object of ``kind`` rendered
        from ``obj``): ids the SDK types as expandable become the objects they name (when this
        sandbox has them), includable fields are added, nested objects and lists are gone
        through. Raises Stripe's error for a path that names anything else."""
        from .expansion import sdk_class

        parts = path.split(".")
        if len(parts) > MAX_EXPAND_DEPTH:
            raise bad_parameter(
                f"You cannot expand more than {MAX_EXPAND_DEPTH} levels of a property.",
                param="expand")
        shape = self.shapes[kind]
        self._expand(rendered, (sdk_class(shape.sdk),), _Place(shape, obj), parts,
                     within + path)

    def _expand(self, value: dict[str, Any], classes: tuple[type, ...], place: _Place,
                parts: list[str], path: str) -> None:
        from .expansion import field_of

        if value.get("deleted"):
            return
        name, rest = parts[0], parts[1:]
        step = field_of(classes, name)
        relative = place.prefix + name
        include = None if place.shape is None else place.shape.included.get(relative)
        if step is None or (not rest and not step.targets and include is None):
            raise bad_parameter(f"This property cannot be expanded ({path}).", param="expand")
        if name not in value:
            if include is None:
                return  # a field this sandbox leaves out: nothing to expand in it
            value[name] = include(place.obj, self)
        if step.targets:
            value[name] = self._expanded(value[name], step.targets)
        if not rest:
            return
        nested = value[name]
        if step.listed:
            if rest[0] != "data" or len(rest) == 1 or not isinstance(nested, dict):
                raise bad_parameter(f"This property cannot be expanded ({path}).",
                                    param="expand")
            elements, rest = nested.get("data", []), rest[1:]
        else:
            elements = nested if isinstance(nested, list) else [nested]
        for element in elements:
            if isinstance(element, dict):
                self._expand(element, step.inner, self._place_of(element, place, relative),
                             rest, path)

    def _expanded(self, value: Any, targets: tuple[type, ...]) -> Any:
        """Ids (one or a list) replaced by the objects they name, where this sandbox has them."""
        from .expansion import object_name

        if isinstance(value, list):
            return [self._expanded(one, targets) for one in value]
        if not isinstance(value, str):
            return value
        for target in targets:
            kind = object_name(target)
            found = self.find(kind, value) if kind in self._stores else None
            if found is not None:
                return self.render(found)
        return value

    def _place_of(self, element: dict[str, Any], outer: _Place, relative: str) -> _Place:
        """Where a nested object sits: in a new object if it is one (it has an ``object``
        this sandbox renders), else further into ``outer``."""
        kind = element.get("object")
        if isinstance(kind, str) and kind in self.shapes and "id" in element:
            found = self.find(kind, element["id"]) if kind in self._stores else None
            return _Place(self.shapes[kind], found)
        return _Place(outer.shape, outer.obj, relative + ".")


@attrs.frozen
class _Place:
    """The object a path is going through (its shape and model, if known) and where in it."""

    shape: Shape | None
    obj: Any
    prefix: str = ""


def markdown_table(resources: list[Resource]) -> str:
    """The resources' list filters and search fields as the Markdown table docs/SANDBOX.md
    shows (tested to match); those an index answers in bold."""
    lines = ["| object | list filters | search fields |", "| --- | --- | --- |"]
    for resource in resources:
        store = resource.new_store()
        filters = [f"`{found.param}` (finds none)" if isinstance(found, Refused)
                   else _shown(found.param, found.field, store) for found in resource.filters]
        fields = [_shown(name, spec.path[0], store) for name, spec in resource.search.items()]
        lines.append(f"| {resource.kind} | {', '.join(filters)} | "
                     f"{', '.join(fields) or 'no search'} |")
    return "\n".join(lines)


def _shown(name: str, field: str, store: Store[Any]) -> str:
    indexed = (field in store.fields or field == "created"
               or (field == "metadata" and store.metadata))
    return f"**`{name}`**" if indexed else f"`{name}`"
