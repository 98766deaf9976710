"""A resume goes on where the run was, as the run was: on its own connection (never another
account, never another mode), with a new idempotency key for a step the service refused
outright (so "fix the cause, then resume" works), with an edited automation only where
nothing done changes; and a write whose answer was lost is reported as maybe done."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from reliability_support import BASE_ENV, KEY_ENV, LIVE_KEY, RETRIES_ENV, TEST_KEY, counts, logged

from kognitos_books import ConfigurationError, Runtime
from kognitos_books.automation import RetryPolicy
from kognitos_books.credentials import CredentialStore

OTHER_KEY = "sk_test_51OtherAccountKeyZZ9qWe7RtY2uI4oP6aS8dF0gH"

STEPS = ('create a customer in stripe with\n  the email is "r@example.com"\n'
         'create a price in stripe with\n  the unit_amount is 1000\n  the currency is "usd"\n'
         '  the product is "{product}"\n')


@pytest.fixture
def second_sandbox() -> Iterator[Any]:
    """Another Stripe account: a sandbox of its own."""
    from stripe_pay.sandbox import SandboxServer

    with SandboxServer(host="127.0.0.1", port=0) as server:
        yield server


@pytest.fixture
def stored(sandbox, kbooks_home, monkeypatch) -> CredentialStore:
    """The default connection stored, pointing at the sandbox; no environment override."""
    monkeypatch.delenv(KEY_ENV)
    monkeypatch.delenv(BASE_ENV)
    store = CredentialStore(kbooks_home)
    store.save("stripe_pay", "default", {"api_key": TEST_KEY}, {"api_base": sandbox.url},
               "test")
    return store


def failed_run(kbooks_home, product: str = "prod_later") -> str:
    result = Runtime(home=kbooks_home).run(STEPS.format(product=product))
    assert [s.state for s in result.steps] == ["succeeded", "failed"]
    assert "No such product" in result.failures[0].error
    return result.run_id


def make_product(url: str, product_id: str) -> None:
    import stripe

    client = stripe.StripeClient(TEST_KEY, base_addresses={"api": url})
    client.v1.products.create({"id": product_id, "name": "Later"})


def test_a_refused_step_resumes_with_a_new_key_once_its_cause_is_fixed(stored, sandbox,
                                                                       kbooks_home):
    run_id = failed_run(kbooks_home)
    make_product(sandbox.url, "prod_later")
    result = Runtime(home=kbooks_home).resume(run_id)
    assert result.ok and [s.state for s in result.steps] == ["restored", "succeeded"]
    posts = [e for e in logged(sandbox.url) if e["path"] == "/v1/prices"]
    assert [e["status"] for e in posts] == [400, 200]  # (Stripe: no such product, a 400)
    first, second = (e["idempotency_key"] for e in posts)
    assert second == f"{first}-a2" and not posts[1]["replayed"]
    assert counts(sandbox.url)["customer"] == 1


def test_a_step_whose_answer_was_lost_keeps_its_key(sandbox, kbooks, kbooks_home, tmp_path):
    kog = tmp_path / "lost.kog"
    kog.write_text('create a customer in stripe with\n  the email is "lost@example.com"\n')
    sandbox.set_faults(drop_rate=1.0)  # it acts, then the connection drops
    out = kbooks("run", str(kog), "--retries", "0", env={RETRIES_ENV: "0"})
    assert out.returncode == 1
    assert "may have taken effect" in out.stderr and "Nothing took effect" not in out.stderr
    assert "kbooks run --resume run_" in out.stderr
    run_id = out.stderr.split("kbooks run --resume ")[1].split()[0].rstrip(".")
    sandbox.set_faults(drop_rate=0)
    result = Runtime(home=kbooks_home).resume(run_id, retry=RetryPolicy(0))
    assert result.ok
    posts = [e for e in logged(sandbox.url) if e["method"] == "POST"]
    assert len({e["idempotency_key"] for e in posts}) == 1 and posts[-1]["replayed"]
    assert counts(sandbox.url)["customer"] == 1


def test_a_refusal_says_nothing_took_effect(sandbox, kbooks, tmp_path):
    kog = tmp_path / "refused.kog"
    kog.write_text(STEPS.format(product="prod_missing").split("create a price")[0]
                   .replace("create a customer", "update a customer", 1)
                   .replace("with\n", 'with\n  the id is "cus_missing"\n', 1))
    out = kbooks("run", str(kog))
    assert out.returncode == 1
    assert "Nothing took effect." in out.stderr and "may have" not in out.stderr


def test_a_resume_goes_on_with_the_connection_the_run_used(stored, sandbox, second_sandbox,
                                                           kbooks_home):
    run_id = failed_run(kbooks_home)
    # another account becomes the default before the resume
    stored.save("stripe_pay", "other", {"api_key": OTHER_KEY},
                {"api_base": second_sandbox.url}, "test", make_default=True)
    make_product(sandbox.url, "prod_later")
    assert Runtime(home=kbooks_home).resume(run_id).ok
    assert logged(second_sandbox.url) == []
    assert counts(sandbox.url)["price"] == 1


def test_a_resume_on_another_connection_is_refused(stored, sandbox, second_sandbox,
                                                    kbooks_home, kbooks):
    run_id = failed_run(kbooks_home)
    stored.save("stripe_pay", "other", {"api_key": OTHER_KEY},
                {"api_base": second_sandbox.url}, "test")
    with pytest.raises(ConfigurationError, match="ran on the connection stripe_pay/default; "
                       "it cannot go on with stripe_pay/other"):
        Runtime(home=kbooks_home, connection="other").resume(run_id)
    out = kbooks("run", "--resume", run_id, "--connection", "other")
    assert out.returncode == 2 and "resume it without --connection" in out.stderr
    assert logged(second_sandbox.url) == []


def test_a_resume_never_changes_mode_or_account(stored, sandbox, kbooks_home):
    run_id = failed_run(kbooks_home)
    before = len(logged(sandbox.url))
    stored.save("stripe_pay", "default", {"api_key": LIVE_KEY}, {"api_base": sandbox.url},
                "live")
    with pytest.raises(ConfigurationError, match="ran in test mode; the connection "
                       "stripe_pay/default is now in live mode"):
        Runtime(home=kbooks_home).resume(run_id)
    stored.save("stripe_pay", "default", {"api_key": OTHER_KEY}, {"api_base": sandbox.url},
                "test")
    with pytest.raises(ConfigurationError, match="now holds sk_test_…"):
        Runtime(home=kbooks_home).resume(run_id)
    assert len(logged(sandbox.url)) == before


def test_a_run_made_with_environment_credentials_needs_them_to_resume(sandbox, kbooks_home,
                                                                      monkeypatch):
    run_id = failed_run(kbooks_home)
    monkeypatch.delenv(KEY_ENV)
    CredentialStore(kbooks_home).save("stripe_pay", "default", {"api_key": OTHER_KEY},
                                      {"api_base": sandbox.url}, "test")
    with pytest.raises(ConfigurationError, match="credentials from the environment"):
        Runtime(home=kbooks_home).resume(run_id)
    monkeypatch.setenv(KEY_ENV, TEST_KEY)
    make_product(sandbox.url, "prod_later")
    assert Runtime(home=kbooks_home).resume(run_id).ok


def test_an_edited_automation_resumes_when_what_was_done_is_unchanged(stored, sandbox,
                                                                      kbooks_home, kbooks,
                                                                      tmp_path):
    run_id = failed_run(kbooks_home, product="prod_typo")
    make_product(sandbox.url, "prod_real")
    fixed = tmp_path / "fixed.kog"
    fixed.write_text(STEPS.format(product="prod_real"))
    out = kbooks("run", str(fixed), "--resume", run_id)
    assert out.returncode == 0, out.stderr
    assert counts(sandbox.url)["customer"] == 1 and counts(sandbox.url)["price"] == 1
    assert Runtime(home=kbooks_home).journal.run(run_id).text == fixed.read_text()


def test_an_edit_to_a_step_that_took_effect_is_refused(stored, sandbox, kbooks_home, kbooks,
                                                        tmp_path):
    run_id = failed_run(kbooks_home, product="prod_typo")
    edited = tmp_path / "edited.kog"
    edited.write_text(STEPS.format(product="prod_typo").replace("r@example.com",
                                                                "s@example.com"))
    out = kbooks("run", str(edited), "--resume", run_id)
    assert out.returncode == 2
    assert f"run {run_id}: step 1 took effect as:" in out.stderr
    assert 'the email is "r@example.com"' in out.stderr
    assert 'the email is "s@example.com"' in out.stderr
    assert counts(sandbox.url)["customer"] == 1
    # inserting a line before it moves it: refused the same way
    edited.write_text("get all customers from stripe\n" + STEPS.format(product="prod_typo"))
    out = kbooks("run", str(edited), "--resume", run_id)
    assert out.returncode == 2 and "step 1 took effect as:" in out.stderr
    assert "the edited automation has there:\n    get all customers from stripe" in out.stderr
