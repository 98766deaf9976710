"""The docs' tables, made from the declarations (``python -m stripe_pay.tables``).

docs/STRIPE_PAY.md holds :func:`nouns_table`'s output between ``<!-- nouns -->`` marks; a
test fails when the two differ, so the docs cannot drift from the code.
"""

from __future__ import annotations

from . import objects
from .declare import StripeObject


def _verbs(row: StripeObject) -> str:
    said = []
    for duty in row.duties:
        if duty == "delete" and row.delete_refusal:
            said.append("(never delete)")
            continue
        said.append(duty + (" *" if duty in row.moves_money or duty == "delete" else ""))
    if row.parent:
        said.append(f"add ... to the {row.parent}")
    for action in row.actions:
        host = action.declared()
        said.append(host.english(row.noun) + (" *" if host.needs_confirmation else ""))
    return ", ".join(said)


def nouns_table() -> str:
    """Every noun: its other names, id prefix and verbs as English says them; ``*`` marks
    what a live connection asks about first."""
    lines = ["| noun | also | id prefix | verbs (* asks first on a live connection) |",
             "|---|---|---|---|"]
    for row in objects.OBJECTS:
        also = ", ".join((row.plural, *row.aliases))
        lines.append(f"| {row.noun} | {also} | `{row.id_prefix}` | {_verbs(row)} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(nouns_table(), end="")
