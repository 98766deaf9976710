"""Reading conditions: ``whose`` conditions on the fields of records, and the checks of an
``if``. A field's words end where a comparison starts (``whose period end is after ...``);
``and`` binds tighter than ``or`` in both.
"""

from __future__ import annotations

from .ast import (
    AllOf,
    AnyOf,
    Both,
    Check,
    Condition,
    Either,
    Empty,
    FieldPath,
    ListValue,
    Not,
    Reference,
    Span,
    Test,
    Value,
    Where,
)
from .keywords import (
    COMPARISONS_HINT,
    FIELD_STOPS,
    FIELD_STOPS_BEFORE,
    IS,
    IS_NOT,
    NAME_STOPS,
    NEGATED,
    NOT_TEXT,
)
from .line import Token
from .tokens import join
from .values import ValueReader

__all__ = ["ConditionReader"]


def _span_of(item: Check) -> Span:
    return item.span


class ConditionReader(ValueReader):
    """Reads conditions and checks from a line's tokens."""

    def where(self, whose: Token) -> Where:
        """``whose CONDITION {(and|or) [whose] CONDITION}``; ``and`` binds tighter."""
        if self.at_end():
            raise self.fail_here('"whose" needs a condition',
                                 hint='like: whose email is "jane@example.com"')
        first = self.condition(whose)
        if self.word() not in ("and", "or"):
            return first  # (the most common: one condition)
        groups: list[list[Where]] = [[first]]
        while self.word() in ("and", "or"):
            joiner = after = self.take()
            if self.word() == "whose":
                after = self.take()
            condition = self.condition(after)
            if joiner.word == "or":
                groups.append([condition])
            else:
                groups[-1].append(condition)
        alls: list[Where] = [
            group[0] if len(group) == 1 else AllOf(tuple(group), group[0].span.to(group[-1].span))
            for group in groups
        ]
        if len(alls) == 1:
            return alls[0]
        return AnyOf(tuple(alls), alls[0].span.to(alls[-1].span))

    def condition(self, after: Token) -> Condition:
        field = self.field(after)
        op, op_raw, op_span, value = self.compared(field)
        return Condition(field, op, op_raw, value, field.span.to(value.span), op_span)

    def compared(self, field: FieldPath) -> tuple[str, str, Span, Value]:
        """The comparison after ``field`` and the value it compares with: ``(op, wording,
        span, value)``; the value of ``one of`` is always a list."""
        op, op_raw, op_span = self.comparison(field)
        value = self.value(self.last)
        if op == "one of" and not isinstance(value, ListValue):
            value = ListValue((value,), None, value.span)
        return op, op_raw, op_span, value

    def field(self, after: Token) -> FieldPath:
        """``WORDS {'s WORDS}`` up to a comparison."""
        start = self.peek()
        parts: list[str] = []
        while True:
            words = self.field_words()
            if not words:
                if parts:
                    raise self.fail_here(f"expected a field after \"'s\", found {self.found()}",
                                         hint="like: the metadata's plan")
                if start is not None and start.kind == "possessive":
                    raise self.fail_here(f"expected a field before \"'s\", found {self.found()}")
                raise self.fail_here(f'expected a field after "{after.raw}", found '
                                     f"{self.found()}", hint='like: email, unit amount, '
                                     "metadata's plan")
            parts.append(join(words, "_"))
            token = self.peek()
            if token is None or token.kind != "possessive":
                break
            self.take()
        assert start is not None
        last = self.last
        return FieldPath(tuple(parts), self.line.text[start.column - 1:last.end - 1],
                         self.line.span(start, last))

    def field_words(self) -> list[Token]:
        """The words of one part of a field name, up to a comparison or a joining word."""
        start = index = self.index
        words = self._words
        while (word := words[index] if index < self.size else None) is not None \
                and word not in FIELD_STOPS \
                and not (word in FIELD_STOPS_BEFORE
                         and self.word(index + 1 - start) == FIELD_STOPS_BEFORE[word]):
            index += 1
        self.index = index
        return self.tokens[start:index]

    def comparison(self, field: FieldPath) -> tuple[str, str, Span]:
        """The comparison after a field: ``(op, wording, span)``."""
        word = self.word()
        first = self.peek()
        if first is None or word is None:
            raise self.fail_here(f'missing comparison after "{field.raw}", found '
                                 f"{self.found()}", hint=COMPARISONS_HINT)
        op: str
        if word in IS_NOT:
            self.take()
            op = "is not"
        elif word in NOT_TEXT:
            self.take()
            if word in ("does", "do") and self.word() == "not":
                self.take()
            said = self.line.text[first.column - 1:self.last.end - 1]
            text_op = self.text_comparison(said)
            if text_op is None:
                raise self.fail_here(
                    f'expected "contain", "start with" or "end with" after "{said}", found '
                    f"{self.found()}", hint='to say a field differs from a value, write "is not"')
            op = NEGATED[text_op]
        elif word in IS:
            self.take()
            op = self.after_is()
        elif (text_op := self.text_comparison()) is not None:
            op = text_op
        else:
            raise self.fail_here(f'missing comparison after "{field.raw}", found '
                                 f"{self.found()}", hint=COMPARISONS_HINT)
        last = self.last
        return op, self.line.text[first.column - 1:last.end - 1], self.line.span(first, last)

    def text_comparison(self, said: str | None = None) -> str | None:
        """``contains``, ``starts with`` or ``ends with`` (in any of their wordings) when one
        comes next, else None with nothing taken. ``said`` is the negation before it, for
        errors."""
        word = self.word()
        if word in ("contains", "contain"):
            self.take()
            return "contains"
        if word not in ("starts", "start", "ends", "end"):
            return None
        verb = self.take()
        if self.word() != "with":
            wording = f"{said} {verb.raw}" if said else verb.raw
            raise self.fail_here(f'expected "with" after "{wording}", found {self.found()}')
        self.take()
        return "starts with" if word in ("starts", "start") else "ends with"

    def after_is(self) -> str:
        """The rest of a comparison that starts with ``is``, which has been taken."""
        word = self.word()
        following = self.word(1)
        if word == "not":
            self.take()
            if self.word() == "one" and self.word(1) == "of":
                raise self.fail_here(
                    '"is not one of" is not supported',
                    hint='join conditions instead: status is not "a" and status is not "b"',
                )
            return "is not"
        if word in ("greater", "more", "less"):
            if following != "than":
                self.take()
                raise self.fail_here(f'expected "than" after "{word}", found {self.found()}')
            self.take()
            self.take()
            if self.word() == "or" and self.word(1) == "equal" and self.word(2) == "to":
                for _ in range(3):
                    self.take()
                return "<=" if word == "less" else ">="
            return "<" if word == "less" else ">"
        if word == "at" and following in ("least", "most"):
            self.take()
            self.take()
            return ">=" if following == "least" else "<="
        if word in ("after", "before"):
            self.take()
            return ">" if word == "after" else "<"
        if word == "one":
            self.take()
            if self.word() != "of":
                raise self.fail_here(f'expected "of" after "one", found {self.found()}')
            self.take()
            return "one of"
        if word == "equal" and following == "to":
            self.take()
            self.take()
        return "is"

    def check(self) -> Check:
        """``CHECK {(and|or) CHECK}``; ``and`` binds tighter."""
        if self.at_end():
            raise self.fail_here('"if" needs a condition',
                                 hint="like: if the invoice's amount due is more than $100")
        groups: list[list[Check]] = [[self.check_one()]]
        while self.word() in ("and", "or"):
            joiner = self.take()
            item = self.check_one()
            if joiner.word == "or":
                groups.append([item])
            else:
                groups[-1].append(item)
        alls: list[Check] = [group[0] if len(group) == 1 else
                             Both(tuple(group), _span_of(group[0]).to(_span_of(group[-1])))
                             for group in groups]
        if len(alls) == 1:
            return alls[0]
        return Either(tuple(alls), _span_of(alls[0]).to(_span_of(alls[-1])))

    def check_one(self) -> Check:
        first = self.peek()
        assert first is not None or self.at_end()
        if first is None:
            raise self.fail_here("expected a condition, found the end of the line")
        if first.word == "not":
            self.take()
            item = self.check_one()
            return Not(item, self.line.span(first).to(_span_of(item)))
        if first.word == "there" and self.word(1) in ("is", "are"):
            self.take()
            self.take()
            empty = self.word() == "no"
            if empty:
                self.take()
            noun = self.words(NAME_STOPS)
            if not noun:
                raise self.fail_here(f"expected what there are, found {self.found()}",
                                     hint="like: there are no invoices")
            raw = self.line.text[noun[0].column - 1:noun[-1].end - 1]
            ref = Reference(join(noun), (), f"the {raw}", self.line.span(noun[0], noun[-1]))
            return Empty(ref, not empty, self.line.span(first, self.last))
        left: Value
        if first.word == "the" and self.word(1) in ("number", "total") and self.word(2) == "of":
            left = self.aggregate()
        elif first.word == "the":
            left = self.check_reference(self.take())
        else:
            left = self.single_value(first)
        if isinstance(left, Reference) and self.word() in IS and (
                self.word(1) == "empty" or (self.word(1) == "not" and self.word(2) == "empty")):
            self.take()
            negated = self.word() == "not"
            if negated:
                self.take()
            self.take()
            return Empty(left, negated, left.span.to(self.line.span(self.last)))
        parts = left.path if isinstance(left, Reference) and left.path else ("value",)
        field = FieldPath(parts, getattr(left, "raw", ""), left.span)
        op, op_raw, op_span, right = self.compared(field)
        return Test(left, op, op_raw, right, left.span.to(right.span), op_span)

    def check_reference(self, the: Token) -> Reference:
        """``the NOUN {'s FIELD}`` before a comparison (a field's words end where the
        comparison starts: ``the customer's email ends with ...``)."""
        return self.reference_after(the, self.field_words, "like: the invoice's amount due",
                                    "like: the invoice's amount due")
