"""The indexes behind lists and searches: they change no answer, only its cost.

A store is driven through random changes and compared with a plain scan of its objects; over
HTTP, lists and searches keep their meaning as indexed values change, objects are deleted,
requests fail and the clock goes backwards."""

from __future__ import annotations

from typing import Any

import attrs
import pytest
import stripe
from hypothesis import given, settings
from hypothesis import strategies as st
from sandbox_http import make_client
from stripe_pay.sandbox import SandboxServer
from stripe_pay.sandbox.store import Store


@attrs.define(eq=False)
class Thing:
    id: str
    seq: int
    created: int
    email: str | None = None
    metadata: dict[str, str] = attrs.field(factory=dict)
    deleted: bool = False


EMAILS = st.sampled_from([None, "a@x.io", "A@X.io", "b@x.io", "c@x.io"])
STEPS = st.lists(st.tuples(st.sampled_from(["create", "update", "tag", "delete"]),
                           st.integers(0, 30), EMAILS, st.integers(0, 3)),
                 min_size=1, max_size=60)


def drive(steps: list[tuple[str, int, Any, int]], *, clock_back: bool = False
          ) -> tuple[Store[Thing], list[Thing]]:
    store: Store[Thing] = Store("thing", ["email"], metadata=True)
    made: list[Thing] = []
    for step, (action, pick, email, tag) in enumerate(steps):
        if action == "create" or not made:
            created = 1000 + step * (-1 if clock_back and step % 3 == 0 else 1)
            thing = Thing(f"t{step}", step, created, email)
            store.objects[thing.id] = thing
            made.append(thing)
        else:
            thing = made[pick % len(made)]
            if thing.deleted:
                continue
            if action == "update":
                thing.email = email
            elif action == "tag":
                thing.metadata = {"tier": str(tag)} if tag else {}
            else:
                thing.deleted = True
        store.index(thing)
        assert store.check() == []
    return store, made


def scan(made: list[Thing], test: Any) -> list[str]:
    return [t.id for t in sorted(made, key=lambda t: -t.seq) if not t.deleted and test(t)]


@settings(max_examples=150, deadline=None)
@given(STEPS, EMAILS, st.integers(0, 3), st.integers(1, 5), st.integers(-1, 40),
       st.booleans())
def test_a_store_answers_what_a_scan_answers(steps, email, tag, limit, cursor, backward):
    store, made = drive(steps)
    by_email = store.with_value("email", email)
    assert by_email is not None

    def exact(thing: Thing) -> bool:
        return thing.email == email

    wanted = scan(made, exact)
    found, more = store.page(by_email, exact, limit=100)
    assert [t.id for t in found] == wanted and more is False
    tagged = store.with_metadata("tier", str(tag))
    assert tagged is not None
    assert {t.id for t in store.objects_in(tagged)} == set(
        scan(made, lambda t: t.metadata.get("tier") == str(tag)))
    # Pages from a cursor, both ways, as a scan of the newest-first order gives them.
    everything = scan(made, lambda t: True)
    seqs = {t.id: t.seq for t in made}
    at = cursor if cursor >= 0 else None
    page, more = store.page(store.every(), None, limit=limit,
                            below=None if backward else at, above=at if backward else None)
    if at is None:
        expected = everything[:limit]
        expected_more = len(everything) > limit
    elif backward:
        newer = [i for i in everything if seqs[i] > at]
        expected, expected_more = newer[-limit:], len(newer) > limit
    else:
        older = [i for i in everything if seqs[i] < at]
        expected, expected_more = older[:limit], len(older) > limit
    assert ([t.id for t in page], more) == (expected, expected_more)


@settings(max_examples=100, deadline=None)
@given(STEPS, st.integers(990, 1070), st.integers(990, 1070), st.booleans())
def test_created_ranges_narrow_only_while_created_follows_creation(steps, low, high, back):
    store, made = drive(steps, clock_back=back)
    bounds = store.created_bounds({"gte": low, "lt": high})
    in_range = scan(made, lambda t: low <= t.created < high)
    if bounds is None:  # only once an object was created before the one made before it
        assert back and any(later.created < earlier.created
                            for earlier, later in zip(made, made[1:], strict=False))
        return
    found, _ = store.page(bounds, lambda t: low <= t.created < high, limit=1000)
    assert [t.id for t in found] == in_range


def test_the_check_can_fail():
    store: Store[Thing] = Store("thing", ["email"])
    thing = Thing("t1", 1, 1000, "a@x.io")
    store.objects[thing.id] = thing
    store.index(thing)
    thing.email = "moved@x.io"  # changed behind the index's back
    assert store.check() == ["thing: index ('email', 'a@x.io') holds [1], should hold None",
                             "thing: index ('email', 'moved@x.io') holds None, should hold [1]"]


def test_lists_and_searches_follow_changed_values(client, sandbox):
    ann = client.v1.customers.create(params={"email": "ann@example.com",
                                             "metadata": {"tier": "gold"}})
    client.v1.customers.create(params={"email": "bob@example.com"})

    def listed(**params: Any) -> list[str]:
        return [c.id for c in client.v1.customers.list(params=params).data]

    def searched(query: str) -> list[str]:
        return [c.id for c in client.v1.customers.search(params={"query": query}).data]

    client.v1.customers.update(ann.id, params={"email": "ann@new.example",
                                               "metadata": {"tier": "silver"}})
    assert listed(email="ann@example.com") == [] and listed(email="ann@new.example") == [ann.id]
    assert searched("email:'ann@example.com'") == []
    assert searched("email:'ANN@new.example'") == [ann.id]
    assert searched("metadata['tier']:'gold'") == []
    assert searched("metadata['tier']:'silver'") == [ann.id]
    # A refused update changes no index.
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.customers.update(ann.id, params={"email": "ann@third.example",
                                                   "invoice_prefix": "no good"})
    assert listed(email="ann@third.example") == [] and listed(email="ann@new.example") == [ann.id]
    client.v1.customers.delete(ann.id)
    assert listed(email="ann@new.example") == [] and searched("metadata['tier']:'silver'") == []
    for store in sandbox.backend.stores.values():
        assert store.check() == []


def test_created_filters_hold_when_the_clock_goes_back():
    now = [1_700_000_000.0]
    with SandboxServer(clock=lambda: now[0]) as sandbox:
        client = make_client(sandbox)
        first = client.v1.customers.create().id
        now[0] += 100
        second = client.v1.customers.create().id
        now[0] -= 50
        between = client.v1.customers.create().id  # created before the one made before it

        def listed(**created: int) -> list[str]:
            return [c.id for c in client.v1.customers.list(params={"created": created}).data]

        assert listed(gte=1_700_000_050) == [between, second]
        assert listed(lt=1_700_000_100) == [between, first]
        assert listed(gt=1_700_000_050) == [second]
        found = client.v1.customers.search(params={"query": "created<1700000060"}).data
        assert [c.id for c in found] == [between, first]


def test_an_or_search_unions_its_indexed_clauses(client):
    ids = {email: client.v1.customers.create(params={"email": email, "name": email[:1]}).id
           for email in ("a@x.io", "b@x.io", "c@x.io")}
    found = client.v1.customers.search(params={
        "query": "email:'a@x.io' OR email:'c@x.io'", "expand": ["total_count"]})
    assert [c.id for c in found.data] == [ids["c@x.io"], ids["a@x.io"]]
    assert found.total_count == 2
    mixed = client.v1.customers.search(params={"query": "email:'a@x.io' OR name~'bbb'"})
    assert [c.id for c in mixed.data] == [ids["a@x.io"]]
