"""One road from words to a call: Runtime.call, kbooks call, the rows of a bulk run and the
values references take at run time are checked and converted exactly as the same value
written in an automation, so a rule added once holds everywhere, and nothing refused on one
road reaches Stripe on another."""

from __future__ import annotations

import pytest
from reliability_support import KEY_ENV, LIVE_KEY, counts, logged

from kognitos_books import InvalidCall, Runtime
from kognitos_books.automation import NeedsConfirmation
from kognitos_books.credentials import CredentialStore
from kognitos_books.runtime import InvalidRows

PRICE = "create a price in stripe with\n  the unit_amount is {amount}\n" \
        '  the currency is "usd"\n  the product is "prod_1"\n'


def test_a_negative_amount_is_refused_from_python_as_in_a_file(rt, sandbox):
    with pytest.raises(InvalidCall, match='"unit_amount" cannot be negative'):
        rt.call("create a price in stripe", unit_amount=-5, currency="usd", product="prod_1")
    from kognitos_books.language import LanguageError

    with pytest.raises(LanguageError, match='"unit_amount" cannot be negative'):
        rt.run(PRICE.format(amount=-5))
    assert logged(sandbox.url) == []


def test_python_values_are_read_as_the_language_reads_them(rt, sandbox):
    product = rt.call("create a product in stripe", name="Gold")
    price = rt.call("create a price in stripe", unit_amount="$15.00", currency="usd",
                    product=product)  # a record stands for its id
    assert price["unit_amount"] == 1500 and price["product"] == product.id
    with pytest.raises(InvalidCall, match='"unit_amount" takes a whole number, not text'):
        rt.call("create a price in stripe", unit_amount="lots", currency="usd",
                product=product.id)
    with pytest.raises(InvalidCall, match='"sometimes" is not a valid tax_behavior'):
        rt.call("create a price in stripe", unit_amount=5, currency="usd", product=product.id,
                tax_behavior="sometimes")
    with pytest.raises(InvalidCall, match="is a product id, not a customer id"):
        rt.call("create an invoice in stripe", customer=product.id)
    with pytest.raises(InvalidCall, match="too long"):
        rt.call("create a customer in stripe", name="x" * 5001)
    assert counts(sandbox.url).get("price") == 1


def test_kbooks_call_refuses_what_a_file_refuses(kbooks, sandbox):
    out = kbooks("call", "create a price in stripe", "unit_amount:=-5", "currency=usd",
                 "product=prod_1")
    assert out.returncode == 2, out.stderr
    assert '"unit_amount" cannot be negative' in out.stderr
    out = kbooks("call", "create a price in stripe", "unit_amount=ten", "currency=usd",
                 "product=prod_1")
    assert out.returncode == 2 and "takes a whole number" in out.stderr
    assert logged(sandbox.url) == []
    # text from the command line is read as the field wants it
    out = kbooks("call", "create a product in stripe", "name=Gold", "--json")
    assert out.returncode == 0, out.stderr


def rows_file(tmp_path, text: str):
    path = tmp_path / "rows.csv"
    path.write_text(text)
    return str(path)


INVOICE = "create an invoice in stripe with\n  the customer is the row's customer\n" \
          "  the description is the row's note\n"


@pytest.mark.parametrize("cells,message", [
    ("prod_123,hello", "customer: prod_123 is a product id, not a customer id"),
    ("cus_123," + "x" * 5001, "description: 5,001 characters is too long"),
    # an empty cell leaves the input out, and Stripe needs this one
    (",hello", 'missing required input "customer"'),
])
def test_rows_are_checked_before_any_row_runs(kbooks, sandbox, tmp_path, cells, message):
    kog = tmp_path / "invoice.kog"
    kog.write_text(INVOICE)
    rows = rows_file(tmp_path, f"customer,note\ncus_ok,fine\n{cells}\n")
    out = kbooks("run", str(kog), "--each", rows)
    assert out.returncode == 2, out.stderr
    assert "1 of 2 rows cannot run; nothing was sent" in out.stderr
    assert "row 2, line " in out.stderr and message in out.stderr, out.stderr
    assert logged(sandbox.url) == []


def test_text_in_an_amount_column_is_refused_and_an_amount_read(rt, sandbox):
    rt.call("create a product in stripe", name="Gold")
    text = ("create a price in stripe with\n  the unit_amount is the row's amount\n"
            '  the currency is "usd"\n  the product is the product\'s id\n')
    with pytest.raises(InvalidRows, match="takes a whole number, not text \"lots\""):
        rt.run(text, rows=[{"amount": "1500"}, {"amount": "lots"}])
    assert counts(sandbox.url)["price"] == 0
    result = rt.run(text, rows=[{"amount": "1500"}, {"amount": "$20.00"}], rate=0)
    assert result.ok
    assert sorted(s.result["unit_amount"] for s in result.steps) == [1500, 2000]


def test_an_empty_cell_leaves_an_optional_input_out(rt, sandbox):
    text = ("create a customer in stripe with\n  the email is the row's email\n"
            "  the name is the row's name\n")
    result = rt.run(text, rows=[{"email": "a@example.com", "name": ""}], rate=0)
    assert result.ok
    sent = [e for e in logged(sandbox.url) if e["method"] == "POST"]
    assert sent[0]["params"] == {"email": "a@example.com"}  # no name="" to blank it


def test_an_empty_cell_in_a_condition_is_refused(rt, sandbox):
    with pytest.raises(InvalidRows, match="is empty"):
        rt.run("get a customer from stripe whose email is the row's email\n",
               rows=[{"email": ""}])
    assert logged(sandbox.url) == []


def test_a_value_from_an_earlier_step_is_checked_before_it_is_sent(rt, sandbox):
    rt.call("create a customer in stripe", email="jo@example.com")
    result = rt.run("create a price in stripe with\n  the unit_amount is the customer's balance"
                    '\n  the currency is "usd"\n  the product is the customer\'s id\n')
    assert not result.ok
    failed = result.failures[0]
    assert "cus_" in failed.error and "not a product id" in failed.error
    assert failed.refused and not failed.may_have_taken_effect
    assert [e["method"] for e in logged(sandbox.url)] == ["POST"]  # the customer only


@pytest.fixture
def live(sandbox, kbooks_home, monkeypatch):
    CredentialStore(kbooks_home).save("stripe_pay", "default", {"api_key": LIVE_KEY},
                                      {"api_base": sandbox.url}, "live")
    monkeypatch.delenv(KEY_ENV)
    return sandbox


def test_a_destructive_call_from_python_on_a_live_connection_needs_yes(live, kbooks_home):
    rt = Runtime(home=kbooks_home)
    with pytest.raises(NeedsConfirmation, match="delete a customer on a LIVE connection") as info:
        rt.call("delete a customer in stripe", id="cus_1")
    assert "yes=True" in info.value.hint
    assert logged(live.url) == []
    with pytest.raises(Exception, match="rejected the API key"):  # the sandbox refuses live
        rt.call("delete a customer in stripe", id="cus_1", yes=True)
    assert [e["method"] for e in logged(live.url)] == ["DELETE"]
    # a call built by hand is held to the same rule where it is sent
    call = rt.build_call(rt.procedure("delete a customer in stripe"), {"id": "cus_2"})
    with pytest.raises(NeedsConfirmation):
        rt.dispatch(call)
    assert len(logged(live.url)) == 1
