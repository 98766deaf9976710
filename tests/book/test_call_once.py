"""``Runtime.call_once`` against the sandbox: a write journaled as a run of one step, done
once for good (the road the MCP server's writes take): the same run again sends nothing,
an answer lost is sent again with the same key, a refusal with the next one."""

from __future__ import annotations

import pytest

from kognitos_books import BookError, ConfigurationError, InvalidCall


def test_the_same_run_again_answers_from_the_journal(connected, log):
    rt = connected
    made, done = rt.call_once("create a customer in stripe", {"email": "once@example.com"},
                              run_id="run_once0000000001", idempotency_key="once-1")
    again, done_again = rt.call_once("create a customer in stripe",
                                     {"email": "once@example.com"},
                                     run_id="run_once0000000001", idempotency_key="once-1")
    assert (done, done_again) == (False, True) and again.id == made.id
    assert again.data["email"] == "once@example.com"
    posts = [e for e in log.entries() if e["method"] == "POST"]
    assert [e["idempotency_key"] for e in posts] == ["once-1"]
    run = rt.journal.run("run_once0000000001")
    assert run is not None and run.state == "succeeded" and run.source == "python"


def test_a_refusal_is_fixed_and_sent_again_with_the_next_key(connected, log):
    rt = connected
    with pytest.raises(BookError) as refused:
        rt.call_once("create an invoice item in stripe",
                     {"customer": "cus_nothere", "amount": 500, "currency": "usd"},
                     run_id="run_once0000000002", idempotency_key="item-1")
    assert refused.value.refused
    (step,) = rt.journal.steps("run_once0000000002")
    assert step.state == "refused"
    customer = rt.call("create a customer in stripe", email="fixed@example.com")
    item, done = rt.call_once("create an invoice item in stripe",
                              {"customer": customer.id, "amount": 500, "currency": "usd"},
                              run_id="run_once0000000002", idempotency_key="item-1")
    assert not done and item.data["customer"] == customer.id
    keys = [e["idempotency_key"] for e in log.entries()
            if e["method"] == "POST" and e["path"] == "/v1/invoiceitems"]
    assert keys == ["item-1", "item-1-a2"]


def test_a_read_is_not_called_once(connected, log):
    with pytest.raises(InvalidCall):
        connected.call_once("get a customer from stripe", {"email": "x@example.com"},
                            run_id="run_once0000000003", idempotency_key="get-1")
    assert log.entries() == [] and connected.journal.run("run_once0000000003") is None


def test_a_run_begun_on_another_connection_is_refused(connected, log):
    rt = connected
    rt.journal.start_run("run_once0000000004", "python", "create a customer in stripe",
                         connection="other", mode="test", options={})
    with pytest.raises(ConfigurationError) as wrong:
        rt.call_once("create a customer in stripe", {"email": "o@example.com"},
                     run_id="run_once0000000004", idempotency_key="other-1")
    assert "was begun on the connection 'other'" in wrong.value.message
    assert log.entries() == []
