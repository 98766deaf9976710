"""kognitos_books: a small host for English automation books.

Books are plugins found through the ``kognitos_books`` entry-point group. This module is
the one public import surface for automation code and book authors alike.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .hookspecs import hookimpl, hookspec
    from .model import (
        RECORD_DUTIES,
        Action,
        And,
        Book,
        BookError,
        Call,
        Condition,
        ConfigurationError,
        Connection,
        Credential,
        CredentialsRejected,
        DeliveryRejected,
        Endpoint,
        Event,
        Field,
        Filter,
        InvalidCall,
        KbooksError,
        NotConnected,
        Noun,
        Or,
        Plan,
        PlannedRequest,
        Problem,
        Procedure,
        Record,
        Relation,
        Secret,
        Setting,
        Trigger,
        UnknownProcedure,
        mask,
    )
    from .runtime import Runtime

__version__ = "0.1.0"

__all__ = [
    "RECORD_DUTIES",
    "Action",
    "And",
    "Book",
    "BookError",
    "Call",
    "Condition",
    "ConfigurationError",
    "Connection",
    "Credential",
    "CredentialsRejected",
    "DeliveryRejected",
    "Endpoint",
    "Event",
    "Field",
    "Filter",
    "InvalidCall",
    "KbooksError",
    "NotConnected",
    "Noun",
    "Or",
    "Plan",
    "PlannedRequest",
    "Problem",
    "Procedure",
    "Record",
    "Relation",
    "Runtime",
    "Secret",
    "Setting",
    "Trigger",
    "UnknownProcedure",
    "hookimpl",
    "hookspec",
    "mask",
]


# Imported on first use so that `kbooks --version` starts without pluggy or attrs.
_HOME = {"hookimpl": "hookspecs", "hookspec": "hookspecs", "Runtime": "runtime"}


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module 'kognitos_books' has no attribute {name!r}")
    import importlib

    module = importlib.import_module(f".{_HOME.get(name, 'model')}", __name__)
    value = getattr(module, name)
    globals()[name] = value
    return value
