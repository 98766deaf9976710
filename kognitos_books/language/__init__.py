"""The automation language: English commands in, :mod:`~kognitos_books.language.ast`
objects with exact positions out.

``parse`` reads a whole automation, ``parse_command`` one command, ``read_automation`` a
file. Every problem is a :class:`LanguageError` that shows the line and points at the
words at fault; ``closest`` and ``did_you_mean`` help write such messages.
"""

from typing import TYPE_CHECKING, Any

from .ast import (
    OPS,
    AllOf,
    AnyOf,
    Automation,
    Boolean,
    Command,
    Condition,
    Date,
    DateTime,
    FieldPath,
    Input,
    ListValue,
    Money,
    Number,
    Reference,
    Span,
    Target,
    TargetWord,
    Text,
    Value,
    Where,
)
from .errors import LanguageError, LanguageErrors, closest, did_you_mean

if TYPE_CHECKING:
    from .parser import parse, parse_command, read_automation

#: Imported on first use: a run of an automation checked before needs no parser.
_LAZY = ("parse", "parse_command", "read_automation")


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from . import parser

    value = getattr(parser, name)
    globals()[name] = value
    return value

__all__ = [
    "OPS",
    "AllOf",
    "AnyOf",
    "Automation",
    "Boolean",
    "Command",
    "Condition",
    "Date",
    "DateTime",
    "FieldPath",
    "Input",
    "LanguageError",
    "LanguageErrors",
    "ListValue",
    "Money",
    "Number",
    "Reference",
    "Span",
    "Target",
    "TargetWord",
    "Text",
    "Value",
    "Where",
    "closest",
    "did_you_mean",
    "parse",
    "parse_command",
    "read_automation",
]
