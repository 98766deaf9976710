"""The automation language: English commands in, :mod:`~kognitos_books.language.ast`
objects with exact positions out.

``parse`` reads a whole automation, ``parse_command`` one command, ``read_automation`` a
file. Every problem is a :class:`LanguageError` that shows the line and points at the
words at fault; ``closest`` and ``did_you_mean`` help write such messages.
"""

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
from .parser import parse, parse_command, read_automation

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
