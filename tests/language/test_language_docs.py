"""docs/LANGUAGE.md's keyword table says what the parser's own tables hold
(kognitos_books/language/keywords.py), and its comparisons table what the parser reads each
wording as, so the docs cannot drift from the code."""

from __future__ import annotations

import re
from pathlib import Path

from kognitos_books import schedules
from kognitos_books.checker import GET_WORDS
from kognitos_books.language import ast, keywords
from kognitos_books.language.line import Line
from kognitos_books.language.statements import Reader
from kognitos_books.language.tokens import tokenize

DOC = Path(__file__).resolve().parents[2] / "docs" / "LANGUAGE.md"


def table() -> dict[str, list[str]]:
    rows: dict[str, list[str]] = {}
    text = DOC.read_text(encoding="utf-8")
    section = text.split("| Keywords | Words |", 1)[1].split("\n\n", 1)[0]
    for line in section.splitlines()[2:]:
        name, words = (cell.strip() for cell in line.strip("|").split("|"))
        rows[name] = [w.strip() for w in words.split(",")]
    return rows


def test_the_keyword_table_is_the_parsers():
    rows = table()
    assert set(rows["determiners"]) == keywords.DETERMINERS
    assert set(rows["prepositions"]) == set(keywords.PREPOSITIONS)
    assert set(rows["after the record"]) == set(keywords.FORM_WORDS)
    assert set(rows["statements"]) == keywords.STATEMENT_WORDS
    assert set(rows["other words for get"]) == set(GET_WORDS)
    assert set(rows["time words"]) == keywords.TIME_WORDS
    assert set(rows["time units"]) == set(ast.UNITS)
    assert set(rows["weekdays"]) == set(keywords.WEEKDAYS)
    assert set(rows["after every"]) == set(keywords.SCHEDULE_WORDS) - set(keywords.WEEKDAYS)
    assert set(rows["times of day"]) == set(keywords.CLOCK_WORDS)
    assert set(rows["12-hour clock"]) == set(keywords.MERIDIEMS)
    assert rows["comparisons"] == list(ast.OPS)
    for name, words in rows.items():
        assert words == sorted(words) or name == "comparisons", name


def test_every_statement_word_opens_what_the_table_says():
    for word in keywords.STATEMENT_WORDS:
        line = Line(1, f"{word} each x" if word in ("for", "process") else
                    f"{word} with \"x\"" if word == "fail" else word, "", "t")
        kind = Reader(line, tokenize(line)).statement_kind()
        assert kind != "command", word


def grammar() -> str:
    text = DOC.read_text(encoding="utf-8")
    return text.split("## The grammar", 1)[1].split("```ebnf", 1)[1].split("```", 1)[0]


def test_every_word_of_the_grammar_is_one_the_readers_look_for():
    import ast as python_ast

    terminals = set(re.findall(r'"([^"]+)"', grammar()))
    assert {"whose", "with", "where", "each", "follows", "'s", ","} <= terminals
    package = Path(keywords.__file__).parent
    looked_for: set[str] = set()
    for name in ("keywords", "tokens", "values", "conditions", "statements", "triggers",
                 "blocks"):
        tree = python_ast.parse((package / f"{name}.py").read_text(encoding="utf-8"))
        looked_for |= {node.value for node in python_ast.walk(tree)
                       if isinstance(node, python_ast.Constant) and isinstance(node.value, str)}
    # the comma and 's are tokens of their own (kinds "comma" and "possessive")
    missing = terminals - looked_for - {",", "'s"}
    assert not missing, f"the grammar names words no reader looks for: {sorted(missing)}"


#: what each "Means" of the comparisons table says, as the normalized comparison
_MEANS = {"equal": "is", "not equal": "is not", "the text contains": "contains",
          "the text does not contain": "does not contain",
          "the text starts with": "starts with",
          "the text does not start with": "does not start with",
          "the text ends with": "ends with", "the text does not end with": "does not end with",
          "greater, later": ">", "smaller, earlier": "<", "greater or equal": ">=",
          "smaller or equal": "<=", "equal to one of a list": "one of"}


def comparisons() -> dict[str, str]:
    """docs/LANGUAGE.md's comparisons table: each wording and the comparison it means."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split("| Comparison | Means |", 1)[1].split("\n\n", 1)[0]
    found: dict[str, str] = {}
    for line in section.splitlines()[2:]:
        wordings, means = (cell.strip() for cell in line.strip("|").split("|"))
        for wording in wordings.split(","):
            found[wording.strip().strip("`")] = _MEANS[means]
    return found


def compared_as(wording: str) -> str:
    """The comparison the parser reads ``wording`` as, in a condition and in an if."""
    from kognitos_books.language.parser import parse

    text = (f"get a customer from stripe whose amount {wording} 5\n"
            "for each customer in the customers\n"
            f"  if the customer's amount {wording} 5\n"
            "    say \"x\"\n")
    automation = parse(text)
    whose = automation.commands[0].whose
    test = automation.statements[1].body[0].branches[0].check
    assert whose.op == test.op, wording
    return whose.op


def test_the_comparisons_table_is_what_the_parser_reads():
    table = comparisons()
    assert sorted(set(table.values())) == sorted(ast.OPS)  # every comparison, once at least
    for wording, op in table.items():
        assert compared_as(wording) == op, wording
    # the wordings the parser's hint offers are the table's
    hint = keywords.COMPARISONS_HINT.split(": ", 1)[1].split(", ")
    assert set(hint) <= set(table), set(hint) - set(table)


def test_the_other_words_the_comparisons_table_names():
    """"are" for "is"; "contain", "start with", "end with", "do not" and "don't" for
    "contains", "starts with", "ends with", "does not" and "doesn't"."""
    swaps = {"is": "are", "contains": "contain", "starts with": "start with",
             "ends with": "end with", "does not": "do not", "doesn't": "don't"}
    for wording, op in comparisons().items():
        for word, other in swaps.items():
            if re.search(rf"\b{word}\b", wording):
                swapped = re.sub(rf"\b{word}\b", other, wording)
                assert compared_as(swapped) == op, swapped


def schedule_forms() -> list[tuple[str, str, str]]:
    """docs/LANGUAGE.md's table of schedules: each form, its example and its cron."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split("| Form | Example | Cron |", 1)[1].split("\n\n", 1)[0]
    return [tuple(cell.strip().strip("`") for cell in line.strip("|").split("|"))
            for line in section.splitlines()[2:]]


def test_the_schedules_table_is_the_parsers():
    from kognitos_books.language.parser import parse

    rows = schedule_forms()
    assert [(form, example) for form, example, _ in rows] == [
        (form.written, form.example) for form in schedules.FORMS]
    for _, example, cron in rows:
        every = parse(f"{example}\n  stop\n").statements[0]
        assert isinstance(every, ast.Every), example
        assert every.schedule.cron == cron, example
        assert every.schedule.text == example
