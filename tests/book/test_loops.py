"""Loops and branches against the sandbox: records read page by page, each iteration's
writes keyed by its record, every branch checked before anything runs, dry runs that show
one iteration, and a resume that does no record twice and skips none."""

from __future__ import annotations

import pytest

from kognitos_books import Runtime
from kognitos_books.language import LanguageError


def seed(rt: Runtime, amounts: list[int], domain: str = "loop.test") -> list[str]:
    ids = []
    for i, amount in enumerate(amounts):
        customer = rt.call("create a customer in stripe", email=f"c{i}@{domain}")
        rt.call("create an invoice in stripe", customer=customer.id)
        rt.call("add an item to the invoice", amount=amount, currency="usd")
        ids.append(customer.id)
    return ids


BIG_OR_SMALL = '''get all invoices from stripe whose status is "draft"
for each invoice in the invoices
  if the invoice's amount due is more than $100
    finalize the invoice
    say "finalized {the invoice's id}"
  otherwise
    say "left {the invoice's id} at {the invoice's amount due}"
'''


def test_a_loop_acts_per_record_as_its_condition_says(connected, log):
    rt = connected
    seed(rt, [5000, 20000, 30000])
    log.clear()
    result = rt.run(BIG_OR_SMALL)
    assert result.ok
    said = [s.result for s in result.steps if s.kind == "say"]
    assert sum(line.startswith("finalized in_") for line in said) == 2
    assert [line for line in said if line.startswith("left")][0].endswith(" at 5000")
    methods = [(e["method"], e["path"].rsplit("/", 1)[-1]) for e in log.entries()]
    assert methods.count(("GET", "invoices")) == 1 and methods.count(("POST", "finalize")) == 2
    finalizes = [e for e in log.entries() if e["path"].endswith("/finalize")]
    # each write's key names its record, not its place in the list
    for entry in finalizes:
        invoice = entry["path"].split("/")[3]
        assert entry["idempotency_key"].endswith(f"-s2-{invoice}")


def test_related_records_are_a_list_filter(connected, log):
    rt = connected
    ids = seed(rt, [100, 200])
    rt.context["customer"] = rt.call("get a customer from stripe", id=ids[0])
    log.clear()
    result = rt.run("for each invoice in the customer's invoices\n  show the invoice's total\n")
    assert [s.result for s in result.steps if s.kind == "show"] == [100]
    (get,) = log.entries()
    assert get["path"] == "/v1/invoices" and get["params"]["customer"] == ids[0]


def test_stop_and_fail_end_the_run(connected):
    rt = connected
    seed(rt, [100, 200])
    stopped = rt.run("get all customers from stripe\nfor each customer in the customers\n"
                     "  say \"{the customer's email}\"\n  stop\n")
    assert stopped.ok and [s.kind for s in stopped.steps] == ["step", "say", "stop"]
    failed = rt.run('get all customers from stripe\nif there are customers\n'
                    '  fail with "customers left over"\n')
    assert not failed.ok and failed.failures[0].error == "customers left over"


def test_a_dry_run_shows_the_structure_and_one_iteration(connected, log):
    rt = connected
    seed(rt, [5000])
    log.clear()
    result = rt.run(BIG_OR_SMALL, dry_run=True)
    assert log.entries() == []
    planned = [(s.kind, s.line) for s in result.steps]
    assert planned == [("step", 1), ("step", 4), ("say", 5), ("say", 7)]
    assert "/<the invoice>/finalize" in str(result.steps[1].plan.requests[0])


@pytest.mark.parametrize("text,where,message", [
    ("get all invoices from stripe\nfor each invoice in the invoices\n  say \"x\"\n"
     "send the invoice\n", "4:10", "is known only inside the block"),
    ("get all invoices from stripe\nfor each invoice in the invoices\n"
     "  if the invoice's status is more than 5\n    stop\n", "3:27", "compares numbers"),
    ("get all invoices from stripe\nfor each invoice in the invoices\n"
     "  if the invoice's total is 5\n    stop\n  otherwise\n    send the invoice\n"
     "    say \"{the invoice's totl}\"\n", "7:9", 'has no field "totl"'),
    ("for each invoice in the customers\n  stop\n", "1:21", "refers to nothing"),
    ("get all customers from stripe\nfor each invoice in the customers\n  stop\n", "2:21",
     "is not a list of invoices"),
    ("get all invoices from stripe\nfor each invoice in the invoices\n"
     "  if there are no prices\n    stop\n", "3:19", "refers to nothing"),
    ("for each invoice in the customer's prices\n  stop\n", "1:21", "are prices, not invoices"),
])
def test_every_block_is_checked_before_anything_runs(rt, text, where, message):
    with pytest.raises(LanguageError) as info:
        rt.check(text, source_name="loop.kog", given=("customer",))
    first = info.value.errors[0]
    assert f"{first.line}:{first.column}" == where, str(info.value)
    assert message in first.message, str(info.value)


def test_an_amount_in_another_currency_is_not_compared(connected):
    rt = connected
    customer = rt.call("create a customer in stripe", email="eur@loop.test")
    rt.call("create an invoice in stripe", customer=customer.id, currency="eur")
    rt.call("add an item to the invoice", amount=500)
    result = rt.run("get all invoices from stripe\nfor each invoice in the invoices\n"
                    "  if the invoice's amount due is more than $1.00\n    stop\n")
    assert not result.ok
    assert "is in EUR, but it is compared with an amount in USD" in result.failures[0].error


