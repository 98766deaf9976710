"""The docs' tables are the ones the declarations make."""

from pathlib import Path

from stripe_pay.tables import events_table, nouns_table

DOCS = Path(__file__).resolve().parents[2] / "docs"


def between(text: str, mark: str) -> str:
    start = text.index(f"<!-- {mark}")
    start = text.index("\n", start) + 1
    return text[start:text.index(f"<!-- /{mark} -->")]


def test_the_nouns_table_is_made_from_the_declarations():
    assert between((DOCS / "STRIPE_PAY.md").read_text(), "nouns") == nouns_table()


def test_the_events_table_is_made_from_the_triggers():
    assert between((DOCS / "STRIPE_PAY.md").read_text(), "events") == events_table()
