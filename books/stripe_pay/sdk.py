"""What the ``stripe`` SDK knows about each request, read from its service classes.

Every service method of the SDK sends one request with ``self._request(METHOD, PATH...)``
and takes its parameters as a ``stripe.params`` TypedDict. The book declares only which
service method performs each of its operations (:mod:`stripe_pay.objects`); the HTTP
method, the path and the parameters' type are read here, from the installed SDK, so they
follow the pinned API version instead of being copied.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import linecache
import re
from typing import Any

import attrs

_REQUEST = re.compile(r'self\._request(?:_async)?\(\s*"(\w+)",\s*"([^"]+)"')
_PARAMS = re.compile(r'"(\w+Params)"')
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_RETURNS = re.compile(r'->\s*"(\w+)"')


@attrs.frozen
class Route:
    """One SDK service method's request: ``POST /v1/invoices/{id}/void`` with
    ``InvoiceVoidInvoiceParams``. The first placeholder of the path is named ``{id}``: the
    record the operation acts on; ``placeholders`` are the SDK's own names, in order."""

    http: str
    path: str
    params: str
    placeholders: tuple[str, ...]
    #: the SDK resource class the method answers with, e.g. ``stripe._invoice.Invoice``
    returns: str = ""
    #: the module the params TypedDict lives in (``stripe.params.checkout...``)
    params_module: str = ""


def service_class(service: str) -> type:
    """The SDK class behind ``StripeClient.v1.<service>`` (dotted for nested services:
    ``checkout.sessions``, ``test_helpers.test_clocks``)."""
    module = importlib.import_module("stripe._v1_services")
    found: type | None = None
    for part in service.split("."):
        table = getattr(module, "_subservices", None)
        if table is None or part not in table:
            raise KeyError(f"the stripe SDK has no service {service!r}")
        import_from, name = table[part]
        module = importlib.import_module(import_from)
        found = getattr(module, name)
    assert found is not None
    return found


@functools.cache
def route(service: str, method: str) -> Route:
    """The request ``service``'s ``method`` sends, as the SDK's own source says."""
    cls = service_class(service)
    function = getattr(cls, method, None)
    if function is None:
        raise KeyError(f"the stripe SDK's {cls.__name__} has no method {method!r}")
    source = _source(function)
    request = _REQUEST.search(source)
    params = _PARAMS.search(source)
    if request is None or params is None:
        raise KeyError(f"cannot read the request {cls.__name__}.{method} sends")
    path = request.group(2)
    names = tuple(_PLACEHOLDER.findall(path))
    if names:
        path = path.replace("{" + names[0] + "}", "{id}", 1)
    returns = _RETURNS.search(source)
    return Route(request.group(1).upper(), path, params.group(1), names,
                 _qualified(cls, returns.group(1)) if returns else "",
                 _qualified(cls, params.group(1)).rpartition(".")[0])


def _source(function: Any) -> str:
    """A method's source: its lines up to the next method (as ``inspect.getsource`` would
    give, without tokenizing the file, which costs a run's start several ms)."""
    code = function.__code__
    lines = linecache.getlines(code.co_filename)
    body = [lines[code.co_firstlineno - 1]]
    for line in lines[code.co_firstlineno:]:
        if line.startswith(("    def ", "    async def ", "    @")):
            break
        body.append(line)
    return "".join(body)


def _qualified(cls: type, name: str) -> str:
    """Where a class a service method names lives: the service module imports it (for
    type checkers only) as ``from stripe._invoice import Invoice``."""
    filename = inspect.getsourcefile(cls) or ""
    module = "".join(linecache.getlines(filename))
    found = re.search(rf"from (stripe[\w.]*) import \(?\s*{name}\b", module)
    return f"{found.group(1)}.{name}" if found else ""


def params_class(module: str, name: str) -> type:
    """The params TypedDict ``name`` (from ``module`` when known, else ``stripe.params``)."""
    found: type = getattr(importlib.import_module(module or "stripe.params"), name)
    return found


def resource_class(service: str) -> type:
    """The SDK resource class a service's records are: what its ``retrieve`` returns, or
    its ``create`` for a service that cannot retrieve (a billing portal session)."""
    cls = service_class(service)
    qualified = route(service, "retrieve" if hasattr(cls, "retrieve") else "create").returns
    if not qualified:
        raise KeyError(f"cannot tell what the stripe SDK's {service!r} service returns")
    module, _, name = qualified.rpartition(".")
    found: type = getattr(importlib.import_module(module), name)
    return found
