"""How get chooses its requests: search syntax, list filters, client-side matching."""

import datetime

import pytest
from stripe_pay import objects, query
from stripe_pay.book import _field_type

from kognitos_books import And, Call, Condition, Or

CUSTOMER = objects.find("customer")
INVOICE = objects.find("invoice")
ITEM = objects.find("item")


def cond(field: str, op: str, value):
    return Condition(tuple(field.split(".")), op, value)


def search(row, where):
    return query.search_query(row, where, _field_type(row))


# ---------------------------------------------------------------------- quoting


@pytest.mark.parametrize(("text", "quoted"), [
    ("plain", "'plain'"),
    ("O'Brien", r"'O\'Brien'"),
    ("back\\slash", r"'back\\slash'"),
    ("both \\'", r"'both \\\''"),
    ("", "''"),
])
def test_quote_escapes_backslash_before_quote(text, quoted):
    assert query.quote(text) == quoted


def test_search_value_with_quote_and_backslash():
    where = cond("name", "is", "Jo's \\ shop")
    assert search(CUSTOMER, where) == r"name:'Jo\'s \\ shop'"


# ---------------------------------------------------------------------- search syntax


@pytest.mark.parametrize(("where", "expected"), [
    (cond("email", "is", "jo@example.com"), "email:'jo@example.com'"),
    (cond("name", "contains", "Doe"), "name~'Doe'"),
    (cond("email", "is not", "x@y.z"), "-email:'x@y.z'"),
    (cond("created", ">", 1700000000), "created>1700000000"),
    (cond("created", "<=", "1700000000"), "created<=1700000000"),
    (cond("metadata.plan", "is", "gold"), "metadata['plan']:'gold'"),
    (cond("metadata.it's", "is", "x"), r"metadata['it\'s']:'x'"),
    (cond("name", "one of", ["A", "B"]), "name:'A' OR name:'B'"),
    (And((cond("email", "is", "a@b.c"), cond("name", "is", "A"))),
     "email:'a@b.c' AND name:'A'"),
    (Or((cond("name", "is", "A"), cond("phone", "is", "+1"))), "name:'A' OR phone:'+1'"),
    (cond("name", "does not contain", "Doe"), "-name~'Doe'"),
    (cond("email", "does not contain", "o'b"), r"-email~'o\'b'"),
    (And((cond("email", "does not contain", "spam"), cond("name", "contains", "Jo's"))),
     r"-email~'spam' AND name~'Jo\'s'"),
    (Or((cond("name", "does not contain", "Ann"), cond("phone", "is", "+1"))),
     "-name~'Ann' OR phone:'+1'"),
])
def test_search_query(where, expected):
    assert search(CUSTOMER, where) == expected


def test_search_numbers_unquoted_booleans_and_dates():
    assert search(INVOICE, cond("total", ">=", 1500)) == "total>=1500"
    assert search(INVOICE, cond("total", "is", 1500)) == "total:1500"
    product = objects.find("product")
    assert search(product, cond("active", "is", True)) == "active:'true'"
    day = datetime.date(2025, 1, 31)
    assert search(CUSTOMER, cond("created", ">", day)) == "created>1738281600"


@pytest.mark.parametrize("where", [
    cond("name", "contains", "Jo"),  # substring search needs 3 characters
    cond("name", "does not contain", "Jo"),
    cond("name", "starts with", "Jo"),
    cond("name", "ends with", "Doe"),  # search has no "ends with"
    cond("name", "does not start with", "Doe"),
    cond("name", "does not end with", "Doe"),
    cond("metadata.plan", "contains", "gold"),  # metadata matches only exactly at Stripe
    cond("metadata.plan", "does not contain", "gold"),
    cond("created", "does not contain", "2025"),
    cond("description", "is", "x"),  # not a searchable customer field
    cond("email", ">", "a"),  # ranges only on numbers
    cond("address.city", "is", "Paris"),
    And((cond("email", "is", "a"), Or((cond("name", "is", "b"), cond("name", "is", "c"))))),
    And((cond("email", "is", "a"), cond("name", "one of", ["b", "c"]))),  # AND with OR
    Or(tuple(cond("name", "is", str(n)) for n in range(11))),  # more than 10 clauses
])
def test_not_searchable(where):
    assert search(CUSTOMER, where) is None


def test_invoice_items_are_not_searchable():
    assert search(ITEM, cond("customer", "is", "cus_1")) is None


@pytest.mark.parametrize(("row", "field", "substring"), [
    (INVOICE, "number", True), (INVOICE, "status", True), (INVOICE, "customer", False),
    (INVOICE, "currency", False), (objects.find("price"), "lookup_key", True),
    (objects.find("price"), "type", False), (objects.find("product"), "url", True),
    (CUSTOMER, "phone", True),
])
def test_substrings_only_on_the_fields_stripe_types_as_string(row, field, substring):
    for op, written in (("contains", f"{field}~'abc'"), ("does not contain", f"-{field}~'abc'")):
        assert search(row, cond(field, op, "abc")) == (written if substring else None)


