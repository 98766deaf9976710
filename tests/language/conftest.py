"""The Stripe Pay manual's commands, which must parse exactly as printed."""

import pytest

#: The manual's commands with their inputs indented by two spaces (``{indent}`` marks the
#: indentation, so tests can try others).
MANUAL = """\
get a customer from stripe whose email is "[email protected]"
get an invoice from stripe whose status is "open"
create a customer in stripe with
{indent}the email is "[email protected]"
{indent}the name is "John Doe"
create a price in stripe with
{indent}the unit_amount is 1000
{indent}the currency is "usd"
{indent}the product is "12232232"
add a item to the invoice with
{indent}the customer is "cus_123ABC"
{indent}the amount is 1500
{indent}the currency is "usd"
send the invoice
delete a customer in stripe with
{indent}the id is "cus_123ABC"
delete an invoice in stripe with
{indent}the id is "sub_123456789"
"""


@pytest.fixture(scope="session")
def manual_template() -> str:
    return MANUAL


@pytest.fixture(scope="session")
def manual() -> str:
    return MANUAL.format(indent="  ")


@pytest.fixture(scope="session")
def manual_flat() -> str:
    """The manual as the web page printed it: the inputs lost their indentation."""
    return MANUAL.format(indent="")
