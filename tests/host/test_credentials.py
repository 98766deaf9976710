"""The credential store, prompting and masking."""

from __future__ import annotations

import io
import json
import os
import stat

import pytest

from kognitos_books import ConfigurationError, Credential, CredentialsRejected, Secret, mask
from kognitos_books.credentials import CredentialStore, ask_credentials, env_name, home_dir
from kognitos_books.model import Book

KEY = "sk_test_51HxYzAbCdEfGhIjKl4242"


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("value,shown", [
    (KEY, "sk_test_…4242"),
    ("rk_live_abcdefghijklmnop9999", "rk_live_…9999"),
    ("sk_test_short", "sk_test_…"),
    ("plainsecretvalue1234", "…1234"),
    ("tiny", "…"),
    ("", ""),
])
def test_mask(value, shown):
    assert mask(value) == shown


def test_secret_hides_itself():
    secret = Secret(KEY)
    assert KEY not in repr(secret) and KEY not in str(secret) and KEY not in f"{secret}"
    assert secret.reveal() == KEY
    assert secret == Secret(KEY) and secret != Secret("x")
    with pytest.raises(TypeError):
        import pickle

        pickle.dumps(secret)


def test_home_defaults_to_user_config_dir(monkeypatch):
    monkeypatch.delenv("KBOOKS_HOME")
    assert home_dir().name == "kbooks"
    monkeypatch.setenv("KBOOKS_HOME", "/somewhere/else")
    assert str(home_dir()) == "/somewhere/else"


def test_store_permissions_and_atomic_writes(kbooks_home):
    store = CredentialStore(kbooks_home / "nested")
    store.save("stripe_pay", "default", {"api_key": KEY}, {}, "test")
    assert mode(store.home) == 0o700 and mode(store.path) == 0o600
    store.save("stripe_pay", "live", {"api_key": "sk_live_abcdefghijklmn0000"}, {}, "live")
    store.remove("stripe_pay", "live")
    assert mode(store.home) == 0o700 and mode(store.path) == 0o600
    assert sorted(p.name for p in store.home.iterdir()) == ["credentials.json"]


def test_store_tightens_a_loose_directory(kbooks_home):
    os.chmod(kbooks_home, 0o755)
    CredentialStore(kbooks_home).save("b", "default", {"k": "v"}, {}, "test")
    assert mode(kbooks_home) == 0o700


def test_connections_default_and_removal(kbooks_home):
    store = CredentialStore(kbooks_home)
    store.save("stripe_pay", "one", {"api_key": KEY}, {"api_base": "http://x"}, "test")
    store.save("stripe_pay", "two", {"api_key": KEY}, {}, "test")
    assert store.get("stripe_pay").name == "one"  # the first is the default
    store.save("stripe_pay", "three", {"api_key": KEY}, {}, "test", make_default=True)
    assert store.get("stripe_pay").name == "three"
    assert [c.name for c in store.connections("stripe_pay")] == ["three", "one", "two"]
    assert store.get("stripe_pay", "one").settings == {"api_base": "http://x"}
    assert store.remove("stripe_pay", "three") == ["three"]
    assert store.get("stripe_pay").name == "one"
    assert store.remove("stripe_pay") == ["one", "two"]
    assert store.connections() == []


@pytest.mark.parametrize("content", [
    "{not json",
    json.dumps({"books": []}),
    json.dumps({"books": {"x": {"connections": {"a": {"credentials": {"k": 5}}}}}}),
    "\x00\x01binary",
])
def test_a_corrupted_store_is_reported_and_never_overwritten(kbooks_home, content):
    store = CredentialStore(kbooks_home)
    store.path.write_text(content)
    with pytest.raises(ConfigurationError) as err:
        store.save("stripe_pay", "default", {"api_key": KEY}, {}, "test")
    assert "left untouched" in str(err.value) and str(store.path) in str(err.value)
    assert store.path.read_text() == content
    with pytest.raises(ConfigurationError):
        store.connections()