# ---------------------------------------------------------------------- strategies


def choose(row, where=None, *, many=False, written=False, id=None):
    call = Call(book="stripe_pay", verb="get", noun=row.noun, where=where, many=many, id=id)
    return query.choose(row, call, recently_written=written, field_type=_field_type(row))


def test_exact_list_filters_are_one_request_with_limit_1():
    s = choose(CUSTOMER, cond("email", "is", "jo@example.com"))
    assert (s.name, s.operation, dict(s.params)) == (
        "list filter", "list", {"email": "jo@example.com", "limit": 1})
    s = choose(INVOICE, cond("status", "is", "open"))
    assert (s.name, dict(s.params)) == ("list filter", {"status": "open", "limit": 1})
    assert s.residual is None


def test_many_reads_pages_of_100():
    s = choose(INVOICE, cond("status", "is", "open"), many=True)
    assert dict(s.params) == {"status": "open", "limit": 100}


def test_ranges_and_many_valued_list_filters():
    s = choose(INVOICE, And((cond("created", ">", 10), cond("created", "<", 20),
                             cond("customer", "is", "cus_1"))))
    assert s.name == "list filter"
    assert dict(s.params) == {"created": {"gt": 10, "lt": 20}, "customer": "cus_1", "limit": 1}
    product = objects.find("product")
    s = choose(product, cond("id", "one of", ["prod_a", "prod_b"]))
    assert dict(s.params) == {"ids": ["prod_a", "prod_b"], "limit": 1}
    assert s.requests(product)[0].params == {"ids[0]": "prod_a", "ids[1]": "prod_b",
                                              "limit": 1}


def test_search_when_lists_cannot_filter():
    s = choose(CUSTOMER, cond("name", "is", "John Doe"))
    assert (s.name, s.operation) == ("search", "search")
    assert dict(s.params) == {"query": "name:'John Doe'", "limit": 1}
    [request] = s.requests(CUSTOMER)
    assert (request.method, request.path) == ("GET", "/v1/customers/search")


def test_recent_writes_turn_search_into_client_filter():
    s = choose(CUSTOMER, cond("name", "is", "John Doe"), written=True)
    assert (s.name, s.operation) == ("client-side filter", "list")
    assert dict(s.params) == {"limit": 100}
    assert s.residual == cond("name", "is", "John Doe")
    assert "search lags writes" in s.note
    # An exact list filter is strongly consistent, so writes do not change it.
    assert choose(CUSTOMER, cond("email", "is", "a@b.c"), written=True).name == "list filter"


def test_client_filter_keeps_what_lists_can_do_server_side():
    where = And((cond("customer", "is", "cus_1"), cond("description", "contains", "x")))
    s = choose(ITEM, where)
    assert s.name == "list filter + client-side filter"
    assert dict(s.params) == {"customer": "cus_1", "limit": 100}
    assert s.residual == cond("description", "contains", "x")


def test_does_not_contain_is_searched_and_ends_with_is_checked_here():
    s = choose(CUSTOMER, cond("name", "does not contain", "Doe"))
    assert (s.name, s.operation, dict(s.params), s.residual) == (
        "search", "search", {"query": "-name~'Doe'", "limit": 1}, None)
    [request] = s.requests(CUSTOMER)
    assert (request.method, request.path, dict(request.params)) == (
        "GET", "/v1/customers/search", {"query": "-name~'Doe'", "limit": 1})
    where = cond("email", "ends with", "@example.com")
    s = choose(CUSTOMER, where, many=True)
    assert (s.name, s.operation, dict(s.params), s.residual) == (
        "client-side filter", "list", {"limit": 100}, where)
    [request] = s.requests(CUSTOMER)
    assert (request.method, request.path, dict(request.params), request.note) == (
        "GET", "/v1/customers", {"limit": 100},
        'every page; checked here: email ends with "@example.com" (Stripe cannot filter by '
        '"ends with")')


@pytest.mark.parametrize("op", ["does not start with", "does not end with"])
def test_negated_prefixes_and_suffixes_are_checked_here(op):
    s = choose(CUSTOMER, cond("name", op, "Jo"))
    assert (s.name, dict(s.params), s.residual) == (
        "client-side filter", {"limit": 100}, cond("name", op, "Jo"))
    assert s.note == (f'pages of 100 until a match; checked here: name {op} "Jo" (Stripe '
                      f'cannot filter by "{op}")')


