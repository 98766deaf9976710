"""Each object's shape, one description per resource, against the SDK's resource class for the
pinned API version: every field it renders is declared, every declared field is rendered or
listed as absent with a reason; and every object the sandbox serves, of every kind, read
back through its routes, has exactly those fields, with its nested objects whole."""

from __future__ import annotations

from pathlib import Path

import pytest
import stripe
from sandbox_http import raw_request
from sandbox_shapes import declared_fields, missing_fields, shape_problems, undeclared_fields
from sandbox_world import RETRIEVE, paths_for, served_objects, stored_ids
from stripe_pay.sandbox import shapes
from stripe_pay.sandbox.resources import Backend
from stripe_pay.sandbox.shapes import Shape

SHAPES = Backend.declared_shapes()


@pytest.mark.parametrize("shape", SHAPES, ids=lambda shape: shape.object)
def test_the_shape_is_the_sdk_class(shape):
    assert shape_problems(shape) == []
    assert all(reason for reason in shape.absent.values())


@pytest.mark.parametrize("shape", SHAPES, ids=lambda shape: shape.object)
def test_every_includable_field_says_how_to_include_it(shape):
    includable = {name for name, reason in shape.absent.items() if reason == shapes.INCLUDABLE}
    assert includable <= set(shape.included), (
        f"give the {shape.object} shape's included a way to compute "
        f"{sorted(includable - set(shape.included))}")
    for path in shape.included:
        assert path.split(".")[0] in declared_fields(shape.sdk_class), path


def test_the_check_can_fail():
    bogus = Shape("customer", "Customer", own=("email", "nickname"), absent={"email": "x"})
    problems = shape_problems(bogus)
    assert "customer.nickname: not declared by stripe.Customer" in problems
    assert "customer.email: rendered and listed as absent" in problems
    assert any(p.startswith("customer.balance: declared by") for p in problems)
    assert shape_problems(Shape("customer", "Invoice")) != []


def test_a_field_named_twice_is_refused():
    with pytest.raises(ValueError, match="names email twice"):
        Shape("customer", "Customer", own=("email",), fixed={"email": None})


def test_every_sdk_class_the_sandbox_renders_is_covered_once():
    sdk = [shape.sdk for shape in SHAPES]
    assert len(sdk) == len(set(sdk))
    assert all(issubclass(shape.sdk_class, stripe.StripeObject) for shape in SHAPES)
    assert all("id" in declared_fields(shape.sdk_class) for shape in SHAPES)


#: Fields only one answer shows: a webhook endpoint's secret, in the answer of its create.
ANSWER_ONLY = {"webhook_endpoint": {"secret"}}


def object_problems(data: dict) -> list[str]:
    """What is wrong with one object the sandbox answered with, against its shape and the
    SDK's class: a deleted stub is just its stub; otherwise exactly the shape's fields (and
    the included ones asked for), none the SDK does not declare, nested objects whole."""
    shape = BY_KIND[data["object"]]
    where = f"{data['object']} {data['id']}"
    if data.get("deleted") is True:
        return [] if set(data) == {"id", "object", "deleted"} else [f"{where}: stub {sorted(data)}"]
    fields = set(data) - set(shape.included) - ANSWER_ONLY.get(data["object"], set())
    expected = shape.fields_of(data)
    problems = [f"{where}: lacks {name}" for name in sorted(expected - fields)]
    problems += [f"{where}: has {name}, which its shape does not render"
                 for name in sorted(fields - expected)]
    problems += [f"{where}: {path} is not declared by stripe.{shape.sdk}"
                 for path in undeclared_fields(data, shape.sdk_class)]
    problems += [f"{where}: {path} is declared by stripe.{shape.sdk} but missing"
                 for path in missing_fields(data, shape.sdk_class,
                                            included=frozenset(shape.included))]
    return problems


BY_KIND = {shape.object: shape for shape in SHAPES}


def test_every_object_served_has_the_fields_of_its_sdk_class(sandbox):
    served = served_objects(sandbox)
    kinds = {data["object"] for data in served}
    assert kinds == set(BY_KIND), (
        f"no route served a {sorted(set(BY_KIND) - kinds)}: make one in the change walk's "
        "make_world (tests/sandbox/test_sandbox_changes.py) or a scenario")
    problems = sorted({problem for data in served for problem in object_problems(data)})
    assert problems == []


def test_objects_with_their_included_fields_have_the_fields_of_their_sdk_class(
        sandbox, client):
    from test_sandbox_changes import make_world

    make_world(client)
    ids = stored_ids(sandbox)
    checked = set()
    for one in RETRIEVE.values():
        names = list(BY_KIND[one.kind].included)
        if not names:
            continue
        for path in paths_for(sandbox, one, ids)[:3]:
            query = "&".join(f"expand[]={name}" for name in names)
            status, _, data = raw_request(sandbox, "GET", f"{path}?{query}")
            if status != 200:
                continue
            assert object_problems(data) == []
            if not data.get("deleted"):
                assert {name for name in names if "." not in name} <= set(data), one.kind
                checked.add(one.kind)
    assert checked == {kind for kind in ids if BY_KIND[kind].included}


def test_the_object_check_can_fail():
    bogus = {"id": "cus_1", "object": "customer", "nickname": "x"}
    problems = object_problems(bogus)
    assert "customer cus_1: has nickname, which its shape does not render" in problems
    assert "customer cus_1: lacks email" in problems
    assert "customer cus_1: nickname is not declared by stripe.Customer" in problems
    partial = {"id": "in_1", "object": "invoice", "issuer": {"type": "self"}}
    assert "invoice in_1: issuer.account is declared by stripe.Invoice but missing" in (
        object_problems(partial))


def test_the_shape_table_in_the_docs_is_the_code():
    docs = Path(__file__).resolve().parents[2] / "docs" / "SANDBOX.md"
    assert shapes.markdown_table(SHAPES) in docs.read_text(), (
        "docs/SANDBOX.md's shape table is out of date; replace it with the output of: python -c "
        "'from stripe_pay.sandbox import shapes; from stripe_pay.sandbox.resources import "
        "Backend; print(shapes.markdown_table(Backend.declared_shapes()))'")
