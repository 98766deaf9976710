"""Stripe's search query language, for the ``/v1/<resources>/search`` endpoints.

A query is one or more clauses joined by ``AND`` or by ``OR`` (never both; no parentheses; at
most 10 clauses). A clause is ``field:value`` (exact), ``field~value`` (substring, 3+ characters,
on the fields Stripe types as "string"), ``field>value`` / ``<`` / ``>=`` / ``<=`` (numbers and
timestamps), any of them negated with a leading ``-`` (``-name~'jen'``: every record the clause
does not hold for, those without the field included). ``metadata['key']:value`` matches a
metadata entry. Values are quoted with ``'`` or
``"`` (a backslash escapes the next character); numbers, ``true``/``false`` and ``null`` may be
bare. Only the fields Stripe documents as searchable for each resource are accepted; each
family declares its resources' fields (``Resource.search``) with :func:`text`, :func:`number`,
:func:`boolean` and :data:`METADATA`.

:func:`parse` checks a query against a resource's fields and returns a :class:`Query` that
matches rendered objects. Text comparisons ignore case.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import attrs

from .errors import ApiError, invalid_request

MAX_CLAUSES = 10
MIN_SUBSTRING = 3


@attrs.frozen
class Field:
    """A searchable field: where it lives in the rendered object and how it compares."""

    kind: str  # "text" (exact, maybe substring), "number", "boolean" or "metadata"
    path: tuple[str, ...]
    substring: bool = False


def text(*path: str, substring: bool = False) -> Field:
    """A text field at ``path``: exact matches, and substrings if ``substring``."""
    return Field("text", path, substring)


def number(*path: str) -> Field:
    """A number or timestamp at ``path``: exact matches and comparisons."""
    return Field("number", path)


def boolean(*path: str) -> Field:
    return Field("boolean", path)


METADATA = Field("metadata", ("metadata",))


_COMPARISONS = (">=", "<=", ">", "<")
_NAME = re.compile(r"[a-z_]+")
_BARE = re.compile(r"-?[0-9]+(?:\.[0-9]+)?|true|false|null")
_CONNECTIVE = re.compile(r"\s+(AND|OR)\s+")


@attrs.frozen
class Clause:
    """One comparison; ``value`` None stands for ``null``."""

    field: str
    key: str | None
    op: str
    value: str | None
    negated: bool

    def matches(self, doc: Mapping[str, Any], spec: Field) -> bool:
        actual: Any = doc
        for part in spec.path:
            actual = actual.get(part) if isinstance(actual, Mapping) else None
        if self.key is not None:
            actual = actual.get(self.key) if isinstance(actual, Mapping) else None
        return self._compare(actual, spec) != self.negated

    def _compare(self, actual: Any, spec: Field) -> bool:
        if self.value is None:
            return actual is None
        if actual is None:
            return False
        if spec.kind == "number":
            number = float(self.value)
            return {
                ":": actual == number, ">": actual > number, "<": actual < number,
                ">=": actual >= number, "<=": actual <= number,
            }[self.op]
        if spec.kind == "boolean":
            return actual is (self.value == "true")
        if self.op == "~":
            return self.value.casefold() in str(actual).casefold()
        return str(actual).casefold() == self.value.casefold()


@attrs.frozen
class Query:
    """A parsed search query for one resource."""

    resource: str
    clauses: tuple[Clause, ...]
    conjunction: str
    fields: Mapping[str, Field] = attrs.field(eq=False, repr=False)

    def matches(self, doc: Mapping[str, Any]) -> bool:
        """Whether a rendered object satisfies the query."""
        fields = self.fields
        results = (clause.matches(doc, fields[clause.field]) for clause in self.clauses)
        return all(results) if self.conjunction == "AND" else any(results)


def _error(message: str) -> ApiError:
    return invalid_request(message, param="query")


def parse(query: str, resource: str, fields: Mapping[str, Field]) -> Query:
    """Parse ``query`` for ``resource`` (a Stripe object name), whose searchable ``fields`` are
    declared by its family.

    Raises a 400 :class:`ApiError` (param ``query``) that says what is wrong and where.
    """
    if not query.strip():
        raise _error("The search query is empty. Write clauses like email:'jenny@example.com'.")
    if "(" in _outside_quotes(query) or ")" in _outside_quotes(query):
        raise _error("Parentheses are not supported in search queries.")
    scanner = _Scanner(query.strip(), resource, fields)
    clauses = [scanner.clause()]
    connectives: set[str] = set()
    while not scanner.done():
        connectives.add(scanner.connective())
        clauses.append(scanner.clause())
    if len(connectives) > 1:
        raise _error("A search query can combine clauses with AND or with OR, not both.")
    if len(clauses) > MAX_CLAUSES:
        raise _error(f"A search query can have at most {MAX_CLAUSES} clauses; this one has "
                     f"{len(clauses)}.")
    return Query(resource, tuple(clauses), connectives.pop() if connectives else "AND", fields)


def _outside_quotes(query: str) -> str:
    kept = []
    quote = None
    escaped = False
    for char in query:
        if quote is not None:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        else:
            kept.append(char)
    return "".join(kept)


class _Scanner:
    def __init__(self, text: str, resource: str, fields: Mapping[str, Field]) -> None:
        self.text = text
        self.pos = 0
        self.resource = resource
        self.fields = fields

    def done(self) -> bool:
        return self.pos >= len(self.text)

    def _fail(self, expected: str) -> ApiError:
        found = self.text[self.pos:self.pos + 12] or "the end of the query"
        return _error(f"Invalid search query at position {self.pos}: expected {expected}, "
                      f"found '{found}'.")

    def connective(self) -> str:
        match = _CONNECTIVE.match(self.text, self.pos)
        if match is None:
            raise self._fail("AND or OR between clauses")
        self.pos = match.end()
        return match.group(1)

    def clause(self) -> Clause:
        negated = self.text.startswith("-", self.pos)
        if negated:
            self.pos += 1
        match = _NAME.match(self.text, self.pos)
        if match is None:
            raise self._fail("a field name")
        name = match.group()
        self.pos = match.end()
        spec = self.fields.get(name)
        if spec is None:
            raise _error(f"Field '{name}' is not searchable on {self.resource}s. Searchable "
                         f"fields: {', '.join(sorted(self.fields))}.")
        key = None
        if spec.kind == "metadata":
            if not self.text.startswith("[", self.pos):
                raise self._fail("a metadata key like metadata['key']")
            self.pos += 1
            key = self._quoted()
            if not self.text.startswith("]", self.pos):
                raise self._fail("']' after the metadata key")
            self.pos += 1
        op = self._operator()
        value = self._value()
        self._check(name, spec, op, value)
        return Clause(name, key, op, value, negated)

    def _operator(self) -> str:
        for op in (*_COMPARISONS, ":", "~"):
            if self.text.startswith(op, self.pos):
                self.pos += len(op)
                return op
        raise self._fail("an operator (:, ~, >, <, >= or <=)")

    def _value(self) -> str | None:
        if self.done():
            raise self._fail("a value")
        if self.text[self.pos] in "'\"":
            return self._quoted()
        match = _BARE.match(self.text, self.pos)
        end = match.end() if match else self.pos
        if match is None or (end < len(self.text) and not self.text[end].isspace()):
            raise self._fail("a quoted value such as 'text' (or a bare number, true, false or "
                             "null)")
        self.pos = end
        return None if match.group() == "null" else match.group()

    def _quoted(self) -> str:
        quote = self.text[self.pos] if not self.done() else ""
        if quote not in ("'", '"'):
            raise self._fail("a quoted string")
        chars = []
        index = self.pos + 1
        while index < len(self.text):
            char = self.text[index]
            if char == "\\" and index + 1 < len(self.text):
                chars.append(self.text[index + 1])
                index += 2
                continue
            if char == quote:
                self.pos = index + 1
                return "".join(chars)
            chars.append(char)
            index += 1
        raise _error(f"Invalid search query: the quote opened at position {self.pos} is never "
                     "closed.")

    @staticmethod
    def _check(name: str, spec: Field, op: str, value: str | None) -> None:
        if op == "~":
            if not spec.substring:
                raise _error(f"Field '{name}' does not support substring matching (~); use "
                             f"{name}:'value'.")
            if value is None or len(value) < MIN_SUBSTRING:
                raise _error(f"Substring matching (~) needs at least {MIN_SUBSTRING} "
                             f"characters; '{value or ''}' is too short.")
        if op in _COMPARISONS and spec.kind != "number":
            raise _error(f"Field '{name}' does not support the {op} operator; only numeric "
                         "fields and timestamps do.")
        if value is None:
            if op != ":":
                raise _error(f"null can only be matched with ':' (as in {name}:null).")
            return
        if spec.kind == "number":
            try:
                float(value)
            except ValueError:
                raise _error(f"Field '{name}' needs a number, not '{value}'.") from None
        if spec.kind == "boolean" and value not in ("true", "false"):
            raise _error(f"Field '{name}' needs true or false, not '{value}'.")