def test_a_resumed_loop_does_no_record_twice_and_skips_none(connected, log):
    rt = connected
    seed(rt, [100, 200, 300, 400])
    text = ('for each customer in stripe whose email ends with "@loop.test"\n'
            "  create an invoice for the customer\n")
    made = []

    def interrupt_after_two(outcome) -> None:
        if outcome.verb == "create" and outcome.state == "succeeded":
            made.append(outcome)
            if len(made) == 2:
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        rt.run(text, on_step=interrupt_after_two)
    run_id = rt.journal.runs(1)[0].id
    late = rt.call("create a customer in stripe", email="late@loop.test")  # added meanwhile
    result = Runtime(home=rt.store.home).resume(run_id)
    assert result.ok
    per_customer: dict[str, int] = {}
    for invoice in rt.call("get all invoices from stripe"):
        per_customer[invoice["customer"]] = per_customer.get(invoice["customer"], 0) + 1
    customers = [c.id for c in rt.call("get all customers from stripe")]
    # each had one invoice from seeding; the loop gave each exactly one more
    assert {c: per_customer.get(c, 0) for c in customers} == {
        c: (1 if c == late.id else 2) for c in customers}


def test_a_bulk_verb_is_the_loop_in_one_line(connected, log):
    rt = connected
    seed(rt, [100, 200, 300])
    log.clear()
    result = rt.run('finalize all invoices from stripe whose status is "draft"\n'
                    'void every invoice from stripe whose status is "open"\n')
    assert result.ok
    statuses = [i["status"] for i in rt.call("get all invoices from stripe")]
    assert statuses == ["void"] * 3
    posts = [e["path"].rsplit("/", 1)[-1] for e in log.entries() if e["method"] == "POST"]
    assert posts == ["finalize"] * 3 + ["void"] * 3


def test_counts_and_totals_per_currency(connected):
    rt = connected
    seed(rt, [1000, 2500])
    customer = rt.call("create a customer in stripe", email="eur@loop.test")
    rt.call("create an invoice in stripe", customer=customer.id, currency="eur")
    rt.call("add an item to the invoice", amount=700)
    result = rt.run('get all invoices from stripe whose status is "draft"\n'
                    'say "{the number of invoices} drafts: {the total of the invoices\' '
                    'amount due}"\n'
                    "if the total of the invoices' amount due is at least $35.00\n"
                    '  say "enough in usd"\n'
                    "if the number of invoices is more than 5\n  fail with \"too many\"\n")
    assert result.ok
    assert [s.result for s in result.steps if s.kind == "say"] == [
        "3 drafts: 7.00 eur, 35.00 usd", "enough in usd"]


def test_a_count_is_not_an_input(rt):
    with pytest.raises(LanguageError, match="it is not an input's value"):
        rt.check("get all invoices from stripe\ncreate a customer in stripe with\n"
                 "  the description is the number of invoices\n")


def test_a_preview_reads_writes_nothing_and_totals_what_it_would_do(connected, log):
    rt = connected
    seed(rt, [1000, 2500, 50])
    log.clear()
    result = rt.run('finalize all invoices from stripe whose status is "draft"\n'
                    "get all invoices from stripe\nfor each invoice in the invoices\n"
                    "  if the invoice's amount due is more than $1.00\n    void the invoice\n",
                    preview=True)
    assert result.ok and result.preview
    assert {e["method"] for e in log.entries()} == {"GET"}  # reads only
    assert result.would_lines() == ["would finalize 3 invoices, 35.50 usd",
                                    "would void 2 invoices, 35.00 usd"]
    voids = [s for s in result.steps if s.verb == "void"]
    assert all("/void" in str(s.plan.requests[0]) for s in voids) and len(voids) == 2
    assert rt.journal.runs(5) == [] or all(r.id != result.run_id for r in rt.journal.runs(5))


def test_a_result_named_with_as_keeps_two_lists_apart(connected):
    rt = connected
    seed(rt, [100, 200])
    rt.call("create a customer in stripe", email="other@elsewhere.test")
    result = rt.run('get all customers from stripe whose email ends with "@loop.test" as the '
                    "loop customers\nget all customers from stripe\n"
                    'say "{the number of customers} in all"\n'
                    "for each customer in the loop customers\n"
                    '  say "{the customer\'s email}"\n')
    said = [s.result for s in result.steps if s.kind == "say"]
    assert said[0] == "3 in all" and sorted(said[1:]) == ["c0@loop.test", "c1@loop.test"]
    with pytest.raises(LanguageError, match="already names a kind of record"):
        rt.check("get all customers from stripe as the invoices\n")


def test_python_gets_the_results_nested_as_the_automation(connected):
    rt = connected
    seed(rt, [100, 200])
    result = rt.run("get all customers from stripe\nfor each customer in the customers\n"
                    "  say \"{the customer's email}\"\n"
                    "  for each invoice in the customer's invoices\n"
                    "    show the invoice's total\n")
    tree = result.nested()
    assert [type(x).__name__ for x in tree] == ["StepResult", "dict", "dict"]
    first = tree[1]
    assert first["record"].startswith("cus_")
    said, get, inner = first["results"]
    assert said.kind == "say" and get.verb == "get"
    assert inner["record"].startswith("in_") and inner["results"][0].kind == "show"
