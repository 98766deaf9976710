"""Reading the line that starts a statement: what kind of line it is
(:meth:`Reader.statement_kind`), and the command, loop or input on it. Blocks, and which
lines belong to which statement, are :mod:`~kognitos_books.language.blocks`' business.
"""

from __future__ import annotations

import attrs

from .ast import (
    Command,
    Input,
    Moment,
    Reference,
    Span,
    Target,
    TargetWord,
    Value,
    Where,
    new_span,
)
from .conditions import ConditionReader
from .keywords import (
    DETERMINERS,
    FORM_WORDS,
    NAME_STOPS,
    PREPOSITIONS,
    SCHEDULE_OPENERS,
    STATEMENT_WORDS,
)
from .line import Token
from .tokens import join
from .triggers import TriggerReader

__all__ = ["Head", "Reader"]


@attrs.define
class Head:
    """A command line's parts while it is being read; becomes a :class:`Command`."""

    verb: str
    verb_span: Span
    noun: str = ""
    noun_span: Span | None = None
    determiner: str | None = None
    determiner_span: Span | None = None
    complement: str | None = None
    complement_span: Span | None = None
    preposition: str | None = None
    preposition_span: Span | None = None
    target: Target | None = None
    whose: Where | None = None
    inputs_keyword: str | None = None
    inputs_keyword_span: Span | None = None
    inputs: tuple[Input, ...] = ()
    span: Span | None = None
    named: str | None = None
    named_span: Span | None = None
    amount: Value | None = None
    amount_span: Span | None = None
    thing: Value | None = None
    phrase: str | None = None
    phrase_span: Span | None = None
    time: Value | None = None
    by: Moment | None = None
    time_span: Span | None = None
    owner: Reference | None = None

    def command(self, text: str, inputs: tuple[Input, ...]) -> Command:
        assert self.noun_span is not None and self.span is not None
        return Command(
            verb=self.verb, verb_span=self.verb_span,
            determiner=self.determiner, determiner_span=self.determiner_span,
            noun=self.noun, noun_span=self.noun_span,
            complement=self.complement, complement_span=self.complement_span,
            preposition=self.preposition, preposition_span=self.preposition_span,
            target=self.target, whose=self.whose,
            inputs_keyword=self.inputs_keyword, inputs_keyword_span=self.inputs_keyword_span,
            inputs=inputs, text=text, span=self.span, named=self.named,
            named_span=self.named_span, amount=self.amount, amount_span=self.amount_span,
            thing=self.thing, phrase=self.phrase, phrase_span=self.phrase_span,
            time=self.time, by=self.by, time_span=self.time_span, owner=self.owner,
        )


