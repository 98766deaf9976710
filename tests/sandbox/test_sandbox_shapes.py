"""Each object's shape, one description per resource, against the SDK's resource class for the
pinned API version: every field it renders is declared, every declared field is rendered or
listed as absent with a reason."""

from __future__ import annotations

from pathlib import Path

import pytest
import stripe
from sandbox_shapes import declared_fields, shape_problems
from stripe_pay.sandbox import shapes
from stripe_pay.sandbox.resources import Backend
from stripe_pay.sandbox.shapes import Shape

SHAPES = Backend.declared_shapes()


@pytest.mark.parametrize("shape", SHAPES, ids=lambda shape: shape.object)
def test_the_shape_is_the_sdk_class(shape):
    assert shape_problems(shape) == []
    assert all(reason for reason in shape.absent.values())


@pytest.mark.parametrize("shape", SHAPES, ids=lambda shape: shape.object)
def test_expandable_fields_are_rendered_and_name_known_objects(shape):
    kinds = {found.object for found in SHAPES}
    for path, target in shape.expandable.items():
        assert path.split(".")[0] in shape.fields, path
        assert target is None or target in kinds, path


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
    assert all(isinstance(getattr(stripe, name), type) for name in sdk)
    assert all("id" in declared_fields(getattr(stripe, name)) for name in sdk)


def test_the_shape_table_in_the_docs_is_the_code():
    docs = Path(__file__).resolve().parents[2] / "docs" / "SANDBOX.md"
    assert shapes.markdown_table(SHAPES) in docs.read_text(), (
        "docs/SANDBOX.md's shape table is out of date; replace it with the output of: python -c "
        "'from stripe_pay.sandbox import shapes; from stripe_pay.sandbox.resources import "
        "Backend; print(shapes.markdown_table(Backend.declared_shapes()))'")