def test_a_short_does_not_contain_is_checked_here():
    s = choose(CUSTOMER, cond("name", "does not contain", "Jo"))
    assert (s.name, s.residual) == ("client-side filter", cond("name", "does not contain", "Jo"))
    assert s.note.endswith('checked here: name does not contain "Jo" (no list filter or '
                           "search expresses this)")


def test_what_lists_filter_is_sent_and_the_suffix_checked_here():
    where = And((cond("status", "is", "open"), cond("number", "ends with", "-0007")))
    s = choose(INVOICE, where)
    assert (s.name, s.operation, dict(s.params)) == (
        "list filter + client-side filter", "list", {"status": "open", "limit": 100})
    assert s.residual == cond("number", "ends with", "-0007")
    assert s.note.startswith('pages of 100 until a match; checked here: number ends with '
                             '"-0007"')


def test_search_takes_the_conditions_it_can_and_the_rest_are_checked_here():
    where = And((cond("email", "does not contain", "spam"), cond("name", "ends with", "son")))
    s = choose(CUSTOMER, where, many=True)
    assert (s.name, s.operation, dict(s.params)) == (
        "search + client-side filter", "search", {"query": "-email~'spam'", "limit": 100})
    assert s.residual == cond("name", "ends with", "son")
    assert s.note == ('every page; checked here: name ends with "son" (Stripe cannot filter '
                      'by "ends with")')
    [request] = s.requests(CUSTOMER)
    assert (request.method, request.path) == ("GET", "/v1/customers/search")
    # more conditions searched than listed: search, with the list filter's condition in it
    where = And((cond("email", "is", "a@b.c"), cond("name", "contains", "Doe"),
                 cond("phone", "ends with", "99")))
    s = choose(CUSTOMER, where)
    assert dict(s.params) == {"query": "email:'a@b.c' AND name~'Doe'", "limit": 100}
    assert s.residual == cond("phone", "ends with", "99")


def test_a_list_filter_wins_a_tie_with_search_and_search_gives_way_after_writes():
    where = And((cond("email", "is", "a@b.c"), cond("name", "ends with", "son")))
    s = choose(CUSTOMER, where)
    assert (s.name, dict(s.params)) == ("list filter + client-side filter",
                                        {"email": "a@b.c", "limit": 100})
    where = And((cond("email", "does not contain", "spam"), cond("name", "ends with", "son")))
    s = choose(CUSTOMER, where, written=True)
    assert (s.name, s.operation, dict(s.params), s.residual) == (
        "client-side filter", "list", {"limit": 100}, where)
    assert s.note == ('pages of 100 until a match; checked here: email does not contain '
                      '"spam" and name ends with "son" (search lags writes made in this run)')


def test_by_id_and_without_conditions():
    assert choose(CUSTOMER, id="cus_1").requests(CUSTOMER)[0].path == "/v1/customers/cus_1"
    s = choose(CUSTOMER, cond("id", "is", "cus_2"))
    assert (s.operation, s.record_id) == ("retrieve", "cus_2")
    s = choose(CUSTOMER)
    assert (s.name, dict(s.params)) == ("list", {"limit": 1})


# ---------------------------------------------------------------------- client side


DATA = {
    "id": "in_1", "status": "open", "total": 1500, "paid": False,
    "customer": {"id": "cus_1", "object": "customer"},
    "metadata": {"plan": "gold"}, "description": "Consulting, March",
}


@pytest.mark.parametrize(("where", "expected"), [
    (cond("status", "is", "open"), True),
    (cond("status", "is", "Open"), True),
    (cond("status", "is", "opened"), False),
    (cond("status", "is not", "open"), False),
    (cond("total", "is", "1500"), True),
    (cond("total", ">", 1000), True),
    (cond("total", "<=", 1000), False),
    (cond("paid", "is", "false"), True),
    (cond("customer", "is", "cus_1"), True),
    (cond("metadata.plan", "is", "gold"), True),
    (cond("metadata.tier", "is", "gold"), False),
    (cond("description", "contains", "consult"), True),
    (cond("description", "starts with", "march"), False),
    (cond("status", "one of", ["paid", "open"]), True),
    (cond("description", "does not contain", "CONSULT"), False),
    (cond("description", "does not contain", "april"), True),
    (cond("description", "ends with", "MARCH"), True),
    (cond("description", "ends with", "consulting"), False),
    (cond("description", "does not end with", "march"), False),
    (cond("description", "does not end with", "april"), True),
    (cond("description", "does not start with", "consulting"), False),
    (cond("description", "does not start with", "march"), True),
    (cond("metadata.plan", "ends with", "OLD"), True),
    (cond("total", "ends with", "500"), True),  # a number compares as its digits
    # a record without the field: no text comparison holds, so every negation does
    (cond("nickname", "contains", "x"), False),
    (cond("nickname", "ends with", "x"), False),
    (cond("nickname", "does not contain", "x"), True),
    (cond("nickname", "does not start with", "x"), True),
    (cond("nickname", "does not end with", "x"), True),
    (cond("metadata.tier", "does not contain", "gold"), True),
    (Or((cond("status", "is", "paid"), cond("total", ">", 100))), True),
    (And((cond("status", "is", "paid"), cond("total", ">", 100))), False),
])
def test_matches(where, expected):
    assert query.matches(DATA, where) is expected