class Reader(TriggerReader, ConditionReader):
    """Recursive descent over the tokens of one line."""

    def statement_kind(self) -> str:
        """What the line is: ``loop``, ``if``, ``otherwise``, ``stop``, ``fail``, ``say``,
        ``show``, ``zone`` (``in time zone "..."``), ``when``, ``schedule`` (``every ...``,
        ``on the ...``), or a ``command``."""
        first, second = self.word(), self.word(1)
        if first == "in" and second == "time" and self.word(2) == "zone":
            return "zone"
        if first not in STATEMENT_WORDS:
            return "command"
        if first in SCHEDULE_OPENERS:
            return "schedule"
        if first == "when":
            return "when"
        if first in ("for", "process") and second == "each":
            return "loop"
        if first in ("if", "otherwise", "else", "say", "show"):
            return first if first != "else" else "otherwise"
        if first == "stop" and len(self.tokens) == 1:
            return "stop"
        if first == "fail" and second == "with":
            return "fail"
        return "command"

    def command(self) -> Head:
        """The parts of a command line (its inputs too when they are on the line)."""
        first = self.peek()
        if first is None or first.word is None or first.word in NAME_STOPS:
            raise self.fail_here(
                f"a command starts with a verb, like get or create; found {self.found()}"
            )
        verb = self.take()
        head = Head(first.word, self.line.span(verb))
        amount = self.peek()
        if amount is not None and amount.kind in ("money", "number") and self.word(1) == "of":
            # "refund $5.00 of the charge": how much of the record the verb acts on
            head.amount = self.single_value(verb)
            head.amount_span = self.line.span(amount, self.take())
        if self.word() in DETERMINERS:
            determiner = self.take()
            end = determiner
            if determiner.word == "all" and self.word() == "the":
                end = self.take()  # "all the invoices"
            head.determiner = determiner.word
            head.determiner_span = self.line.span(determiner, end)
        noun = self.words(NAME_STOPS)
        if not noun:
            said = self.line.text[verb.column - 1:self.last.end - 1]
            raise self.fail_here(
                f'expected a noun after "{said}", found {self.found()}',
                hint=f"say what to {verb.word}, like: {verb.word} a customer",
            )
        head.noun = join(noun)
        head.noun_span = self.line.span(noun[0], noun[-1])
        possessive = self.peek()
        if (head.determiner == "the" and possessive is not None
                and possessive.kind == "possessive" and len(possessive.raw) > 1
                and self.kind(1) == "word"):
            # "get the invoice's customer": a record related to one an earlier step made
            path: list[str] = []
            while self.kind() == "possessive" and self.kind(1) == "word":
                self.take()
                path.append(join(self.words(NAME_STOPS), "_"))
            start = head.determiner_span
            assert start is not None
            head.owner = Reference(head.noun, tuple(path), "the " + self.raw(noun[0], self.last),
                                   new_span(self.line.number, start.column, self.last.end))
            head.noun = path[-1].replace("_", " ")
            head.noun_span = self.line.span(noun[0], self.last)
        if self.kind() == "text" and self.word(1) in PREPOSITIONS:
            # "apply the coupon "SUMMER25" to the subscription": which one, by its id
            head.thing = self.single_value(noun[-1])
        self.clauses(head)
        head.span = self.line.span(verb, self.last)
        return head

    def clauses(self, head: Head) -> None:
        while not self.at_end():
            word = self.word()
            if word == "as" and self.word(1) == "the" and head.named is None:
                self.take()
                the = self.take()
                words = self.words(NAME_STOPS)
                if not words:
                    raise self.fail_here(f'expected a name after "as the", found {self.found()}',
                                         hint='like: get all invoices from stripe whose status '
                                         'is "open" as the open invoices')
                head.named = join(words)
                head.named_span = self.line.span(the, words[-1])
            elif word == "as" and head.complement is None:
                self.take()
                words = self.words(NAME_STOPS)
                if not words:
                    raise self.fail_here(
                        f'expected a word after "as", found {self.found()}',
                        hint="like: mark the invoice as uncollectible",
                    )
                head.complement = join(words)
                head.complement_span = self.line.span(words[0], words[-1])
            elif word == "at" and head.phrase is None:
                at = self.take()
                said: list[Token] = []
                while not self.at_end() and self.word() not in ("with", "where") \
                        and self.peek().word is not None:  # type: ignore[union-attr]
                    said.append(self.take())
                if not said:
                    raise self.fail_here(f'expected words after "at", found {self.found()}',
                                         hint="like: cancel the subscription at the end of "
                                         "the period")
                head.phrase = "at " + join(said)
                head.phrase_span = self.line.span(at, said[-1])
            elif word == "by" and head.time_span is None:
                by = self.take()
                moment = None
                if self.kind() == "number" and self._unit(1):
                    moment = self._counted(self.peek(), "by")  # type: ignore[arg-type]
                if moment is None:
                    raise self.fail_here(f'expected a duration after "by", found '
                                         f"{self.found()}",
                                         hint="like: advance the test clock by 1 month "
                                         "(days, weeks, months or years)")
                head.by = moment
                head.time_span = self.line.span(by, self.last)
            elif word == "to" and head.time_span is None and head.preposition is None \
                    and self._time_follows():
                to = self.take()
                head.time = self.single_value(to)
                head.time_span = self.line.span(to, self.last)
            elif word in PREPOSITIONS and head.preposition is None:
                preposition = self.take()
                head.preposition = preposition.word
                head.preposition_span = self.line.span(preposition)
                head.target = self.target(preposition)
            elif word == "whose" and head.whose is None:
                head.whose = self.where(self.take())
                if not self.at_end() and self.word() not in ("as", "with", "where",
                                                             *PREPOSITIONS, *FORM_WORDS):
                    raise self.fail_here(f"unexpected {self.found()} after the condition; "
                                         f'expected "and", "or", {self.expected(head)}')
            elif word in ("with", "where"):
                keyword = self.take()
                head.inputs_keyword = keyword.word
                head.inputs_keyword_span = self.line.span(keyword)
                if self.kind() == "colon":
                    self.take()  # "with:" is a common way to introduce a list
                if not self.at_end():
                    head.inputs = self.inline_inputs()
                return
            else:
                token = self.peek()
                if token is not None and token.kind == "possessive" and self.index:
                    raise self.fail_here(
                        f'unexpected apostrophe after "{self.last.raw}"',
                        hint="a command names what it acts on; to use a field of something "
                        "from an earlier step, write it as a value: the customer's id")
                raise self.fail_here(f"unexpected {self.found()}; expected {self.expected(head)}")

    def _time_follows(self) -> bool:
        """Whether a time follows ``to`` (``to 2027-01-01``, ``to tomorrow``), not a
        target."""
        if self.kind(1) in ("date", "datetime"):
            return True
        start = self.index
        self.index += 1
        try:
            return self.moment() is not None
        finally:
            self.index = start

    def expected(self, head: Head) -> str:
        options = []
        if head.complement is None:
            options.append('"as"')
        if head.preposition is None:
            options.append("a preposition (in, from, to, ...)")
        if head.whose is None:
            options.append('"whose"')
        options += ['"with"', '"where"']
        return ", ".join(options) + " or the end of the line"

    def target(self, preposition: Token) -> Target:
        word = self.word()
        if word == "the":
            return self.reference(self.take())
        if word is None or word in NAME_STOPS:
            raise self.fail_here(
                f'expected a book (like stripe) or something named earlier (like the '
                f'invoice) after "{preposition.raw}", found {self.found()}'
            )
        words = self.words(NAME_STOPS)
        raw = self.line.text[words[0].column - 1:words[-1].end - 1]
        return TargetWord(join(words), raw,
                          self.line.span(words[0], words[-1]))

    def loop(self) -> tuple[str, Span, Reference | Head | None]:
        """``for each NOUN [in SOURCE] [whose ...] [as follows]``: the noun, where it is
        written, and the source (a reference, a get, or None for the remembered list)."""
        opener = self.take()
        each = self.take()
        noun = self.words(NAME_STOPS)
        if not noun:
            raise self.fail_here(f'expected a noun after "{opener.raw} {each.raw}", found '
                                 f"{self.found()}", hint="like: for each invoice in the "
                                 "invoices")
        name = join(noun)
        noun_span = self.line.span(noun[0], noun[-1])
        source: Reference | Head | None = None
        if self.word() in ("in", "of", "from"):
            preposition = self.take()
            if self.word() == "the":
                source = self.reference(self.take())
                if self.word() == "whose":
                    raise self.fail_here(
                        '"whose" picks records from a book, not from a list',
                        hint=f'get them with it: for each {name} in stripe whose ...')
            else:
                head = Head("get", self.line.span(opener, each), determiner="all",
                            determiner_span=self.line.span(each), noun=name,
                            noun_span=noun_span, preposition=preposition.word,
                            preposition_span=self.line.span(preposition))
                head.target = self.target(preposition)
                if self.word() == "whose":
                    head.whose = self.where(self.take())
                source = head
        if self.word() == "as":
            self.take()
            if self.word() != "follows":
                raise self.fail_here(f'expected "follows" after "as", found {self.found()}',
                                     hint=f"like: process each {name} as follows")
            self.take()
        if not self.at_end():
            raise self.fail_here(f"unexpected {self.found()}; expected \"in\", \"whose\", "
                                 '"as follows" or the end of the line')
        if isinstance(source, Head):
            source.span = self.line.span(opener, self.last)
        return name, noun_span, source

    def input(self) -> Input:
        """``the FIELD is VALUE``."""
        the = self.peek()
        if the is None or the.word != "the":
            raise self.fail_here(f'expected an input like: the email is "...", found '
                                 f"{self.found()}",
                                 hint='each input reads "the FIELD is VALUE"; a new command '
                                 "is not indented")
        self.take()
        field = self.field(the)
        first = self.peek()
        op, op_raw, _ = self.comparison(field)
        if op != "is":
            assert first is not None
            raise self.line.fail(
                f'an input is set with "is", not "{op_raw}"', first.column, self.last.end,
                hint="to choose records by a condition, use whose on the command line",
            )
        value = self.value(self.last)
        return Input(field, value, self.line.span(the, self.last), self.line.text)

    def inline_inputs(self) -> tuple[Input, ...]:
        """Inputs on the command line itself: ``with the id is "x" and the name is "y"``."""
        inputs = [self.input()]
        while self.word() == "and" and self.word(1) == "the":
            self.take()
            inputs.append(self.input())
        return tuple(inputs)
