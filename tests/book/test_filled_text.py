"""Text with references in braces, written for an input or compared with, against the
sandbox: filled in when the step runs, checked before anything is sent, shown in a dry
run; braces doubled are braces; a value given from Python is taken as it is."""

from __future__ import annotations

import pytest

from kognitos_books.language import LanguageError

MADE = '''create a customer in stripe with
  the email is "jo@example.com"
  the name is "Jo Park"
'''


def posted(log, path: str) -> list[dict]:
    return [e["params"] for e in log.entries() if e["method"] == "POST" and e["path"] == path]


def test_an_input_text_is_filled_in_when_the_step_runs(connected, log):
    result = connected.run(MADE + '''create an invoice in stripe with
  the customer is the customer's id
  the description is "Invoice for {the customer's name} <{the customer's email}>"
  the metadata's owner is "{the customer's id}"
''')
    assert result.ok, result.steps
    (made,) = posted(log, "/v1/customers")
    (invoice,) = posted(log, "/v1/invoices")
    customer = connected.context["customer"]
    assert invoice["description"] == "Invoice for Jo Park <jo@example.com>"
    assert invoice["metadata"] == {"owner": customer.id} and made["name"] == "Jo Park"
    assert connected.context["invoice"].data["description"] == invoice["description"]


def test_doubled_braces_are_braces_and_lone_ones_stay(connected, log):
    result = connected.run('create a customer in stripe with\n'
                           '  the name is "{{not a reference}} and a } and a {"\n')
    assert result.ok
    (made,) = posted(log, "/v1/customers")
    assert made["name"] == "{not a reference} and a } and a {"


@pytest.mark.parametrize(("text", "where", "message"), [
    (MADE + 'create an invoice in stripe with\n  the customer is the customer\'s id\n'
     '  the description is "for {the customer\'s nmae}"\n', "6:", 'has no field "nmae"'),
    ('create a customer in stripe with\n  the name is "for {the invoice\'s id}"\n', "2:",
     "the invoice"),
    ('create a customer in stripe with\n  the name is "for {the customer\'s}"\n', "2:",
     "in {the customer's}"),
])
def test_a_reference_in_braces_is_checked_before_anything_is_sent(connected, log, text,
                                                                  where, message):
    with pytest.raises(LanguageError) as raised:
        connected.run(text)
    shown = raised.value.render()
    assert where in shown and message in shown, shown
    assert log.entries() == []


def test_a_field_of_fixed_choices_takes_no_filled_text(connected, log):
    with pytest.raises(LanguageError) as raised:
        connected.run(MADE + 'create a price in stripe with\n  the currency is "usd"\n'
                      '  the unit amount is 500\n  the product is "prod_x"\n'
                      '  the tax behavior is "{the customer\'s name}"\n')
    assert "fixed choices" in raised.value.render() and log.entries() == []


def test_a_dry_run_shows_the_references_in_the_text(connected, log):
    result = connected.run(MADE + 'create an invoice in stripe with\n'
                           '  the customer is the customer\'s id\n'
                           '  the description is "Invoice for {the customer\'s name}"\n',
                           dry_run=True)
    assert log.entries() == []
    (request,) = result.steps[1].plan.requests
    assert "Invoice for <the customer's name>" in str(request)


def test_a_count_in_a_loop_and_a_filled_text_in_a_condition(connected, log):
    rt = connected
    for name in ("Ann", "Bo"):
        rt.call("create a customer in stripe", email=f"{name.lower()}@filled.test",
                name=name, description=f"vip {name}")
    log.clear()
    result = rt.run('get all customers from stripe whose email ends with "@filled.test"\n'
                    'for each customer in the customers\n'
                    '  if the customer\'s description is "vip {the customer\'s name}"\n'
                    '    update the customer with\n'
                    '      the metadata\'s note is "1 of {the number of customers}"\n')
    assert result.ok, result.steps
    updates = [e["params"] for e in log.entries()
               if e["method"] == "POST" and e["path"].startswith("/v1/customers/")]
    assert [u["metadata"] for u in updates] == [{"note": "1 of 2"}] * 2


def test_a_value_given_from_python_is_taken_as_it_is(connected, log):
    made = connected.call("create a customer in stripe", name="{the customer's name}")
    assert made.data["name"] == "{the customer's name}"