BOOK = Book(name="stripe_pay", title="Stripe Pay", target="stripe", nouns=(),
            credentials=(Credential("api_key", "Stripe API key", pattern=r"(sk|rk)_(test|live)_\w+",
                                    pattern_hint="starts with sk_test_ or sk_live_"),))


def test_ask_reads_standard_input_when_not_a_terminal():
    values = ask_credentials(BOOK, stdin=io.StringIO(KEY + "\n"), stderr=io.StringIO(),
                             environ={})
    assert values["api_key"].reveal() == KEY


def test_environment_wins_over_the_prompt():
    assert env_name("stripe_pay", "api_key") == "KBOOKS_STRIPE_PAY_API_KEY"
    values = ask_credentials(BOOK, stdin=io.StringIO("ignored\n"), stderr=io.StringIO(),
                             environ={"KBOOKS_STRIPE_PAY_API_KEY": KEY})
    assert values["api_key"].reveal() == KEY


def test_a_malformed_value_is_refused_masked():
    with pytest.raises(CredentialsRejected) as err:
        ask_credentials(BOOK, stdin=io.StringIO("pk_test_publishablekey123456\n"),
                        stderr=io.StringIO(), environ={})
    assert "does not look right" in str(err.value)
    assert "publishablekey" not in str(err.value)


def test_ended_input_is_a_clear_error():
    with pytest.raises(CredentialsRejected, match="standard input ended"):
        ask_credentials(BOOK, stdin=io.StringIO(""), stderr=io.StringIO(), environ={})



def read_only_file_system(fd, mode):
    raise PermissionError(30, "Read-only file system")


def test_a_loose_home_that_cannot_be_tightened_is_refused(kbooks_home, monkeypatch):
    store = CredentialStore(kbooks_home)
    store.save("stripe_pay", "default", {"api_key": KEY}, {}, "test")
    os.chmod(kbooks_home, 0o750)
    with monkeypatch.context() as patch:
        patch.setattr(os, "fchmod", read_only_file_system)
        for use in (store.connections, lambda: store.remove("stripe_pay")):
            with pytest.raises(ConfigurationError) as err:
                use()
            assert err.value.message == (
                f"the directory {kbooks_home} is open to other users (mode 750) and cannot "
                "be made private (Read-only file system)")
            assert err.value.hint == f"chmod 700 {kbooks_home}"
    assert store.get("stripe_pay").name == "default" and mode(kbooks_home) == 0o700


def test_endpoint_secrets_are_kept_in_the_store_only_and_go_with_their_connection(kbooks_home):
    store = CredentialStore(kbooks_home)
    store.save("stripe_pay", "default", {"api_key": "sk_test_x"}, {}, "test")
    secret = Secret("whsec_kept_only_here_123")
    store.save_endpoint("stripe_pay", "default", "https://h.example/stripe_pay", "we_1", secret)
    store.save_endpoint("stripe_pay", "environment", "http://127.0.0.1:9/stripe_pay", "we_2",
                        Secret("whsec_other"))
    found = store.endpoint("stripe_pay", "default", "https://h.example/stripe_pay")
    assert found is not None and found[0] == "we_1" and found[1].reveal() == secret.reveal()
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600
    assert store.endpoint("stripe_pay", "default", "https://other.example") is None
    # installing the connection again keeps its endpoints; removing it forgets them
    store.save("stripe_pay", "default", {"api_key": "sk_test_y"}, {}, "test")
    assert store.endpoint("stripe_pay", "default", "https://h.example/stripe_pay") is not None
    store.remove("stripe_pay", "default")
    assert store.endpoint("stripe_pay", "default", "https://h.example/stripe_pay") is None
    assert store.forget_endpoint("stripe_pay", "environment", "http://127.0.0.1:9/stripe_pay")
    assert not store.forget_endpoint("stripe_pay", "environment", "http://127.0.0.1:9/x")