def test_text_comparisons_ignore_case_as_search_does():
    data = {"name": "STRASSE", "tags": ["Gold", "vip"]}
    assert query.matches(data, cond("name", "ends with", "raße"))
    assert query.matches(data, cond("name", "contains", "straße"))  # casefolded, as search
    assert not query.matches(data, cond("name", "does not contain", "straße"))
    assert query.matches(data, cond("tags", "contains", "gold"))  # a list holds the item
    assert query.matches(data, cond("tags", "does not contain", "silver"))
    assert not query.matches(data, cond("tags", "does not contain", "VIP"))


def test_describe_for_messages():
    assert query.describe(cond("email", "is", "x@y.z")) == 'email "x@y.z"'
    assert query.describe(And((cond("status", "is", "open"), cond("total", ">", 5)))) == (
        'status "open" and total > 5')
    assert query.describe(cond("metadata.plan", "is", "gold")) == "metadata's plan \"gold\""


# ---------------------------------------------------------------------- through the sandbox


@pytest.fixture
def people(stripe_env):
    """Customers made in the sandbox's backend (no HTTP, so not this connection's writes),
    oldest first."""
    backend = stripe_env.backend
    return {name: backend.create_customer({"name": name, **({"email": email} if email else {})}
                                          ).id
            for name, email in (("Jo Hanson", "jo@example.com"), ("Ann Lee", "ann@spam.test"),
                                ("Bob Smithson", "bob@example.org"), ("No Mail", None))}


def names(rt, automation: str) -> set[str]:
    [step] = rt.run(automation, journal=False).steps
    assert step.state == "succeeded", step.error
    return {customer["name"] for customer in step.result}


def test_does_not_contain_is_one_search_at_stripe(connected, people, log):
    text = 'get all customers from stripe whose email does not contain "SPAM"'
    # a customer without an email does not contain it either, at Stripe as here
    assert names(connected, text) == {"Jo Hanson", "Bob Smithson", "No Mail"}
    [entry] = log.entries()
    assert (entry["path"], entry["params"]) == (
        "/v1/customers/search", {"query": "-email~'SPAM'", "limit": "100"})
    # after this connection writes customers, the client-side stand-in finds the same
    connected.run('create a customer in stripe with the email is "more@spam.test"',
                  journal=False)
    log.clear()
    assert names(connected, text) == {"Jo Hanson", "Bob Smithson", "No Mail"}
    assert log.lines() == [("GET", "/v1/customers")]


def test_ends_with_is_checked_here_and_the_plan_says_so(connected, people, log):
    text = 'get all customers from stripe whose name ends with "SON"'
    [step] = connected.run(text, dry_run=True, journal=False).steps
    assert step.plan.strategy == "client-side filter"
    [request] = step.plan.requests
    assert str(request) == ('GET /v1/customers limit=100  # every page; checked here: name '
                            'ends with "SON" (Stripe cannot filter by "ends with")')
    assert log.entries() == []
    assert names(connected, text) == {"Jo Hanson", "Bob Smithson"}
    assert log.lines() == [("GET", "/v1/customers")]


def test_search_narrows_and_the_suffix_is_checked_here(connected, people, log):
    text = ("get all customers from stripe whose email doesn't contain \"spam\" and name "
            "doesn't end with \"son\"")
    assert names(connected, text) == {"No Mail"}
    [entry] = log.entries()
    assert (entry["path"], entry["params"]["query"]) == ("/v1/customers/search",
                                                         "-email~'spam'")
    log.clear()
    found = connected.run('get a customer from stripe whose name does not start with "no" '
                          'and email does not end with ".TEST"', journal=False).steps[0]
    assert found.result["name"] == "Bob Smithson"  # the newest that matches
    assert log.lines() == [("GET", "/v1/customers")]


def test_a_text_comparison_on_a_number_is_refused_before_sending(connected):
    from kognitos_books.language import LanguageError

    with pytest.raises(LanguageError) as info:
        connected.check('get all invoices from stripe whose total does not end with "00"')
    assert (info.value.line, info.value.column, info.value.length) == (1, 42, 17)
    assert info.value.message == '"does not end with" works on text, but "total" is integer'
