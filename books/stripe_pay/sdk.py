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
import re

import attrs

_REQUEST = re.compile(r'self\._request(?:_async)?\(\s*"(\w+)",\s*"([^"]+)"')
_PARAMS = re.compile(r'"(\w+Params)"')
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@attrs.frozen
class Route:
    """One SDK service method's request: ``POST /v1/invoices/{id}/void`` with
    ``InvoiceVoidInvoiceParams``. The first placeholder of the path is named ``{id}``: the
    record the operation acts on; ``placeholders`` are the SDK's own names, in order."""

    http: str
    path: str
    params: str
    placeholders: tuple[str, ...]


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
    source = inspect.getsource(function)
    request = _REQUEST.search(source)
    params = _PARAMS.search(source)
    if request is None or params is None:
        raise KeyError(f"cannot read the request {cls.__name__}.{method} sends")
    path = request.group(2)
    names = tuple(_PLACEHOLDER.findall(path))
    if names:
        path = path.replace("{" + names[0] + "}", "{id}", 1)
    return Route(request.group(1).upper(), path, params.group(1), names)
