"""The docs' tables, made from the declarations (``python -m stripe_pay.tables [events]``).

docs/STRIPE_PAY.md holds :func:`nouns_table`'s output between ``<!-- nouns -->`` marks and
:func:`events_table`'s between ``<!-- events -->`` marks; a test fails when they differ
from the code's, so the docs cannot drift from it.
"""

from __future__ import annotations

import sys

from kognitos_books import Noun

from . import objects
from .book import describe_book
from .declare import StripeObject


def _verbs(row: StripeObject, noun: Noun) -> str:
    """The row's verbs as English says them; ``*`` where the host asks first (read from
    the noun the book describes, as the host reads it)."""
    def star(verb: str) -> str:
        return " *" if noun.needs_confirmation(verb) else ""

    said = []
    for duty in row.duties:
        said.append("(never delete)" if duty == "delete" and row.delete_refusal
                    else duty + star(duty))
    if row.parent:
        said.append(f"add ... to the {row.parent}")
    said.extend(action.english(row.noun) + star(action.name) for action in noun.actions)
    return ", ".join(said)


def nouns_table() -> str:
    """Every noun: its other names, id prefix and verbs as English says them; ``*`` marks
    what a live connection asks about first."""
    lines = ["| noun | also | id prefix | verbs (* asks first on a live connection) |",
             "|---|---|---|---|"]
    book = describe_book()
    for row in objects.OBJECTS:
        also = ", ".join((row.plural, *row.aliases))
        noun = book.noun(row.noun)
        assert noun is not None  # (the book describes every row)
        prefix = f"`{row.id_prefix}`" if row.id_prefix else "(any: chosen or given)"
        lines.append(f"| {row.noun} | {also} | {prefix} | {_verbs(row, noun)} |")
    return "\n".join(lines) + "\n"


def events_table() -> str:
    """Every trigger: its Stripe event type, its English after ``when``, its noun and its
    other phrases; then the event types the book does not offer, by their objects."""
    from . import events

    lines = ["| event type | when ... | noun | also |", "|---|---|---|---|"]
    for trigger in events.triggers():
        lines.append(f"| `{trigger.type}` | {trigger.english} | {trigger.noun} | "
                     f"{', '.join(trigger.aliases)} |")
    left = events.unoffered()
    things = sorted({event_type.rpartition(".")[0] for event_type in left})
    lines += ["", f"The SDK's other {len(left)} event types are on objects the book has no "
                  "noun for, and are not offered as triggers: "
                  + ", ".join(f"`{thing}`" for thing in things) + "."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(events_table() if sys.argv[1:] == ["events"] else nouns_table(), end="")
