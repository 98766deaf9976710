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
    cond("name", "starts with", "Jo"),
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
    (Or((cond("status", "is", "paid"), cond("total", ">", 100))), True),
    (And((cond("status", "is", "paid"), cond("total", ">", 100))), False),
])
def test_matches(where, expected):
    assert query.matches(DATA, where) is expected


def test_describe_for_messages():
    assert query.describe(cond("email", "is", "x@y.z")) == 'email "x@y.z"'
    assert query.describe(And((cond("status", "is", "open"), cond("total", ">", 5)))) == (
        'status "open" and total > 5')
    assert query.describe(cond("metadata.plan", "is", "gold")) == "metadata's plan \"gold\""
